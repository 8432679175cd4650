"""OpenTelemetry tracing (the `otel` extra), in-process with the SDK's in-memory exporter:
request, SQL and batch-item spans in one trace per request, the request id on the span and the
trace id on the log lines; off by default with nothing of opentelemetry imported by the app."""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import httpx
import pytest
from fastapi import FastAPI
from opentelemetry.sdk.trace import ReadableSpan
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.trace import SpanKind

from app.main import create_app
from app.platform.config import Settings
from app.platform.tracing import tracing_enabled
from tests.unit.commerce.shop_helpers import ADMIN, header_principal, user

pytestmark = pytest.mark.unit
ROOT = Path(__file__).resolve().parents[3]
TRACE_ID = "4bf92f3577b34da6a3ce929d0e0e4736"
PARENT = f"00-{TRACE_ID}-00f067aa0ba902b7-01"
FAST: dict[str, Any] = {
    "argon2_time_cost": 1,
    "argon2_memory_cost": 1024,
    "reconcile_interval_s": 0,
    "batch_heartbeat_s": 0.05,
    "batch_poll_s": 0.05,
}


@asynccontextmanager
async def traced_app(
    settings: Settings, exporter: InMemorySpanExporter
) -> AsyncIterator[tuple[FastAPI, httpx.AsyncClient]]:
    """The full app with tracing on, exporting to `exporter`; spans are flushed at shutdown."""
    app = create_app(settings)
    app.state.span_exporter = exporter
    async with app.router.lifespan_context(app):
        app.state.principal_resolver = header_principal
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as client:
            yield app, client


def by_trace(spans: tuple[ReadableSpan, ...], trace_id: int) -> list[ReadableSpan]:
    return [s for s in spans if s.context is not None and s.context.trace_id == trace_id]


async def test_a_request_is_one_trace_of_server_and_sql_spans_joined_to_the_logs(
    settings_factory: Callable[..., Settings], capsys: pytest.CaptureFixture[str]
) -> None:
    exporter = InMemorySpanExporter()
    async with traced_app(settings_factory(otel_enabled=True, **FAST), exporter) as (_, client):
        capsys.readouterr()
        created = await client.post(
            "/api/products",
            json={"name": "ann's sneakers", "price": "19.99", "initial_stock": 3},
            headers={**ADMIN, "traceparent": PARENT},
        )
        assert created.status_code == 201, created.text
        request_id = created.headers["x-request-id"]
        lines = [json.loads(x) for x in capsys.readouterr().out.splitlines() if x.startswith("{")]
        missing = await client.get("/api/products/999")
        assert missing.status_code == 404
    spans = by_trace(exporter.get_finished_spans(), int(TRACE_ID, 16))
    (server,) = [s for s in spans if s.kind == SpanKind.SERVER]
    assert server.name == "POST /api/products"
    assert server.parent is not None and server.parent.span_id == 0x00F067AA0BA902B7
    assert server.attributes is not None
    assert server.attributes["http.route"] == "/api/products"
    assert server.attributes["http.response.status_code"] == 201
    assert server.attributes["raidesk.request_id"] == request_id
    sql = [s for s in spans if s.attributes and s.attributes.get("db.system") == "sqlite"]
    assert any((s.attributes or {})["db.operation"] == "INSERT" for s in sql), [
        s.name for s in spans
    ]
    assert all(s.parent is not None and s.parent.span_id == server.context.span_id for s in sql)
    # No SQL parameter reaches a span: statements keep their placeholders.
    assert not any("sneakers" in str((s.attributes or {})["db.statement"]) for s in sql)
    # Another request is another trace, named by its route template, unmatched ids and all.
    (other,) = [
        s for s in exporter.get_finished_spans() if s.name == "GET /api/products/{product_id}"
    ]
    assert other.context is not None and other.context.trace_id != int(TRACE_ID, 16)
    assert (other.attributes or {})["http.response.status_code"] == 404
    # Log lines written inside the request carry its request id and its trace id.
    joined = [x for x in lines if x.get("request_id") == request_id and "trace_id" in x]
    assert joined and all(x["trace_id"] == TRACE_ID for x in joined)


