"""The monitoring event log: typing of problems, both stores (in-process ring, Redis stream over
fakeredis), the recorder's failure handling, and `GET /api/monitoring/events` in process."""

from __future__ import annotations

import time
from collections.abc import Sequence

import fakeredis
import pytest
from prometheus_client import REGISTRY
from redis.asyncio import Redis

from app.platform.events import EventQuery, EventRecorder, MonitoringEvent, event_type
from app.platform.metrics import METRICS_BUFFER
from app.platform.storage.monitoring.memory import MemoryEventStore
from app.platform.storage.monitoring.redis import RedisEventStore
from tests.conftest import AppFactory
from tests.support.servers import free_port

pytestmark = pytest.mark.unit


@pytest.mark.parametrize(
    ("status", "code", "path", "expected"),
    [
        (429, "RATE_LIMIT_EXCEEDED", "/api/purchases", "rate_limited"),
        (503, "REDIS_UNAVAILABLE", "/api/sessions", "backend_unavailable"),
        (503, None, "/health", "backend_unavailable"),
        (500, "INTERNAL_ERROR", "/x", "server_error"),
        (401, "INVALID_CREDENTIALS", "/api/auth/login", "login_failed"),
        (401, "INVALID_CREDENTIALS", "/login", "login_failed"),
        (401, "AUTHENTICATION_REQUIRED", "/api/sessions", "authentication_failed"),
        (403, "PERMISSION_DENIED", "/api/admin/users", "forbidden"),
        (409, "INSUFFICIENT_STOCK", "/api/purchases", "sold_out"),
        (404, "NOT_FOUND", "/nope", "client_error"),
        (429, "BATCH_BACKLOG_FULL", "/api/batch/jobs", "client_error"),
    ],
)
def test_problems_are_typed_by_status_code_and_path(
    status: int, code: str | None, path: str, expected: str
) -> None:
    assert event_type(status, code, path) == expected


def _event(n: int, **overrides: object) -> MonitoringEvent:
    values: dict[str, object] = {
        "type": "client_error",
        "created_at": 1_000_000.0 + n,
        "trace_id": f"t{n}",
        "user_id": "u_even" if n % 2 == 0 else "u_odd",
        "status": 404,
    }
    values.update(overrides)
    return MonitoringEvent(**values)  # type: ignore[arg-type]


@pytest.fixture(params=["memory", "redis"])
async def store(request: pytest.FixtureRequest) -> MemoryEventStore | RedisEventStore:
    if request.param == "memory":
        return MemoryEventStore(max_len=100)
    # A page of 3 makes reads walk several pages.
    client = fakeredis.FakeAsyncRedis(decode_responses=True)
    return RedisEventStore(client, max_len=100, page=3)


async def test_both_stores_filter_newest_first(store: MemoryEventStore | RedisEventStore) -> None:
    await store.append_many([_event(n) for n in range(10)])
    await store.append_many([_event(10, type="rate_limited", status=429)])

    everything = await store.recent(EventQuery(limit=100))
    assert [e.trace_id for e in everything] == [f"t{n}" for n in range(10, -1, -1)]
    assert all(e.id for e in everything) and len({e.id for e in everything}) == 11

    by_trace = await store.recent(EventQuery(trace_id="t4"))
    assert [(e.trace_id, e.status, e.user_id) for e in by_trace] == [("t4", 404, "u_even")]
    assert by_trace[0].created_at == 1_000_004.0
    assert [e.trace_id for e in await store.recent(EventQuery(type="rate_limited"))] == ["t10"]
    assert [e.trace_id for e in await store.recent(EventQuery(user_id="u_odd", limit=2))] == [
        "t9",
        "t7",
    ]
    since = await store.recent(EventQuery(since=1_000_008.0))
    assert [e.trace_id for e in since] == ["t10", "t9", "t8"]
    assert await store.recent(EventQuery(trace_id="missing")) == []


async def test_the_ring_keeps_only_the_newest() -> None:
    store = MemoryEventStore(max_len=5)
    await store.append_many([_event(n) for n in range(12)])
    assert [e.trace_id for e in await store.recent(EventQuery())] == [
        f"t{n}" for n in range(11, 6, -1)
    ]


async def test_the_redis_stream_is_trimmed_and_skips_foreign_entries() -> None:
    client = fakeredis.FakeAsyncRedis(decode_responses=True)
    store = RedisEventStore(client, max_len=100)
    await client.xadd(store.key, {"something": "else"})
    await store.append_many([_event(n) for n in range(300)])
    # MAXLEN ~ trims whole nodes: about max_len entries stay, never all 301.
    assert await client.xlen(store.key) < 301
    found = await store.recent(EventQuery(limit=1000))
    assert found[0].trace_id == "t299"
    assert all(e.trace_id is not None for e in found)


class _FailingStore:
    def __init__(self) -> None:
        self.calls = 0

    async def append_many(self, events: Sequence[MonitoringEvent]) -> None:
        self.calls += 1
        raise ConnectionError("store down")

    async def recent(self, query: EventQuery) -> list[MonitoringEvent]:
        raise ConnectionError("store down")


def _dropped(reason: str) -> float:
    METRICS_BUFFER.flush()
    labels = {"store": "events", "reason": reason}
    return REGISTRY.get_sample_value("monitoring_events_dropped_total", labels) or 0.0


