"""Health of the service: every registered dependency probe, timed, with an overall verdict."""

from __future__ import annotations

import asyncio
import os
import shutil
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Literal

from app import __version__
from app.platform.storage.redis.client import redis_pool_stats
from app.platform.storage.sql.engine import pool_stats, sqlite_path
from app.resources import HealthCheck, Resources

Status = Literal["healthy", "degraded", "unhealthy"]
PROBE_TIMEOUT_S = 2.0
SLOW_PROBE_MS = 500.0


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


async def check_health(*, resources: Resources) -> dict[str, Any]:
    """Run every probe concurrently and report."""
    results = await asyncio.gather(*(_run_check(c) for c in resources.health_checks))
    checks = {c.name: r for c, r in zip(resources.health_checks, results, strict=True)}
    return {
        "status": verdict(checks),
        "timestamp": datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
        "version": __version__,
        "environment": resources.settings.environment,
        "uptime_s": round(time.time() - resources.started_at, 1),
        "checks": checks,
    }


def _memory_bytes() -> dict[str, int]:
    try:
        with open("/proc/self/statm") as fh:
            pages = fh.read().split()
        page = os.sysconf("SC_PAGE_SIZE")
        return {"rss_bytes": int(pages[1]) * page, "vms_bytes": int(pages[0]) * page}
    except (OSError, ValueError, IndexError):
        import resource

        return {"rss_bytes": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024}


async def check_health_detailed(*, resources: Resources) -> dict[str, Any]:
    """The health report plus pool, disk and memory figures for operators."""
    report = await check_health(resources=resources)
    db_file = sqlite_path(resources.settings.database_url)
    disk_dir = (db_file.parent if db_file else Path.cwd()).resolve()
    usage = shutil.disk_usage(disk_dir)
    report["pools"] = {"database": pool_stats(resources.engine)}
    if resources.redis is not None:
        report["pools"]["redis"] = redis_pool_stats(resources.redis)
    report["disk"] = {
        "path": str(disk_dir),
        "total_bytes": usage.total,
        "free_bytes": usage.free,
        "used_percent": round(100 * (usage.total - usage.free) / usage.total, 1),
    }
    report["memory"] = _memory_bytes()
    report["process"] = {"pid": os.getpid()}
    if resources.batch is not None:
        runner = resources.batch.runner
        # Counts only: job ids are their owners' business.
        report["batch"] = {"workers": runner.workers, "jobs_running_here": runner.running}
    return report