async def test_each_batch_item_is_a_span_with_its_job(
    settings_factory: Callable[..., Settings],
) -> None:
    exporter = InMemorySpanExporter()
    async with traced_app(settings_factory(otel_enabled=True, **FAST), exporter) as (_, client):
        body = {
            "kind": "classify",
            "name": "two",
            "items": [{"ref": f"r{i}", "concept": "Step counter app"} for i in range(2)],
        }
        created = await client.post("/api/batch/jobs", json=body, headers=user("ann"))
        assert created.status_code == 202, created.text
        job_id = created.json()["id"]
        async with client.stream(
            "GET", f"/api/batch/jobs/{job_id}/events", headers=user("ann")
        ) as stream:
            async for _ in stream.aiter_lines():
                pass
        done = await client.get(f"/api/batch/jobs/{job_id}", headers=user("ann"))
        assert done.json()["status"] == "completed"
    items = [s for s in exporter.get_finished_spans() if s.name == "batch.item"]
    assert sorted((s.attributes or {})["position"] for s in items) == [0, 1]
    assert {(s.attributes or {})["raidesk.job_id"] for s in items} == {job_id}


async def test_off_by_default_no_span_and_no_trace_id_in_logs(
    settings_factory: Callable[..., Settings], capsys: pytest.CaptureFixture[str]
) -> None:
    exporter = InMemorySpanExporter()
    async with traced_app(settings_factory(**FAST), exporter) as (_, client):
        r = await client.post(
            "/api/products",
            json={"name": "x", "price": "1.00", "initial_stock": 1},
            headers=user("root:admin"),
        )
        assert r.status_code == 201
    assert exporter.get_finished_spans() == ()
    assert '"trace_id"' not in capsys.readouterr().out


BLOCKED = textwrap.dedent(
    """
    import asyncio, os, sys
    from importlib.abc import MetaPathFinder

    EXTRA = ("sdk", "exporter", "instrumentation", "proto")

    class NoOtel(MetaPathFinder):
        def find_spec(self, name, path=None, target=None):
            # opentelemetry-api comes with FastAPI; the extra adds the SDK, exporter, instrumentations.
            if name.split(".")[:2] in (["opentelemetry", p] for p in EXTRA):
                raise ImportError(f"blocked: {name}", name=name)
            return None

    sys.meta_path.insert(0, NoOtel())
    import httpx
    from app.main import create_app
    from app.platform.config import load_settings

    async def main():
        settings = load_settings(_env_file=None, environment="test", secret_key="x" * 40,
                                 database_url="sqlite+aiosqlite:///" + sys.argv[1],
                                 redis_url="", otel_enabled=sys.argv[2] == "on")
        app = create_app(settings)
        async with app.router.lifespan_context(app):
            transport = httpx.ASGITransport(app=app)
            async with httpx.AsyncClient(transport=transport, base_url="http://t") as client:
                r = await client.post("/api/classify", json={"concept": "Step counter app"})
                print("status", r.status_code)

    asyncio.run(main())
    """
)


def run_without_otel(tmp_path: Path, mode: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-c", BLOCKED, str(tmp_path / f"{mode}.db"), mode],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
        env={"PATH": "/usr/bin:/bin", "HOME": str(tmp_path)},
    )


def test_the_app_serves_without_the_otel_packages(tmp_path: Path) -> None:
    done = run_without_otel(tmp_path, "off")
    assert done.returncode == 0, done.stderr
    assert "status 200" in done.stdout


def test_otel_enabled_without_the_packages_is_a_configuration_error(tmp_path: Path) -> None:
    done = run_without_otel(tmp_path, "on")
    assert done.returncode != 0
    assert "OTEL_ENABLED: needs the otel extra" in done.stderr


@pytest.mark.parametrize(
    ("enabled", "environ", "expected"),
    [
        (False, {}, False),
        (False, {"OTEL_EXPORTER_OTLP_ENDPOINT": "http://collector:4318"}, False),
        (True, {}, True),
        (True, {"OTEL_SDK_DISABLED": "true"}, False),
        (True, {"OTEL_SDK_DISABLED": "false"}, True),
    ],
)
def test_only_otel_enabled_turns_tracing_on_and_the_sdk_switch_wins(
    settings_factory: Callable[..., Settings],
    enabled: bool,
    environ: dict[str, str],
    expected: bool,
) -> None:
    settings = settings_factory(otel_enabled=enabled)
    assert tracing_enabled(settings, environ) is expected
