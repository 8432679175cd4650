"""`/metrics` exposes the same families, types, labels and buckets, fed through public calls."""

from __future__ import annotations

from pathlib import Path

import httpx
import pytest
from prometheus_client.parser import text_string_to_metric_families

from app.main import create_app
from tests.conftest import make_settings

pytestmark = pytest.mark.unit

# The service's own families and their types, as /metrics showed them before the buffer
# used only prometheus-client's public calls (counters are listed without `_total`).
FAMILIES = {
    "ai_requests": "counter",
    "ai_tokens": "counter",
    "batch_items": "counter",
    "batch_jobs_finished": "counter",
    "commerce_commit_batch_size": "histogram",
    "commerce_compensations": "counter",
    "commerce_purchases": "counter",
    "commerce_units_sold": "counter",
    "db_pool_connections": "gauge",
    "http_request_duration_seconds": "histogram",
    "http_requests": "counter",
    "http_requests_in_flight": "gauge",
    "lock_acquire": "counter",
    "lock_wait_seconds": "histogram",
    "rate_limit_decisions": "counter",
    "redis_pool_connections": "gauge",
}
BOUNDS = ["0.0005", "0.001", "0.0025", "0.005", "0.01", "0.025", "0.05", "0.1", "0.25", "0.5"]
BOUNDS += ["1.0", "2.5", "5.0", "10.0", "+Inf"]


async def _scrape(
    client: httpx.AsyncClient,
) -> dict[str, tuple[str, list[tuple[str, dict[str, str], float]]]]:
    text = (await client.get("/metrics")).text
    return {
        f.name: (f.type, [(s.name, s.labels, s.value) for s in f.samples])
        for f in text_string_to_metric_families(text)
    }


def _value(samples: list[tuple[str, dict[str, str], float]], name: str, **labels: str) -> float:
    return sum(
        v for n, lb, v in samples if n == name and all(lb.get(k) == x for k, x in labels.items())
    )


async def test_metrics_keep_their_names_types_labels_and_buckets(tmp_path: Path) -> None:
    app = create_app(make_settings(tmp_path))
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://t") as client:
            before = await _scrape(client)
            for _ in range(3):
                assert (await client.get("/ping")).status_code == 200
            after = await _scrape(client)
    for name, kind in FAMILIES.items():
        assert after[name][0] == kind, name
    kind, samples = after["http_request_duration_seconds"]
    ping = [s for s in samples if s[1].get("route") == "/ping"]
    assert {frozenset(lb) - {"le"} for _, lb, _ in ping} == {frozenset({"method", "route"})}
    assert [lb["le"] for n, lb, _ in ping if n.endswith("_bucket")] == BOUNDS
    counted = _value(after["http_requests"][1], "http_requests_total", route="/ping", status="200")
    counted -= _value(
        before.get("http_requests", ("", []))[1], "http_requests_total", route="/ping", status="200"
    )
    assert counted == 3
    observed = _value(samples, "http_request_duration_seconds_count", route="/ping")
    observed -= _value(
        before.get("http_request_duration_seconds", ("", []))[1],
        "http_request_duration_seconds_count",
        route="/ping",
    )
    assert observed == 3
    # Every observation lands in the +Inf bucket, and in the sum.
    assert _value(samples, "http_request_duration_seconds_bucket", route="/ping", le="+Inf") == (
        _value(samples, "http_request_duration_seconds_count", route="/ping")
    )
    assert _value(samples, "http_request_duration_seconds_sum", route="/ping") > 0
    statuses = {
        lb["status"] for n, lb, _ in after["http_requests"][1] if lb.get("route") == "/ping"
    }
    assert "200" in statuses
