"""Batch jobs: queue bulk regulatory work, follow its progress, pause / resume / cancel it, and
read each item's result (docs/batch.md). Every route needs a user; others' jobs are 404."""

from __future__ import annotations

import csv
import io
import json
from collections.abc import AsyncIterator
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Body, File, Form, Header, Path, Query, Response, UploadFile, status
from fastapi.responses import JSONResponse, StreamingResponse

from app.batch.dependencies import BatchDep
from app.batch.schemas import (
    BatchItemList,
    BatchItemRead,
    BatchJobCreate,
    BatchJobList,
    BatchJobRead,
    BatchResultList,
    BatchResultRead,
    BatchStatsRead,
    ItemStatus,
    JobStatusFilter,
    ResultOutcome,
    api_status,
    stored_status,
)
from app.batch.uploads import detect_format
from app.platform.dependencies import CurrentUser, SettingsDep
from app.platform.errors import ValidationFailedError
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
    status_filter: Annotated[
        JobStatusFilter | None,
        Query(alias="status", description="One status; `queued` is accepted for `pending`"),
    ] = None,
    limit: Limit = 50,
    offset: Offset = 0,
) -> BatchJobList:
    """Your jobs, newest first, optionally of one status."""
    records = await batch.list(
        principal=principal,
        status=None if status_filter is None else stored_status(status_filter),
        limit=limit,
        offset=offset,
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


_UPLOAD_EXAMPLE_CSV = "ref,concept,context\nSKU-1,CT 영상에서 폐결절을 검출하는 AI 소프트웨어,\n"


@router.post(
    "/jobs/upload",
    status_code=status.HTTP_202_ACCEPTED,
    summary="Queue a batch job from a CSV or JSONL file",
    response_model=BatchJobRead,
    responses={
        400: {
            "description": "VALIDATION_ERROR: a bad row (`details[0].line` names it, 1-based, "
            "the CSV header being line 1), an unknown kind or format, no rows, too many rows. "
            "Nothing is queued."
        },
        401: {"description": "No or bad credentials (problem body)"},
        403: {"description": "PERMISSION_DENIED: an admin-only kind"},
        413: {"description": "PAYLOAD_TOO_LARGE: over BATCH_UPLOAD_MAX_BYTES"},
        429: {"description": "BATCH_ACTIVE_LIMIT, BATCH_BACKLOG_FULL, or the rate limit"},
    },
)
async def upload_job(
    principal: CurrentUser,
    batch: BatchDep,
    kind: Annotated[
        str, Form(min_length=1, max_length=20, description="The job kind, e.g. `classify`")
    ],
    file: Annotated[
        UploadFile,
        File(
            description="CSV with a header row naming the item's fields (e.g. `ref,concept,"
            "context`; an empty cell is an absent field), or JSON Lines (`.jsonl`: one item "
            "object a line). Up to BATCH_UPLOAD_MAX_ITEMS rows. Example CSV: "
            + _UPLOAD_EXAMPLE_CSV.replace("\n", " ⏎ ")
        ),
    ],
    name: Annotated[str | None, Form(min_length=1, max_length=200)] = None,
) -> JSONResponse:
    """Queue one item per row of the file; the rows are validated and stored as they are read,
    all or nothing."""
    fmt = detect_format(file.filename, file.content_type)
    if fmt is None:
        raise ValidationFailedError(
            "Name the file *.csv or *.jsonl (or send it as text/csv or application/x-ndjson).",
            details=[{"field": "file", "message": "CSV or JSONL", "type": "upload_format"}],
        )
    record = await batch.create_from_upload(
        principal=principal, kind=kind, name=name, fmt=fmt, file=file.file
    )
    return JSONResponse(
        batch.read(record).model_dump(mode="json"),
        status_code=status.HTTP_202_ACCEPTED,
        headers={"Location": f"/api/batch/jobs/{record.id}"},
    )


_CSV_COLUMNS = (
    "item_id",
    "ref",
    "status",
    "success",
    "error_code",
    "error_message",
    "attempts",
    "finished_at",
    "result",
)


def _csv_line(values: list[str]) -> str:
    buffer = io.StringIO()
    csv.writer(buffer, lineterminator="\r\n").writerow(values)
    return buffer.getvalue()


def _csv_row(row: BatchResultRead) -> str:
    return _csv_line(
        [
            str(row.item_id),
            row.ref or "",
            row.status,
            "" if row.success is None else str(row.success).lower(),
            row.error_code or "",
            row.error_message or "",
            str(row.attempts),
            "" if row.finished_at is None else row.finished_at.isoformat(),
            "" if row.result is None else json.dumps(row.result, ensure_ascii=False),
        ]
    )


@router.get(
    "/jobs/{job_id}/results",
    summary="A batch job's results (JSON page, or CSV / JSONL download)",
    response_model=BatchResultList,
    responses={
        200: {
            "description": "`format=json` (default): a page of results. `format=csv` / "
            "`format=jsonl`: every result (of the outcome asked), streamed as a download.",
            "content": {"text/csv": {}, "application/x-ndjson": {}},
        },
        400: {"description": "VALIDATION_ERROR: a bad query"},
        **_NOT_FOUND,
    },
)
async def job_results(
    job_id: JobId,
    principal: CurrentUser,
    batch: BatchDep,
    settings: SettingsDep,
    outcome: Annotated[
        list[ResultOutcome] | None,
        Query(description="Only items of these outcomes, e.g. `?outcome=failed` (repeatable)"),
    ] = None,
    fmt: Annotated[Literal["json", "csv", "jsonl"], Query(alias="format")] = "json",
    limit: Limit = 100,
    offset: Offset = 0,
) -> Response:
    """Each item's outcome (`success`, `result` or `error_code` / `error_message`) by
    position; the downloads ignore `limit` / `offset` and hold every matching item."""
    statuses = None if not outcome else sorted(set(outcome))
    if fmt == "json":
        record, rows = await batch.results_page(
            job_id=job_id, principal=principal, statuses=statuses, limit=limit, offset=offset
        )
        page = BatchResultList(
            job_id=record.id,
            status=api_status(record.status),
            total_items=record.total,
            processed_items=record.processed,
            failed_items=record.failed,
            results=rows,
            limit=limit,
            offset=offset,
        )
        return JSONResponse(page.model_dump(mode="json"))
    results = await batch.export(
        job_id=job_id, principal=principal, statuses=statuses, page=settings.batch_export_page
    )

    async def body() -> AsyncIterator[str]:
        if fmt == "csv":
            yield _csv_line(list(_CSV_COLUMNS))
        async for row in results:
            if fmt == "csv":
                yield _csv_row(row)
            else:
                yield row.model_dump_json() + "\n"

    media = "text/csv; charset=utf-8" if fmt == "csv" else "application/x-ndjson"
    return StreamingResponse(
        body(),
        media_type=media,
        headers={"Content-Disposition": f'attachment; filename="{job_id}-results.{fmt}"'},
    )


@router.get(
    "/stats",
    summary="Batch statistics",
    responses={
        401: {"description": "No or bad credentials (problem body)"},
        403: {"description": "PERMISSION_DENIED: `scope=all` by a non-admin"},
    },
)
async def batch_stats(
    principal: CurrentUser,
    batch: BatchDep,
    scope: Annotated[
        Literal["mine", "all"] | None,
        Query(description="`mine`: your jobs; `all`: everyone's (admins; their default)"),
    ] = None,
) -> BatchStatsRead:
    """Jobs by status, items, success rate, items per second and average duration."""
    everyone = principal.is_admin if scope is None else scope == "all"
    return await batch.stats(principal=principal, everyone=everyone)
