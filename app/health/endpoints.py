"""Health, readiness, liveness, metrics and the service index."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query
from fastapi.responses import JSONResponse, Response

from app.health.dependencies import HealthDep, require_monitoring_access
from app.health.schemas import MonitoringEventList, MonitoringEventRead
from app.platform.events import EventType
from app.platform.metrics import render_latest

router = APIRouter(tags=["health"])


@router.get("/", summary="Service index")
async def index(service: HealthDep) -> dict[str, Any]:
    """Name, version, where the docs are, and which backend serves each concern."""
    return service.index()


@router.get("/ping", summary="Bare liveness answer")
async def ping() -> dict[str, bool]:
    """The cheapest route there is: the baseline of the benchmarks."""
    return {"pong": True}


@router.get("/health", summary="Overall health")
async def health(service: HealthDep) -> JSONResponse:
    """healthy | degraded | unhealthy with per-dependency checks; 503 only when unhealthy."""
    report = await service.check_health()
    return JSONResponse(report, status_code=503 if report["status"] == "unhealthy" else 200)


@router.get("/health/live", summary="Liveness")
async def live() -> dict[str, str]:
    """The process is up and its event loop answers."""
    return {"status": "alive"}


@router.get("/health/ready", summary="Readiness")
async def ready(service: HealthDep) -> JSONResponse:
    """200 once migrations ran and every critical store answers; 503 before."""
    ok, body = await service.check_ready()
    return JSONResponse(body, status_code=200 if ok else 503)


# Shown to allowed callers only: process ids, paths, memory, every route's traffic.
_MONITORING: dict[int | str, dict[str, Any]] = {
    403: {"description": "MONITORING_FORBIDDEN (closed outside development unless allowed)"}
}


@router.get(
    "/health/detailed",
    summary="Detailed health",
    dependencies=[Depends(require_monitoring_access)],
    responses=_MONITORING,
)
async def detailed(service: HealthDep) -> JSONResponse:
    """Health plus pool statistics, disk and memory use."""
    report = await service.check_health_detailed()
    return JSONResponse(report, status_code=503 if report["status"] == "unhealthy" else 200)


@router.get(
    "/metrics",
    summary="Prometheus metrics",
    response_class=Response,
    dependencies=[Depends(require_monitoring_access)],
    responses=_MONITORING,
)
async def metrics(service: HealthDep) -> Response:
    """Prometheus text exposition (aggregated across workers in multiprocess mode)."""
    await service.refresh_metrics()
    payload, content_type = render_latest()
    return Response(payload, media_type=content_type)


@router.get(
    "/api/monitoring/events",
    summary="Monitoring event log",
    response_model=MonitoringEventList,
    dependencies=[Depends(require_monitoring_access)],
    responses={
        **_MONITORING,
        503: {"description": "REDIS_UNAVAILABLE: the shared event log could not be read"},
    },
)
async def monitoring_events(
    service: HealthDep,
    trace_id: Annotated[str | None, Query(min_length=1, max_length=128)] = None,
    type: Annotated[EventType | None, Query()] = None,
    user_id: Annotated[str | None, Query(min_length=1, max_length=128)] = None,
    since: Annotated[datetime | None, Query(description="ISO 8601 or Unix seconds")] = None,
    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
) -> MonitoringEventList:
    """Recent problem answers, rate-limit rejections, failed logins and blocks, newest first;
    `trace_id` is the `trace_id` of a problem body (the request id)."""
    events = await service.list_events(
        trace_id=trace_id, event_type=type, user_id=user_id, since=since, limit=limit
    )
    return MonitoringEventList(items=[MonitoringEventRead.of(e) for e in events], count=len(events))
