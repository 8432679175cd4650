"""The ways FastAPI users start a service all serve the full one: `uvicorn app.main:app`,
`fastapi run app/main.py` and `fastapi dev app/main.py`, each a real process on a free port."""

from __future__ import annotations

import sys

import httpx
import pytest

from tests.support.docs_pages import expected_content_types, referenced_urls

pytestmark = pytest.mark.integration

PY = sys.executable
COMMANDS = {
    "uvicorn": [PY, "-m", "uvicorn", "app.main:app", "--host", "127.0.0.1", "--port", "{port}"],
    "fastapi run": [
        PY,
        "-m",
        "fastapi",
        "run",
        "app/main.py",
        "--host",
        "127.0.0.1",
        "--port",
        "{port}",
    ],
}


def assert_full_service(url: str) -> None:
    """Health with its database check, the API's own routes and the offline docs all answer."""
    with httpx.Client(base_url=url, timeout=10) as http:
        health = http.get("/health")
        assert health.status_code == 200
        assert health.json()["status"] == "healthy"
        assert health.json()["checks"]["database"]["status"] == "up"
        # The edge layer is there: every answer carries a request id and security headers.
        assert health.headers["x-request-id"] and health.headers["x-content-type-options"]
        spec = http.get("/openapi.json").json()
        assert "/api/purchases/{purchase_id}" in spec["paths"]
        for page in ("/docs", "/redoc"):
            html = http.get(page)
            assert html.status_code == 200
            for asset in referenced_urls(html.text):
                response = http.get(asset)
                assert response.status_code == 200, asset
                content_type = response.headers["content-type"].split(";")[0]
                assert content_type in expected_content_types(asset), asset


@pytest.mark.parametrize("command", sorted(COMMANDS))
def test_command_serves_the_full_service(live_server_factory, command: str) -> None:  # type: ignore[no-untyped-def]
    server = live_server_factory(argv=COMMANDS[command])
    assert_full_service(server.url)


@pytest.mark.slow  # the reloader watches the whole checkout before it starts the server
def test_fastapi_dev_serves_with_its_reloader(live_server_factory) -> None:  # type: ignore[no-untyped-def]
    # `fastapi dev` = reload on, 127.0.0.1: a watcher process plus the server it restarts.
    # Stopping the server ends both (its own process group, see LiveServer.stop).
    server = live_server_factory(
        argv=[PY, "-m", "fastapi", "dev", "app/main.py", "--port", "{port}"]
    )
    with httpx.Client(base_url=server.url, timeout=10) as http:
        health = http.get("/health")
        assert health.status_code == 200 and health.json()["status"] == "healthy"
        assert http.get("/docs/assets/swagger-ui.css").status_code == 200
