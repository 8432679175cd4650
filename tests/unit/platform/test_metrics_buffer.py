"""The in-process metrics buffer writes exactly what direct instrument calls would have."""

from __future__ import annotations

import asyncio

import pytest
from prometheus_client import CollectorRegistry, Counter, Histogram

from app.platform.metrics import MetricsBuffer

pytestmark = pytest.mark.unit

BUCKETS = (0.001, 0.01, 0.1, 1.0)
# Values on, below, between and above the bucket bounds (bounds are "<=").
VALUES = (0.0, 0.001, 0.0010001, 0.005, 0.01, 0.5, 1.0, 3.0, 0.001, 42.0)


def _strip(registry: CollectorRegistry) -> list[tuple[str, dict[str, str], float]]:
    return [s for s in _samples(registry) if not s[0].endswith("_created")]


def _samples(registry: CollectorRegistry) -> list[tuple[str, dict[str, str], float]]:
    """Every sample but the `_created` timestamps (which differ between two registries)."""
    return sorted(
        ((s.name, s.labels, s.value) for m in registry.collect() for s in m.samples),
        key=lambda sample: (sample[0], sorted(sample[1].items())),
    )


def _instruments(registry: CollectorRegistry) -> tuple[Counter, Histogram]:
    counter = Counter("t_requests_total", "t", ["route"], registry=registry)
    histogram = Histogram("t_seconds", "t", ["route"], buckets=BUCKETS, registry=registry)
    return counter, histogram


async def test_flushed_samples_equal_direct_observations() -> None:
    direct_registry, buffered_registry = CollectorRegistry(), CollectorRegistry()
    counter, histogram = _instruments(direct_registry)
    b_counter, b_histogram = _instruments(buffered_registry)
    buffer = MetricsBuffer()
    for index, value in enumerate(VALUES):
        route = "/a" if index % 3 else "/b"
        counter.labels(route).inc()
        histogram.labels(route).observe(value)
        buffer.count(b_counter, (route,))
        buffer.observe(b_histogram, (route,), value)
    # Inside an event loop the write waits for the scheduled flush.
    assert b_histogram.collect()[0].samples == []
    buffer.flush()
    assert _strip(buffered_registry) == _strip(direct_registry)
    buffer.flush()  # a second flush adds nothing
    assert _strip(buffered_registry) == _strip(direct_registry)


def test_outside_an_event_loop_every_tally_is_written_at_once() -> None:
    registry = CollectorRegistry()
    counter, _ = _instruments(registry)
    MetricsBuffer().count(counter, ("/a",), 2)
    assert registry.get_sample_value("t_requests_total", {"route": "/a"}) == 2


async def test_tallies_reach_the_instruments_within_the_flush_interval() -> None:
    registry = CollectorRegistry()
    counter, _ = _instruments(registry)
    buffer = MetricsBuffer()
    buffer.FLUSH_INTERVAL_S = 0.01
    buffer.count(counter, ("/a",), 3)
    assert registry.get_sample_value("t_requests_total", {"route": "/a"}) is None
    deadline = asyncio.get_running_loop().time() + 2
    while registry.get_sample_value("t_requests_total", {"route": "/a"}) is None:
        assert asyncio.get_running_loop().time() < deadline, "the scheduled flush never ran"
        await asyncio.sleep(0.01)
    assert registry.get_sample_value("t_requests_total", {"route": "/a"}) == 3


async def test_http_requests_flush_as_per_status_counts_and_per_route_durations() -> None:
    def instruments(registry: CollectorRegistry) -> tuple[Counter, Histogram]:
        counter = Counter("h_total", "h", ["method", "route", "status"], registry=registry)
        histogram = Histogram(
            "h_seconds", "h", ["method", "route"], buckets=BUCKETS, registry=registry
        )
        return counter, histogram

    direct_registry, buffered_registry = CollectorRegistry(), CollectorRegistry()
    counter, histogram = instruments(direct_registry)
    b_counter, b_histogram = instruments(buffered_registry)
    buffer = MetricsBuffer(requests=b_counter, durations=b_histogram)
    for index, value in enumerate(VALUES):
        route = "/a" if index % 3 else "/b"
        status = 200 if index % 4 else 404  # two statuses of one route share its histogram
        counter.labels("GET", route, str(status)).inc()
        histogram.labels("GET", route).observe(value)
        buffer.requests([("GET", route, status, value)])
    buffer.count(b_counter, ("GET", "/a", "200"), 2)  # a plain count of the same child adds up
    counter.labels("GET", "/a", "200").inc(2)
    assert b_counter.collect()[0].samples == []
    buffer.flush()
    buffered, direct = _strip(buffered_registry), _strip(direct_registry)
    assert [s[:2] for s in buffered] == [s[:2] for s in direct]
    # Durations are summed per status first, so the float sums may differ in the last digit.
    assert [s[2] for s in buffered] == pytest.approx([s[2] for s in direct])
