"""Every metric the provisioned Grafana dashboard queries is in /metrics after a short mixed run
(purchases under the lock strategy, a rate-limited route, the AI cache, a batch job) against the
app in-process on real Redis; the panels cannot silently point at a metric that does not exist."""

from __future__ import annotations

import asyncio
import json
import re
from pathlib import Path
from typing import Any

import httpx
import pytest
from prometheus_client import REGISTRY
from redis.asyncio import Redis

from tests.conftest import AppFactory
from tests.support.servers import RedisServer
from tests.unit.commerce.shop_helpers import create_product, header_principal, user

pytestmark = pytest.mark.integration
ROOT = Path(__file__).resolve().parents[3]
DASHBOARD = ROOT / "deploy" / "grafana" / "dashboards" / "raidesk.json"
# A metric selector: a name followed by its label matchers.
SELECTOR = re.compile(r"\b([a-z_:][a-z0-9_:]*)\{")
# Families that only get samples on rare events (the reconciler finding drift, monitoring events
# dropped because Redis failed): declared is enough.
RARE = {"commerce_stock_drift_units_total", "monitoring_events_dropped_total"}


def dashboard_metric_names() -> set[str]:
    """The metric names in the dashboard's PromQL (histograms by their `_bucket` series)."""
    dashboard = json.loads(DASHBOARD.read_text())
    names: set[str] = set()
    for panel in dashboard["panels"]:
        for target in panel.get("targets", []):
            names |= set(SELECTOR.findall(target["expr"]))
    return names


async def drain_events(client: httpx.AsyncClient, path: str, headers: dict[str, str]) -> list[Any]:
    """Every event of an SSE stream, up to [DONE]."""
    out: list[Any] = []
    async with client.stream("GET", path, headers=headers) as response:
        assert response.status_code == 200
        async for line in response.aiter_lines():
            if line.startswith("data: "):
                data = line.removeprefix("data: ")
                out.append("[DONE]" if data == "[DONE]" else json.loads(data))
    return out


async def metrics_once_sampled(client: httpx.AsyncClient, name: str) -> str:
    """The /metrics text once it has a sample of `name` (a deadline for a hang, not a speed check)."""
    deadline = asyncio.get_running_loop().time() + 60
    while True:
        exposition = (await client.get("/metrics")).text
        if re.search(rf"^{name}[{{ ]", exposition, re.MULTILINE):
            return exposition
        assert asyncio.get_running_loop().time() < deadline, f"no {name} sample: {exposition}"
        await asyncio.sleep(0.05)


async def test_every_dashboard_metric_is_exposed_after_a_mixed_run(
    app_factory: AppFactory, redis_server: RedisServer, redis_client: Redis
) -> None:
    async with app_factory(
        redis_url=redis_server.url,
        purchase_strategy="lock",
        reconcile_interval_s=0,
        rate_limit_enabled=True,
        rate_limit_inventory="1/minute",
        batch_heartbeat_s=0.05,
        batch_poll_s=0.05,
    ) as (app, client):
        app.state.principal_resolver = header_principal
        product = await create_product(client, initial_stock=2)
        pid = product["id"]
        # Counters live as long as the test process: this run's share is the difference.
        sold_before = sold_units(pid)
        answers = [
            await client.post(f"/api/purchase/{pid}", json={"quantity": 1}, headers=user(buyer))
            for buyer in ("a", "b", "c")
        ]
        assert [r.status_code for r in answers] == [201, 201, 400]
        assert answers[2].json()["code"] == "INSUFFICIENT_STOCK"

        assert (await client.get(f"/api/inventory/{pid}", headers=user("a"))).status_code == 200
        limited = await client.get(f"/api/inventory/{pid}", headers=user("a"))
        assert limited.status_code == 429

        concept = "Step counter app for daily fitness goals"
        first = await client.post("/api/classify", json={"concept": concept})
        second = await client.post("/api/classify", json={"concept": concept})
        assert (first.status_code, second.status_code) == (200, 200)
        assert second.headers["cache-status"] == "raidesk; hit"

        body = {"kind": "classify", "name": "one", "items": [{"ref": "r1", "concept": concept}]}
        created = await client.post("/api/batch/jobs", json=body, headers=user("a"))
        assert created.status_code == 202, created.text
        stream = await drain_events(
            client, f"/api/batch/jobs/{created.json()['id']}/events", user("a")
        )
        assert stream[-2]["job"]["status"] == "completed"

        # The SSE stream reads the job's state from storage, which can show it completed
        # before the runner (resuming after that write) has tallied the job's metrics.
        exposition = await metrics_once_sampled(client, "batch_jobs_finished_total")

    declared = set(re.findall(r"^# HELP (\S+) ", exposition, re.MULTILINE))
    sampled = set(re.findall(r"^([a-z_:][a-z0-9_:]*)[{ ]", exposition, re.MULTILINE))
    wanted = dashboard_metric_names()
    assert len(wanted) >= 15
    base = {re.sub(r"_bucket$", "", n) for n in wanted}
    assert base <= declared, base - declared
    assert wanted - RARE <= sampled, (wanted - RARE) - sampled
    # The run's own numbers reached the per-product series.
    assert f'commerce_product_stock{{product="{pid}"}} 0.0' in exposition
    assert sold_units(pid) - sold_before == 2


def sold_units(product_id: int) -> float:
    labels = {"product": str(product_id)}
    return REGISTRY.get_sample_value("commerce_product_units_sold_total", labels) or 0.0
