"""Errors, request ids, security headers, CORS, body limit and access log, in-process over ASGI."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator, Callable
from pathlib import Path

import httpx
import pytest
from fastapi import FastAPI
from pydantic import BaseModel, Field

from app.main import create_app
from app.platform.config import Settings
from app.platform.errors import SessionNotFoundError
from tests.conftest import AppFactory, make_settings

pytestmark = pytest.mark.unit
PROBLEM_MEMBERS = {
    "type",
    "title",
    "status",
    "detail",
    "instance",
    "error",
    "code",
    "error_code",
    "message",
    "details",
    "trace_id",
    "timestamp",
}


class ItemCreate(BaseModel):
    name: str = Field(min_length=1, max_length=50)
    quantity: int = Field(gt=0)


def add_test_routes(app: FastAPI) -> None:
    @app.post("/t/items", status_code=201)
    async def create_item(item: ItemCreate) -> ItemCreate:
        return item

    @app.get("/t/items/{item_id}")
    async def read_item(item_id: int) -> dict[str, int]:
        return {"id": item_id}

    @app.get("/t/boom")
    async def boom() -> None:
        raise RuntimeError("kaboom: internal detail that must stay in the log")

    @app.get("/t/session")
    async def missing_session() -> None:
        raise SessionNotFoundError("Session 'sess_x' was not found.")


@pytest.fixture
async def http(tmp_path: Path) -> AsyncIterator[httpx.AsyncClient]:
    app = create_app(make_settings(tmp_path, max_body_bytes=64 * 1024))
    add_test_routes(app)
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as client:
            yield client


def assert_problem(response: httpx.Response, status: int, code: str) -> dict[str, object]:
    assert response.status_code == status, response.text
    assert response.headers["content-type"].startswith("application/problem+json")
    body = response.json()
    assert set(body) >= PROBLEM_MEMBERS
    assert body["status"] == status
    assert body["code"] == code
    assert body["detail"] == body["message"]
    assert body["trace_id"] == response.headers["x-request-id"]
    return body


async def test_app_error_has_the_design_body(http: httpx.AsyncClient) -> None:
    body = assert_problem(await http.get("/t/session"), 404, "SESSION_NOT_FOUND")
    assert body["error"] == "SessionNotFound"
    assert body["error_code"] == "ERR_1002"
    assert body["instance"] == "/t/session"
    assert body["detail"] == "Session 'sess_x' was not found."


async def test_malformed_json_is_a_400_validation_problem(http: httpx.AsyncClient) -> None:
    response = await http.post(
        "/t/items", content=b'{"name": "a", ', headers={"content-type": "application/json"}
    )
    body = assert_problem(response, 400, "VALIDATION_ERROR")
    assert body["error"] == "ValidationError"


async def test_missing_and_wrongly_typed_fields_are_listed(http: httpx.AsyncClient) -> None:
    response = await http.post("/t/items", json={"quantity": "many"})
    body = assert_problem(response, 400, "VALIDATION_ERROR")
    fields = {d["field"] for d in body["details"]}  # type: ignore[union-attr]
    assert fields == {"name", "quantity"}
    assert all(set(d) == {"field", "message", "type"} for d in body["details"])  # type: ignore[union-attr]


@pytest.mark.parametrize("quantity", [-1, 0])
async def test_negative_quantity_is_rejected(http: httpx.AsyncClient, quantity: int) -> None:
    response = await http.post("/t/items", json={"name": "a", "quantity": quantity})
    assert_problem(response, 400, "VALIDATION_ERROR")


async def test_unicode_round_trips(http: httpx.AsyncClient) -> None:
    response = await http.post("/t/items", json={"name": "폐결절 검출 🫁", "quantity": 1})
    assert response.status_code == 201
    assert response.json()["name"] == "폐결절 검출 🫁"


async def test_wrong_content_type_is_415(http: httpx.AsyncClient) -> None:
    response = await http.post(
        "/t/items", content=b"name=a", headers={"content-type": "text/plain"}
    )
    assert_problem(response, 415, "UNSUPPORTED_MEDIA_TYPE")


async def test_ten_megabyte_body_is_413(http: httpx.AsyncClient) -> None:
    response = await http.post(
        "/t/items", content=b"x" * (10 * 1024 * 1024), headers={"content-type": "application/json"}
    )
    assert_problem(response, 413, "PAYLOAD_TOO_LARGE")


async def test_streamed_body_without_length_is_cut_at_the_limit(http: httpx.AsyncClient) -> None:
    async def chunks() -> AsyncIterator[bytes]:
        for _ in range(100):
            yield b"y" * 4096  # 400 KiB in all, over the 64 KiB limit of this app

    response = await http.post(
        "/t/items", content=chunks(), headers={"content-type": "application/json"}
    )
    assert_problem(response, 413, "PAYLOAD_TOO_LARGE")


async def test_unknown_route_and_bad_method(http: httpx.AsyncClient) -> None:
    assert_problem(await http.get("/no/such/route"), 404, "NOT_FOUND")
    assert_problem(await http.delete("/t/items"), 405, "METHOD_NOT_ALLOWED")
    assert_problem(await http.get("/t/items/not-a-number"), 400, "VALIDATION_ERROR")


def logged_events(caplog: pytest.LogCaptureFixture) -> list[dict[str, object]]:
    """The structlog event dicts (already masked) that reached stdlib logging."""
    return [r.msg for r in caplog.records if isinstance(r.msg, dict)]


async def test_unhandled_exception_is_a_500_with_only_the_trace_id(
    http: httpx.AsyncClient, caplog: pytest.LogCaptureFixture
) -> None:
    response = await http.get("/t/boom", headers={"X-Request-ID": "trace-boom-1"})
    body = assert_problem(response, 500, "INTERNAL_ERROR")
    assert body["trace_id"] == "trace-boom-1"
    assert "kaboom" not in response.text and "Traceback" not in response.text
    failure = next(e for e in logged_events(caplog) if e["event"] == "unhandled_error")
    assert failure["request_id"] == "trace-boom-1"
    assert "kaboom" in str(failure["exception"])


async def test_sane_request_id_is_echoed_and_insane_one_replaced(http: httpx.AsyncClient) -> None:
    ok = await http.get("/health/live", headers={"X-Request-ID": "frontend-123.abc"})
    assert ok.headers["x-request-id"] == "frontend-123.abc"
    # The last two fit the character rule but are credentials: never echoed or logged as ids.
    jwt_like = "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxIn0.c2lnbmF0dXJl"
    for bad in ("has space", "x" * 200, "a\u00e9b", jwt_like, "rdk_0123456789abcdef"):
        response = await http.get("/health/live", headers={"X-Request-ID": bad.encode("utf-8")})
        assert response.headers["x-request-id"] != bad
        assert len(response.headers["x-request-id"]) == 32
    fresh = await http.get("/health/live")
    assert len(fresh.headers["x-request-id"]) == 32


async def test_security_headers_and_docs_csp(http: httpx.AsyncClient) -> None:
    api = await http.get("/health/live")
    assert api.headers["x-content-type-options"] == "nosniff"
    assert api.headers["x-frame-options"] == "DENY"
    assert api.headers["referrer-policy"] == "strict-origin-when-cross-origin"
    assert api.headers["content-security-policy"].startswith("default-src 'none'")
    assert "strict-transport-security" not in api.headers
    docs = await http.get("/docs")
    assert docs.status_code == 200
    csp = docs.headers["content-security-policy"]
    # Swagger UI's bundle (from this server) and its inline start-up script must be allowed, or
    # the page is blank; no other host is (tests/unit/platform/test_docs_offline.py).
    assert "script-src 'self' 'unsafe-inline'" in csp
    assert "cdn.jsdelivr.net" not in csp and "cdn.jsdelivr.net" not in docs.text


async def test_hsts_only_over_https(tmp_path: Path) -> None:
    app = create_app(make_settings(tmp_path))
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="https://testserver") as client:
            response = await client.get("/health/live")
    assert response.headers["strict-transport-security"].startswith("max-age=")


async def test_cors_allows_the_frontend_origin_only(http: httpx.AsyncClient) -> None:
    preflight = {
        "Access-Control-Request-Method": "POST",
        "Access-Control-Request-Headers": "content-type,x-request-id",
    }
    allowed = await http.options(
        "/t/items", headers={"Origin": "http://localhost:3000", **preflight}
    )
    assert allowed.status_code == 200
    assert allowed.headers["access-control-allow-origin"] == "http://localhost:3000"
    assert allowed.headers["access-control-allow-credentials"] == "true"
    assert "POST" in allowed.headers["access-control-allow-methods"]
    assert allowed.headers["access-control-allow-headers"] == "content-type,x-request-id"
    denied = await http.options("/t/items", headers={"Origin": "https://evil.example", **preflight})
    assert "access-control-allow-origin" not in denied.headers
    assert_problem(denied, 400, "HTTP_ERROR")
    simple = await http.get("/health/live", headers={"Origin": "http://localhost:3001"})
    assert simple.headers["access-control-allow-origin"] == "http://localhost:3001"
    assert "X-Request-ID" in simple.headers["access-control-expose-headers"]
    assert simple.headers["vary"] == "Origin"
    foreign = await http.get("/health/live", headers={"Origin": "https://evil.example"})
    assert foreign.status_code == 200
    assert "access-control-allow-origin" not in foreign.headers
    plain = await http.get("/health/live")
    assert "access-control-allow-origin" not in plain.headers


async def test_access_log_line_has_route_template_and_no_secrets(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    token = "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJ1In0.c2lnbmF0dXJlLXZhbHVl"
    app = create_app(make_settings(tmp_path))  # made here so its log stream is the captured one
    add_test_routes(app)
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://t") as client:
            await client.get(
                f"/t/items/42?token=supersecret&next=/u/{token}",
                headers={"Authorization": f"Bearer {token}", "X-Request-ID": "log-check-1"},
            )
            await client.get(f"/t/items/{token}")  # a credential pasted into a path
    out = capsys.readouterr().out
    assert token not in out and "supersecret" not in out
    lines = [json.loads(line) for line in out.splitlines() if line.startswith("{")]
    record = next(r for r in lines if r["event"] == "request" and r["path"] == "/t/items/42")
    assert record["route"] == "/t/items/{item_id}"
    assert record["status_code"] == 200
    assert record["method"] == "GET"
    assert record["request_id"] == "log-check-1"
    assert isinstance(record["duration_ms"], float)
    assert record["client"]
    assert record["level"] == "info" and record["timestamp"].endswith("Z")
    masked = next(r for r in lines if r["event"] == "request" and r["path"] != "/t/items/42")
    assert masked["path"] == "/t/items/***" and masked["status_code"] == 400


async def test_metrics_use_route_templates_not_raw_paths(http: httpx.AsyncClient) -> None:
    for item_id in (101, 202, 303):
        await http.get(f"/t/items/{item_id}")
    text = (await http.get("/metrics")).text
    assert 'route="/t/items/{item_id}"' in text
    assert "/t/items/101" not in text
    assert "http_request_duration_seconds_bucket" in text
    assert "http_requests_in_flight" in text
    assert 'db_pool_connections{state="checkedout"}' in text


async def test_a_served_app_freezes_the_heap_and_spaces_out_collections(
    app_factory: AppFactory, settings_factory: Callable[..., Settings]
) -> None:
    """`python -m app serve` moves built-once objects out of the collector's reach and spaces
    young collections apart (full passes over the caches cost 15-25 ms each during a flash
    sale), and restores both on shutdown; any other app (tests) leaves the collector alone."""
    import gc

    from app.platform.gc_tuning import GC_THRESHOLDS

    defaults = gc.get_threshold()
    gc.set_threshold(700, 10, 10)
    gc.unfreeze()
    try:
        served = create_app(settings_factory(), served=True)
        async with served.router.lifespan_context(served):
            assert gc.get_threshold() == GC_THRESHOLDS
            assert gc.get_freeze_count() > 10_000  # the app, its routes, models and clients
        assert gc.get_threshold() == (700, 10, 10)
        assert gc.get_freeze_count() == 0
        async with app_factory():
            assert gc.get_threshold() == (700, 10, 10)
            assert gc.get_freeze_count() == 0
    finally:
        gc.set_threshold(*defaults)
