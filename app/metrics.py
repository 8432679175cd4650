"""Prometheus instruments. With several uvicorn workers set PROMETHEUS_MULTIPROC_DIR:
each worker then writes its samples to that directory and /metrics aggregates them."""

from __future__ import annotations

import os

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

# Rate limiting: `route` is the rule family ("classify", "login", ...) or "global".
RATE_LIMIT_DECISIONS = Counter(
    "rate_limit_decisions_total",
    "Rate-limit decisions by route family and outcome "
    "(allowed | rejected | error_open | error_closed | ip_denied).",
    ["route", "outcome"],
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


def render_latest() -> tuple[bytes, str]:
    """The exposition text of every instrument, across workers when in multiprocess mode."""
    if MULTIPROCESS:
        registry = CollectorRegistry()
        _multiprocess.MultiProcessCollector(registry)  # type: ignore[no-untyped-call]
        return generate_latest(registry), CONTENT_TYPE_LATEST
    return generate_latest(REGISTRY), CONTENT_TYPE_LATEST


def mark_process_dead(pid: int) -> None:
    """Drop a finished worker's live gauges (called on shutdown in multiprocess mode)."""
    if MULTIPROCESS:
        _multiprocess.mark_process_dead(pid)  # type: ignore[no-untyped-call]
