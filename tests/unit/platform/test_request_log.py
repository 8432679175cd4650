"""The edge's request log: one note per answered request, turned into metrics and access lines
later, each line still saying what its own request saw."""

from __future__ import annotations

import asyncio
import gc
import io
import json

import pytest
from prometheus_client import CollectorRegistry, Counter, Histogram

from app.platform.logging import AccessLogWriter, Answered
from app.platform.metrics import MetricsBuffer
from app.platform.middleware import observability
from app.platform.middleware.observability import RequestLog

pytestmark = pytest.mark.unit


class Instruments:
    """A private registry with the two HTTP instruments the buffer feeds."""

    def __init__(self) -> None:
        self.registry = CollectorRegistry()
        self.requests = Counter(
            "t_http_requests_total", "t", ["method", "route", "status"], registry=self.registry
        )
        self.durations = Histogram(
            "t_http_seconds", "t", ["method", "route"], buckets=(0.01, 0.1), registry=self.registry
        )
        self.buffer = MetricsBuffer(requests=self.requests, durations=self.durations)

    def count(self, method: str, route: str, status: int) -> float:
        labels = {"method": method, "route": route, "status": str(status)}
        return self.registry.get_sample_value("t_http_requests_total", labels) or 0.0


def _writer(level: str = "INFO") -> tuple[AccessLogWriter, io.StringIO]:
    stream = io.StringIO()
    writer = AccessLogWriter()
    writer.configure(stream=stream, level=level, fmt="json")
    return writer, stream


def _answered(path: str, status: int, *, ended: float = 0.0, rid: str = "r1") -> Answered:
    return ("GET", path, path, status, 0.0123456, ended, "203.0.113.7", rid)


async def test_lines_are_written_at_the_flush_with_their_own_time_and_id(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    writer, stream = _writer()
    log = RequestLog(metrics=False, access=writer, buffer=Instruments().buffer)
    log.note(("GET", "/u/lee@example.com", "/u/{email}", 200, 0.0123456, 5.25, "203.0.113.7", "a"))
    log.note(("POST", "/u/x", "/u/{email}", 503, 0.5, 6.5, None, "b"))
    assert stream.getvalue() == ""  # inside an event loop the lines wait for the flush
    # The flush maps perf_counter times to wall time: here perf_counter 5.0 is 1_700_000_000.
    monkeypatch.setattr(observability.time, "time", lambda: 1_700_000_100.0)
    monkeypatch.setattr(observability.time, "perf_counter", lambda: 105.0)
    log.flush()
    first, second = (json.loads(line) for line in stream.getvalue().splitlines())
    assert first["timestamp"] == "2023-11-14T22:13:20.250000Z"
    assert second["timestamp"] == "2023-11-14T22:13:21.500000Z"
    assert (first["request_id"], second["request_id"]) == ("a", "b")
    assert (first["level"], second["level"]) == ("info", "error")
    assert first["duration_ms"] == 12.346 and first["status_code"] == 200
    assert first["path"] == "/u/l***@example.com" and first["route"] == "/u/{email}"
    assert second["client"] is None and second["method"] == "POST"


async def test_the_flush_counts_every_request_and_logs_all_but_the_quiet_paths() -> None:
    instruments = Instruments()
    writer, stream = _writer()
    log = RequestLog(metrics=True, access=writer, buffer=instruments.buffer)
    for path in ("/ping", "/ping", "/metrics", "/health/live"):
        log.note(_answered(path, 200))
    instruments.buffer.flush()  # drains the request log first: it is one of its feeders
    assert instruments.count("GET", "/ping", 200) == 2
    assert instruments.count("GET", "/metrics", 200) == 1
    assert instruments.count("GET", "/health/live", 200) == 1
    assert [json.loads(line)["path"] for line in stream.getvalue().splitlines()] == [
        "/ping",
        "/ping",
    ]
    duration = instruments.registry.get_sample_value(
        "t_http_seconds_sum", {"method": "GET", "route": "/ping"}
    )
    assert duration == pytest.approx(2 * 0.0123456)


async def test_with_metrics_off_nothing_is_counted_and_below_info_only_errors_are_logged() -> None:
    instruments = Instruments()
    writer, stream = _writer(level="WARNING")
    log = RequestLog(metrics=False, access=writer, buffer=instruments.buffer)
    log.note(_answered("/ping", 200, rid="ok"))
    log.note(_answered("/ping", 500, rid="failed"))
    instruments.buffer.flush()
    assert instruments.count("GET", "/ping", 200) == 0
    assert [json.loads(line)["request_id"] for line in stream.getvalue().splitlines()] == ["failed"]


class SignallingWriter(AccessLogWriter):
    """Sets `written` after every batch of lines."""

    def __init__(self) -> None:
        super().__init__()
        self.written = asyncio.Event()

    def write(self, answered: list[Answered], wall_offset: float) -> None:
        super().write(answered, wall_offset)
        self.written.set()


async def test_a_full_log_flushes_at_once_and_a_timer_flushes_the_rest() -> None:
    writer = SignallingWriter()
    stream = io.StringIO()
    writer.configure(stream=stream, level="INFO", fmt="json")
    log = RequestLog(metrics=False, access=writer, buffer=Instruments().buffer)
    log.MAX_PENDING = 3
    log.FLUSH_DELAY_S = 0.01
    for index in range(4):
        log.note(_answered("/ping", 200, rid=f"r{index}"))
    assert len(stream.getvalue().splitlines()) == 3  # the third note filled it
    writer.written.clear()
    await asyncio.wait_for(writer.written.wait(), timeout=5)  # the timer the fourth scheduled
    assert [json.loads(line)["request_id"] for line in stream.getvalue().splitlines()] == [
        "r0",
        "r1",
        "r2",
        "r3",
    ]


def test_outside_an_event_loop_every_note_is_written_at_once() -> None:
    writer, stream = _writer()
    RequestLog(metrics=False, access=writer, buffer=Instruments().buffer).note(
        _answered("/ping", 200)
    )
    assert json.loads(stream.getvalue())["path"] == "/ping"


def test_the_metrics_buffer_holds_request_logs_weakly() -> None:
    instruments = Instruments()
    writer, stream = _writer()
    log = RequestLog(metrics=True, access=writer, buffer=instruments.buffer)
    log._pending.append(_answered("/ping", 200))  # noted, then its app goes away unflushed
    del log
    gc.collect()
    instruments.buffer.flush()  # a dead feeder is skipped, not called
    assert instruments.count("GET", "/ping", 200) == 0
    assert stream.getvalue() == ""
