"""Prometheus instruments. With several uvicorn workers set PROMETHEUS_MULTIPROC_DIR:
each worker then writes its samples to that directory and /metrics aggregates them."""

from __future__ import annotations

import os
import weakref
from collections.abc import Callable, Iterable
from typing import Any

from prometheus_client import (
    CONTENT_TYPE_LATEST,
    REGISTRY,
    CollectorRegistry,
    Counter,
    Gauge,
    Histogram,
    generate_latest,
)
from prometheus_client import multiprocess as _multiprocess

from app.platform.deferred import flush_later

MULTIPROCESS = bool(os.environ.get("PROMETHEUS_MULTIPROC_DIR"))

_LATENCY_BUCKETS = (
    0.0005,
    0.001,
    0.0025,
    0.005,
    0.01,
    0.025,
    0.05,
    0.1,
    0.25,
    0.5,
    1.0,
    2.5,
    5.0,
    10.0,
)

HTTP_REQUESTS = Counter(
    "http_requests_total",
    "HTTP requests by method, route template and status.",
    ["method", "route", "status"],
)
HTTP_DURATION = Histogram(
    "http_request_duration_seconds",
    "HTTP request latency by route template.",
    ["method", "route"],
    buckets=_LATENCY_BUCKETS,
)
HTTP_IN_FLIGHT = Gauge(
    "http_requests_in_flight",
    "Requests being served right now.",
    multiprocess_mode="livesum",
)
DB_POOL_CONNECTIONS = Gauge(
    "db_pool_connections",
    "SQL pool connections by state.",
    ["state"],
    multiprocess_mode="livesum",
)
REDIS_POOL_CONNECTIONS = Gauge(
    "redis_pool_connections",
    "Redis pool connections by state.",
    ["state"],
    multiprocess_mode="livesum",
)
# Locks: `name` is the lock's family (text before the first ':'), never a per-item name.
LOCK_ACQUIRE = Counter(
    "lock_acquire_total",
    "Bounded lock waits by lock family and outcome (acquired | timeout).",
    ["name", "outcome"],
)
LOCK_WAIT = Histogram(
    "lock_wait_seconds",
    "Time spent waiting for a lock, whether it was acquired or timed out.",
    ["name"],
    buckets=_LATENCY_BUCKETS,
)

CACHE_LOOKUPS = Counter(
    "cache_lookups_total",
    "Lookups of @cached functions by key prefix and outcome (hit, miss, error: store failed).",
    ["prefix", "outcome"],
)
# Rate limiting: `route` is the rule family ("classify", "login", ...) or "global".
RATE_LIMIT_DECISIONS = Counter(
    "rate_limit_decisions_total",
    "Rate-limit decisions by route family and outcome "
    "(allowed | rejected | blocked | error_open | error_closed | ip_denied).",
    ["route", "outcome"],
)
RATE_LIMIT_BLOCKS = Counter(
    "rate_limit_blocks",
    "Clients blocked automatically for repeated rate-limit rejections (RATE_LIMIT_BLOCK_AFTER).",
)
# Read from the limiter's store before a scrape: with Redis every worker sees the same figure,
# so the most recent one written is the answer ("mostrecent"), not a sum over workers.
RATE_LIMIT_BLOCKS_ACTIVE = Gauge(
    "rate_limit_blocks_active",
    "Clients blocked right now (from the limiter's store, read at scrape time).",
    multiprocess_mode="mostrecent",
)

# Regulatory AI: outcome is ok | repaired | invalid_output | unavailable | fallback.
AI_REQUESTS = Counter(
    "ai_requests_total",
    "Regulatory answers by provider, model, endpoint and outcome.",
    ["provider", "model", "endpoint", "outcome"],
)
AI_TOKENS = Counter(
    "ai_tokens_total",
    "Tokens reported by the model server, by kind (prompt | completion).",
    ["provider", "model", "kind"],
)

# Batch jobs: items by kind and outcome (succeeded | failed), jobs by kind and final status.
BATCH_ITEMS = Counter(
    "batch_items_total",
    "Batch items given an outcome, by job kind and outcome (succeeded | failed).",
    ["kind", "outcome"],
)
BATCH_JOBS_FINISHED = Counter(
    "batch_jobs_finished_total",
    "Batch jobs a worker finished, by kind and status (completed | failed).",
    ["kind", "status"],
)

# The monitoring event log (app/platform/events.py) and the active-users gauge.
MONITORING_EVENTS = Counter(
    "monitoring_events_total",
    "Monitoring events recorded by this service, by type.",
    ["type"],
)
MONITORING_EVENTS_DROPPED = Counter(
    "monitoring_events_dropped_total",
    "Monitoring events (or active-user marks) dropped, by store (events | active_users) and "
    "reason (store_error | overflow).",
    ["store", "reason"],
)
# Set by the worker that answers the scrape from the shared count (Redis): the most recent
# value of a live worker is the answer, not a sum over workers that each saw the same users.
ACTIVE_USERS = Gauge(
    "active_users_total",
    "Distinct users with an authenticated request in the last ACTIVE_USERS_WINDOW_MINUTES.",
    multiprocess_mode="livemostrecent",
)


