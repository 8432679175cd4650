"""Health of the service: every registered dependency probe, timed, with an overall verdict."""

from __future__ import annotations

import asyncio
import os
import shutil
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Literal

from app import __version__
from app.platform.activity import ActiveUsers
from app.platform.config import Settings
from app.platform.events import EventQuery, EventRecorder, MonitoringEvent
from app.platform.metrics import set_pool_gauges
from app.platform.storage.connections import Connections
from app.platform.storage.factory import backends_in_use
from app.platform.storage.sql.engine import sqlite_path

Status = Literal["healthy", "degraded", "unhealthy"]
HealthProbe = Callable[[], Awaitable[dict[str, Any] | None]]
# A report an area adds to the detailed health (e.g. the batch workers of this process).
AreaReport = Callable[[], dict[str, Any]]
PROBE_TIMEOUT_S = 2.0
SLOW_PROBE_MS = 500.0


@dataclass(slots=True)
class HealthCheck:
    """A named dependency probe; `critical` failures make the service unhealthy."""

    name: str
    probe: HealthProbe
    critical: bool = True


async def _run_check(check: HealthCheck) -> dict[str, Any]:
    started = time.perf_counter()
    error: str | None
    extra: dict[str, Any] | None
    try:
        extra = await asyncio.wait_for(check.probe(), timeout=PROBE_TIMEOUT_S)
    except TimeoutError:
        status, error, extra = "down", f"no answer within {PROBE_TIMEOUT_S:g} s", None
    except Exception as exc:  # a probe failure is data for the report, never a 500
        status, error, extra = "down", type(exc).__name__, None
    else:
        status, error = "up", None
    latency_ms = round((time.perf_counter() - started) * 1000, 2)
    result: dict[str, Any] = {
        "status": status,
        "latency_ms": latency_ms,
        "critical": check.critical,
    }
    if error:
        result["error"] = error
    if extra:
        result.update(extra)
    return result


def verdict(checks: dict[str, dict[str, Any]]) -> Status:
    """Unhealthy if a critical check is down; degraded if anything else is down or slow."""
    if any(c["status"] != "up" and c["critical"] for c in checks.values()):
        return "unhealthy"
    if any(c["status"] != "up" or c["latency_ms"] > SLOW_PROBE_MS for c in checks.values()):
        return "degraded"
    return "healthy"


def _memory_bytes() -> dict[str, int]:
    try:
        with open("/proc/self/statm") as fh:
            pages = fh.read().split()
        page = os.sysconf("SC_PAGE_SIZE")
        return {"rss_bytes": int(pages[1]) * page, "vms_bytes": int(pages[0]) * page}
    except (OSError, ValueError, IndexError):
        import resource

        return {"rss_bytes": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024}


@dataclass
class HealthService:
    """Health, readiness and metrics of this process: every area's probes and reports."""

    settings: Settings
    connections: Connections
    checks: list[HealthCheck] = field(default_factory=list)
    # Named extra sections of the detailed report, one per area that has one.
    reports: dict[str, AreaReport] = field(default_factory=dict)
    # Gauges read from a store just before a scrape (e.g. the rate limiter's active blocks);
    # each catches its own store errors.
    metric_refreshers: list[Callable[[], Awaitable[None]]] = field(default_factory=list)
    started_at: float = field(default_factory=time.time)
    # The monitoring event log and the active users' marks (None in apps built without them).
    events: EventRecorder | None = None
    active_users: ActiveUsers | None = None

    def index(self) -> dict[str, Any]:
        """Name, version, where the docs are, and which backend serves each concern."""
        return {
            "name": self.settings.app_name,
            "version": __version__,
            "docs": "/docs",
            "openapi": "/openapi.json",
            "health": "/health",
            "backends": backends_in_use(self.settings),
        }

    async def check_health(self) -> dict[str, Any]:
        """Run every probe concurrently and report."""
        results = await asyncio.gather(*(_run_check(c) for c in self.checks))
        checks = {c.name: r for c, r in zip(self.checks, results, strict=True)}
        return {
            "status": verdict(checks),
            "timestamp": datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
            "version": __version__,
            "environment": self.settings.environment,
            "uptime_s": round(time.time() - self.started_at, 1),
            "checks": checks,
        }

    async def check_ready(self) -> tuple[bool, dict[str, Any]]:
        """Ready once migrations ran and every critical store answers."""
        report = await self.check_health()
        critical_down = [
            n for n, c in report["checks"].items() if c["critical"] and c["status"] != "up"
        ]
        migrated = self.connections.migrations_applied
        ok = migrated and not critical_down
        body = {
            "status": "ready" if ok else "not_ready",
            "migrations_applied": migrated,
            "failing": critical_down,
        }
        return ok, body

    async def check_health_detailed(self) -> dict[str, Any]:
        """The health report plus pool, disk and memory figures for operators."""
        report = await self.check_health()
        db_file = sqlite_path(self.settings.database_url)
        disk_dir = (db_file.parent if db_file else Path.cwd()).resolve()
        usage = shutil.disk_usage(disk_dir)
        report["pools"] = self.connections.pool_stats()
        report["disk"] = {
            "path": str(disk_dir),
            "total_bytes": usage.total,
            "free_bytes": usage.free,
            "used_percent": round(100 * (usage.total - usage.free) / usage.total, 1),
        }
        report["memory"] = _memory_bytes()
        report["process"] = {"pid": os.getpid()}
        for name, area_report in self.reports.items():
            report[name] = area_report()
        return report

    async def refresh_metrics(self) -> None:
        """Set the pool gauges, `active_users_total` and the store-read gauges (before a
        scrape)."""
        pools = self.connections.pool_stats()
        set_pool_gauges(database=pools["database"], redis=pools.get("redis"))
        if self.active_users is not None:
            await self.active_users.refresh_gauge()
        for refresh in self.metric_refreshers:
            await refresh()

    async def list_events(
        self,
        *,
        trace_id: str | None = None,
        event_type: str | None = None,
        user_id: str | None = None,
        since: datetime | None = None,
        limit: int = 100,
    ) -> list[MonitoringEvent]:
        """Recorded monitoring events matching every filter given, newest first."""
        if self.events is None:
            return []
        if since is not None and since.tzinfo is None:
            since = since.replace(tzinfo=UTC)  # a time without a zone is read as UTC
        query = EventQuery(
            trace_id=trace_id,
            type=event_type,
            user_id=user_id,
            since=None if since is None else since.timestamp(),
            limit=limit,
        )
        return await self.events.query(query)
