"""Batch jobs: queue bulk regulatory work, follow its progress, pause / resume / cancel it, and
read each item's result (docs/batch.md). Every route needs a user; others' jobs are 404."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Body, Header, Path, Query, Response, status
from fastapi.responses import JSONResponse

from app.batch.dependencies import BatchDep
from app.batch.schemas import (
    BatchItemList,
    BatchItemRead,
    BatchJobCreate,
    BatchJobList,
    BatchJobRead,
    ItemStatus,
    JobStatus,
)
from app.platform.dependencies import CurrentUser, SettingsDep
from app.platform.idempotency import check_key
from app.platform.sse import EventStreamResponse

router = APIRouter(prefix="/api/batch", tags=["batch"])

JobId = Annotated[str, Path(min_length=1, max_length=64)]
Limit = Annotated[int, Query(ge=1, le=500)]
Offset = Annotated[int, Query(ge=0, le=1_000_000)]
_NOT_FOUND: dict[int | str, dict[str, Any]] = {
    401: {"description": "No or bad credentials (problem body)"},
    404: {"description": "BATCH_JOB_NOT_FOUND: no such job, or not yours"},
}
_STATE: dict[int | str, dict[str, Any]] = {
    **_NOT_FOUND,
    409: {"description": "BATCH_JOB_STATE: not possible in the job's current status"},
}


@router.post(
    "/jobs",
    status_code=status.HTTP_202_ACCEPTED,
    summary="Queue a batch job",
    response_model=BatchJobRead,
    responses={
        200: {"description": "Replayed: the job this Idempotency-Key created before"},
        400: {"description": "Validation error, e.g. too many items (problem body)"},
        401: {"description": "No or bad credentials (problem body)"},
        422: {"description": "IDEMPOTENCY_KEY_REUSED: the key was used for another job"},
        429: {"description": "BATCH_ACTIVE_LIMIT, or the route's rate limit"},
    },
)
async def create_job(
    body: Annotated[BatchJobCreate, Body()],
    principal: CurrentUser,
    batch: BatchDep,
    idempotency_key: Annotated[
        str | None,
        Header(
            alias="Idempotency-Key",
            max_length=1000,
            description="Same key + same body → the job created the first time (no new job).",
        ),
    ] = None,
) -> JSONResponse:
    """Queue items for a worker; follow the job at `Location` or its `/events` stream."""
    record, created = await batch.create(
        principal=principal, body=body, idempotency_key=check_key(idempotency_key)
    )
    headers = {"Location": f"/api/batch/jobs/{record.id}"}
    if not created:
        headers["Idempotent-Replayed"] = "true"
    return JSONResponse(
        batch.read(record).model_dump(mode="json"),
        status_code=status.HTTP_202_ACCEPTED if created else status.HTTP_200_OK,
        headers=headers,
    )


@router.get("/jobs", summary="List your batch jobs", responses=_NOT_FOUND)
async def list_jobs(
    principal: CurrentUser,
    batch: BatchDep,
    status_filter: Annotated[JobStatus | None, Query(alias="status")] = None,
    limit: Limit = 50,
    offset: Offset = 0,
) -> BatchJobList:
    """Your jobs, newest first, optionally of one status."""
    records = await batch.list(
        principal=principal, status=status_filter, limit=limit, offset=offset
    )
    return BatchJobList(items=[batch.read(r) for r in records], limit=limit, offset=offset)


@router.get("/jobs/{job_id}", summary="Get a batch job", responses=_NOT_FOUND)
async def get_job(job_id: JobId, principal: CurrentUser, batch: BatchDep) -> BatchJobRead:
    """Status, counts, progress, rate and ETA."""
    return batch.read(await batch.get_or_raise(job_id=job_id, principal=principal))


@router.get("/jobs/{job_id}/items", summary="A batch job's items", responses=_NOT_FOUND)
async def list_items(
    job_id: JobId,
    principal: CurrentUser,
    batch: BatchDep,
    status_filter: Annotated[ItemStatus | None, Query(alias="status")] = None,
    limit: Limit = 100,
    offset: Offset = 0,
) -> BatchItemList:
    """Items by position, with their results or errors; `?status=failed` to see what to redo."""
    records = await batch.items(
        job_id=job_id, principal=principal, status=status_filter, limit=limit, offset=offset
    )
    return BatchItemList(
        job_id=job_id, items=[BatchItemRead.of(r) for r in records], limit=limit, offset=offset
    )


@router.post("/jobs/{job_id}/pause", summary="Pause a batch job", responses=_STATE)
async def pause_job(job_id: JobId, principal: CurrentUser, batch: BatchDep) -> BatchJobRead:
    """Stop handing out items (queued or running jobs); items in flight are redone on resume."""
    return batch.read(await batch.pause(job_id=job_id, principal=principal))


@router.post("/jobs/{job_id}/resume", summary="Resume a batch job", responses=_STATE)
async def resume_job(job_id: JobId, principal: CurrentUser, batch: BatchDep) -> BatchJobRead:
    """Queue a paused job again; it carries on with its pending items."""
    return batch.read(await batch.resume(job_id=job_id, principal=principal))


@router.post("/jobs/{job_id}/cancel", summary="Cancel a batch job", responses=_STATE)
async def cancel_job(job_id: JobId, principal: CurrentUser, batch: BatchDep) -> BatchJobRead:
    """Finish an unfinished job now: pending items are cancelled, outcomes so far kept."""
    return batch.read(await batch.cancel(job_id=job_id, principal=principal))


@router.delete(
    "/jobs/{job_id}",
    status_code=status.HTTP_204_NO_CONTENT,
    summary="Delete a batch job",
    responses=_STATE,
)
async def delete_job(job_id: JobId, principal: CurrentUser, batch: BatchDep) -> Response:
    """Remove a finished job and its items (cancel an unfinished one first)."""
    await batch.delete(job_id=job_id, principal=principal)
    return Response(status_code=status.HTTP_204_NO_CONTENT)


@router.get(
    "/jobs/{job_id}/events",
    summary="A batch job's progress (SSE)",
    responses={
        200: {
            "description": "text/event-stream: `progress` events {type, job} as the job "
            "moves, then `done` {type, job} once it is finished, then `data: [DONE]`",
            "content": {"text/event-stream": {}},
        },
        **_NOT_FOUND,
    },
)
async def job_events(
    job_id: JobId, principal: CurrentUser, batch: BatchDep, settings: SettingsDep
) -> EventStreamResponse:
    """Live progress until the job finishes; closing the stream does not affect the job."""
    events = await batch.watch(job_id=job_id, principal=principal)
    return EventStreamResponse(events, keepalive_s=settings.sse_keepalive_s)