class MetricsBuffer:
    """Per-request tallies kept in this process and written to the instruments in batches.

    In multiprocess mode every `inc`/`observe` is a locked write into a memory-mapped file;
    tallying in plain dicts on the request path and writing once a second, through the
    instruments' public `inc` and `observe`, keeps that work off the request and lets one `inc`
    stand for many requests (docs/decisions/0004-one-edge-layer.md). `/metrics` flushes this
    worker first; other workers' samples are at most `FLUSH_INTERVAL_S` old.
    """

    FLUSH_INTERVAL_S = 1.0

    def __init__(
        self, *, requests: Counter = HTTP_REQUESTS, durations: Histogram = HTTP_DURATION
    ) -> None:
        # The HTTP instruments `requests()` feeds: (method, route, status) and (method, route).
        self._requests_counter = requests
        self._durations = durations
        self._counts: dict[tuple[Counter, tuple[str, ...]], int] = {}
        # Observations per histogram child, each written with `observe` at the flush:
        # prometheus-client has no public call that adds many observations at once.
        self._observed: dict[tuple[Histogram, tuple[str, ...]], list[float]] = {}
        # HTTP requests: counts by (method, route, status), durations by (method, route).
        self._requests: dict[tuple[str, str, int], int] = {}
        self._request_durations: dict[tuple[str, str], list[float]] = {}
        self.in_flight = 0
        self._in_flight_written = 0
        self._flush_pending = False
        self._feeders: list[weakref.WeakMethod[Callable[[], None]]] = []

    def count(self, counter: Counter, labels: tuple[str, ...], amount: int = 1) -> None:
        """Add `amount` to one labelled counter."""
        key = (counter, labels)
        self._counts[key] = self._counts.get(key, 0) + amount
        if not self._flush_pending:
            self._flush_pending = flush_later(self.FLUSH_INTERVAL_S, self.flush)

    def requests(self, answered: Iterable[tuple[str, str, int, float]]) -> None:
        """Count answered HTTP requests, each (method, route, status, seconds), and keep their
        durations (the edge layer's request log hands them over in batches)."""
        counts = self._requests
        durations = self._request_durations
        for method, route, status, seconds in answered:
            key = (method, route, status)
            counts[key] = counts.get(key, 0) + 1
            route_key = (method, route)
            observed = durations.get(route_key)
            if observed is None:
                durations[route_key] = [seconds]
            else:
                observed.append(seconds)
        if not self._flush_pending:
            self._flush_pending = flush_later(self.FLUSH_INTERVAL_S, self.flush)

    def add_feeder(self, feeder: Callable[[], None]) -> None:
        """Call `feeder` (a bound method, held weakly) at the start of every flush: something
        that keeps tallies of its own (the edge's request log) hands them over first."""
        self._feeders.append(weakref.WeakMethod(feeder))

    def observe(self, histogram: Histogram, labels: tuple[str, ...], value: float) -> None:
        """Record one observation of a labelled histogram."""
        key = (histogram, labels)
        observed = self._observed.get(key)
        if observed is None:
            self._observed[key] = [value]
        else:
            observed.append(value)
        if not self._flush_pending:
            self._flush_pending = flush_later(self.FLUSH_INTERVAL_S, self.flush)

    def flush(self) -> None:
        """Write everything tallied so far into the Prometheus instruments."""
        if self._feeders:
            live = [ref for ref in self._feeders if ref() is not None]
            self._feeders = live
            for ref in live:
                feeder = ref()
                if feeder is not None:
                    feeder()
        self._flush_pending = False
        counts, self._counts = self._counts, {}
        observed, self._observed = self._observed, {}
        requests, self._requests = self._requests, {}
        durations, self._request_durations = self._request_durations, {}
        for (method, route, status), amount in requests.items():
            key = (self._requests_counter, (method, route, str(status)))
            counts[key] = counts.get(key, 0) + amount
        for (method, route), values in durations.items():
            observed.setdefault((self._durations, (method, route)), []).extend(values)
        for (counter, labels), amount in counts.items():
            counter.labels(*labels).inc(amount)
        for (histogram, labels), values in observed.items():
            child = histogram.labels(*labels)
            for value in values:
                child.observe(value)
        if self.in_flight != self._in_flight_written:
            self._in_flight_written = self.in_flight
            HTTP_IN_FLIGHT.set(self.in_flight)


METRICS_BUFFER = MetricsBuffer()


def set_pool_gauges(*, database: dict[str, int], redis: dict[str, Any] | None) -> None:
    """The connection-pool gauges from the pools' figures (read just before a scrape)."""
    for state, value in database.items():
        DB_POOL_CONNECTIONS.labels(state).set(value)
    if redis is not None and "in_use" in redis:  # a cluster client does not count them
        REDIS_POOL_CONNECTIONS.labels("in_use").set(redis["in_use"])
        REDIS_POOL_CONNECTIONS.labels("idle").set(redis["idle"])


def render_latest() -> tuple[bytes, str]:
    """The exposition text of every instrument, across workers when in multiprocess mode."""
    METRICS_BUFFER.flush()
    if MULTIPROCESS:
        registry = CollectorRegistry()
        _multiprocess.MultiProcessCollector(registry)  # type: ignore[no-untyped-call]
        return generate_latest(registry), CONTENT_TYPE_LATEST
    return generate_latest(REGISTRY), CONTENT_TYPE_LATEST


def mark_process_dead(pid: int) -> None:
    """Drop a finished worker's live gauges (called on shutdown in multiprocess mode)."""
    if MULTIPROCESS:
        _multiprocess.mark_process_dead(pid)  # type: ignore[no-untyped-call]