async def test_a_failing_store_drops_and_counts_but_reading_raises() -> None:
    store = _FailingStore()
    recorder = EventRecorder(store, max_pending=3)
    before_error, before_overflow = _dropped("store_error"), _dropped("overflow")
    for n in range(5):  # never raises, even past max_pending
        recorder.record_problem(
            status=503, code="REDIS_UNAVAILABLE", method="GET", path="/x", trace_id=f"t{n}"
        )
    await recorder.flush()
    assert store.calls == 1
    assert _dropped("store_error") - before_error == 3
    assert _dropped("overflow") - before_overflow == 2
    with pytest.raises(ConnectionError):
        await recorder.query(EventQuery())


async def test_paths_are_redacted_and_blocks_recorded() -> None:
    recorder = EventRecorder(MemoryEventStore(), clock=lambda: 42.0)
    token = "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJ4In0.c2lnbmF0dXJl"
    recorder.record_problem(
        status=404, code="NOT_FOUND", method="GET", path=f"/api/x/{token}", trace_id="r1"
    )
    recorder.record_block(client="203.0.113.9", reason="exceeded limits 5 times")
    events = await recorder.query(EventQuery())
    newest = events[0]
    assert (newest.type, newest.client, newest.detail, newest.created_at) == (
        "blocked",
        "203.0.113.9",
        "exceeded limits 5 times",
        42.0,
    )
    assert events[1].path == "/api/x/***" and token not in repr(events)


# --- the route, in process ---------------------------------------------------------------
async def test_events_endpoint_finds_a_request_by_its_trace_id(app_factory: AppFactory) -> None:
    async with app_factory(
        rate_limit_enabled=True, rate_limit_login="100/minute", rate_limit_default="3/minute"
    ) as (_app, http):
        missing = await http.get("/api/sessions/sess_nope", headers={"X-Request-ID": "trace-404"})
        assert missing.status_code == 404 and missing.json()["trace_id"] == "trace-404"
        login = await http.post(
            "/api/auth/login",
            json={"username": "nobody", "password": "wrong password"},
            headers={"X-Request-ID": "trace-login"},
        )
        assert login.status_code == 401
        for _ in range(5):
            last = await http.get("/api/cache/stats", headers={"X-Request-ID": "trace-429"})
        assert last.status_code == 429

        found = await http.get("/api/monitoring/events", params={"trace_id": "trace-404"})
        assert found.status_code == 200, found.text
        body = found.json()
        assert body["count"] == 1
        (event,) = body["items"]
        assert event["type"] == "client_error"
        assert (event["status"], event["code"], event["method"]) == (
            404,
            "SESSION_NOT_FOUND",
            "GET",
        )
        assert event["path"] == "/api/sessions/sess_nope" and event["client"] == "127.0.0.1"
        assert event["created_at"].endswith("Z") or "+00:00" in event["created_at"]

        failed = (await http.get("/api/monitoring/events?type=login_failed")).json()["items"]
        assert [(e["trace_id"], e["code"]) for e in failed] == [
            ("trace-login", "INVALID_CREDENTIALS")
        ]
        limited = (await http.get("/api/monitoring/events?type=rate_limited")).json()["items"]
        assert limited and {e["trace_id"] for e in limited} == {"trace-429"}
        assert {e["code"] for e in limited} == {"RATE_LIMIT_EXCEEDED"}

        later = await http.get("/api/monitoring/events", params={"since": time.time() + 3600})
        assert later.status_code == 200 and later.json() == {"items": [], "count": 0}
        bad = await http.get("/api/monitoring/events", params={"type": "nonsense", "limit": 0})
        assert bad.status_code == 400 and bad.json()["code"] == "VALIDATION_ERROR"
        assert {d["field"] for d in bad.json()["details"]} == {"type", "limit"}


async def test_events_endpoint_is_guarded_like_metrics(app_factory: AppFactory) -> None:
    async with app_factory(monitoring_open=False, monitoring_token="scrape-token-123456") as (
        _app,
        http,
    ):
        closed = await http.get("/api/monitoring/events")
        assert closed.status_code == 403 and closed.json()["code"] == "MONITORING_FORBIDDEN"
        opened = await http.get(
            "/api/monitoring/events", headers={"Authorization": "Bearer scrape-token-123456"}
        )
        assert opened.status_code == 200
        # The refusal itself is an event (a 403 problem).
        assert any(e["code"] == "MONITORING_FORBIDDEN" for e in opened.json()["items"])


async def test_redis_down_never_fails_a_request_but_reading_is_a_503(
    app_factory: AppFactory,
) -> None:
    async with app_factory() as (app, http):
        dead = Redis.from_url(
            f"redis://127.0.0.1:{free_port()}", decode_responses=True, socket_connect_timeout=0.5
        )
        app.state.events.store = RedisEventStore(dead)
        before = _dropped("store_error")
        missing = await http.get("/api/sessions/sess_gone")
        assert missing.status_code == 404  # recorded (then dropped): the answer is unchanged
        read = await http.get("/api/monitoring/events")
        assert read.status_code == 503, read.text
        assert read.json()["code"] == "REDIS_UNAVAILABLE"
        assert read.headers["retry-after"]
        assert _dropped("store_error") - before >= 1
        await dead.aclose()


async def test_recording_can_be_turned_off(app_factory: AppFactory) -> None:
    async with app_factory(monitoring_events_enabled=False) as (_app, http):
        assert (await http.get("/api/sessions/sess_nope")).status_code == 404
        assert (await http.get("/api/monitoring/events")).json() == {"items": [], "count": 0}
