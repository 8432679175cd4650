"""Health, readiness, liveness, metrics and the service index."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter
from fastapi.responses import JSONResponse, Response

from app import __version__
from app.deps import ResourcesDep
from app.health.service import check_health, check_health_detailed
from app.platform.metrics import DB_POOL_CONNECTIONS, REDIS_POOL_CONNECTIONS, render_latest
from app.platform.storage.redis.client import redis_pool_stats
from app.platform.storage.sql.engine import pool_stats
from app.regulatory.factory import backends_in_use

router = APIRouter(tags=["health"])


@router.get("/", summary="Service index")
async def index(resources: ResourcesDep) -> dict[str, Any]:
    """Name, version, where the docs are, and which backend serves each concern."""
    settings = resources.settings
    return {
        "name": settings.app_name,
        "version": __version__,
        "docs": "/docs",
        "openapi": "/openapi.json",
        "health": "/health",
        "backends": backends_in_use(settings),
    }


@router.get("/ping", summary="Bare liveness answer")
async def ping() -> dict[str, bool]:
    """The cheapest route there is: the baseline of the benchmarks."""
    return {"pong": True}


@router.get("/health", summary="Overall health")
async def health(resources: ResourcesDep) -> JSONResponse:
    """healthy | degraded | unhealthy with per-dependency checks; 503 only when unhealthy."""
    report = await check_health(resources=resources)
    return JSONResponse(report, status_code=503 if report["status"] == "unhealthy" else 200)


@router.get("/health/live", summary="Liveness")
async def live() -> dict[str, str]:
    """The process is up and its event loop answers."""
    return {"status": "alive"}


@router.get("/health/ready", summary="Readiness")
async def ready(resources: ResourcesDep) -> JSONResponse:
    """200 once migrations ran and every critical store answers; 503 before."""
    report = await check_health(resources=resources)
    critical_down = [
        n for n, c in report["checks"].items() if c["critical"] and c["status"] != "up"
    ]
    ok = resources.migrations_applied and not critical_down
    body = {
        "status": "ready" if ok else "not_ready",
        "migrations_applied": resources.migrations_applied,
        "failing": critical_down,
    }
    return JSONResponse(body, status_code=200 if ok else 503)


@router.get("/health/detailed", summary="Detailed health")
async def detailed(resources: ResourcesDep) -> JSONResponse:
    """Health plus pool statistics, disk and memory use."""
    report = await check_health_detailed(resources=resources)
    return JSONResponse(report, status_code=503 if report["status"] == "unhealthy" else 200)


@router.get("/metrics", summary="Prometheus metrics", response_class=Response)
async def metrics(resources: ResourcesDep) -> Response:
    """Prometheus text exposition (aggregated across workers in multiprocess mode)."""
    for state, value in pool_stats(resources.engine).items():
        DB_POOL_CONNECTIONS.labels(state).set(value)
    if resources.redis is not None:
        stats = redis_pool_stats(resources.redis)
        REDIS_POOL_CONNECTIONS.labels("in_use").set(stats["in_use"])
        REDIS_POOL_CONNECTIONS.labels("idle").set(stats["idle"])
    payload, content_type = render_latest()
    return Response(payload, media_type=content_type)
