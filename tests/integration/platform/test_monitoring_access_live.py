"""The monitoring endpoints over real HTTP (uvicorn, SQLite): closed by default in production,
open to the scrape token, an admin, or an allowed address; the health probes stay open."""

from __future__ import annotations

from collections.abc import Callable

import httpx
import pytest

from tests.support.servers import LiveServer

pytestmark = [pytest.mark.integration, pytest.mark.slow]

TOKEN = "scrape-token-for-the-test-0123456789"
ADMIN = {"ADMIN_USERNAME": "root", "ADMIN_PASSWORD": "admin pass phrase 2026"}
MONITORING = ("/metrics", "/health/detailed")


def login(http: httpx.Client, username: str, password: str) -> dict[str, str]:
    token = http.post("/api/auth/login", json={"username": username, "password": password})
    assert token.status_code == 200, token.text
    return {"Authorization": f"Bearer {token.json()['access_token']}"}


def assert_forbidden(response: httpx.Response) -> None:
    assert response.status_code == 403, response.text
    assert response.headers["content-type"].startswith("application/problem+json")
    problem = response.json()
    assert problem["code"] == "MONITORING_FORBIDDEN"
    # A refusal shows nothing of what it guards.
    assert "pid" not in response.text and "process_" not in response.text


def test_production_closes_monitoring_to_all_but_token_and_admins(
    live_server_factory: Callable[..., LiveServer],
) -> None:
    # Production refuses the test suite's cheap argon2: its minimum is used.
    server = live_server_factory(
        ENVIRONMENT="production",
        ARGON2_TIME_COST="2",
        ARGON2_MEMORY_COST="19456",
        MONITORING_TOKEN=TOKEN,
        **ADMIN,
    )
    with httpx.Client(base_url=server.url, timeout=30) as http:
        for path in MONITORING:
            assert_forbidden(http.get(path))
            # A bearer credential that is neither the scrape token nor a user's token.
            wrong = http.get(path, headers={"Authorization": f"Bearer {TOKEN}x"})
            assert wrong.status_code == 401 and wrong.json()["code"] == "AUTHENTICATION_REQUIRED"
            assert_forbidden(http.get(path, headers={"Authorization": f"Basic {TOKEN}"}))
        for probe in ("/health", "/health/live", "/health/ready"):
            assert http.get(probe).status_code == 200, probe

        scraped = http.get("/metrics", headers={"Authorization": f"Bearer {TOKEN}"})
        assert scraped.status_code == 200
        assert scraped.headers["content-type"].startswith("text/plain")
        assert "# HELP http_requests_total" in scraped.text
        detailed = http.get("/health/detailed", headers={"Authorization": f"Bearer {TOKEN}"})
        assert detailed.status_code == 200 and "status" in detailed.json()

        registered = http.post(
            "/api/auth/register", json={"username": "carol", "password": "violet meadow phrase 26"}
        )
        assert registered.status_code == 201, registered.text
        carol = login(http, "carol", "violet meadow phrase 26")
        for path in MONITORING:
            assert_forbidden(http.get(path, headers=carol))
        admin = login(http, ADMIN["ADMIN_USERNAME"], ADMIN["ADMIN_PASSWORD"])
        for path in MONITORING:
            assert http.get(path, headers=admin).status_code == 200, path

        # The refusals were counted like any other answer (read with the token).
        text = http.get("/metrics", headers={"Authorization": f"Bearer {TOKEN}"}).text
        assert 'http_requests_total{method="GET",route="/metrics",status="403"}' in text
    log = server.log_path.read_text("utf-8") if server.log_path else ""
    assert TOKEN not in log
