"""Request and response bodies of batch jobs (docs/batch.md).

A job's items are the bodies of the regulatory endpoint its `kind` names (camelCase or
snake_case, as there), each with an optional `ref` of the client's own; an item's `result` is
exactly what that endpoint answers. Everything else here is snake_case, like the other
non-regulatory APIs. Timestamps are ISO 8601 in UTC.
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from app.batch.repository import BatchItemRecord, BatchJobRecord
from app.regulatory.service import (
    ClassifyRequest,
    PurposeRequest,
    RefineRequest,
    StandardsRequest,
)

# A hard ceiling for the schema; BATCH_MAX_ITEMS (≤ this) is the configured limit.
ITEMS_CEILING = 10_000
# A job's status as the API shows it: the seed's vocabulary, where a job waiting for a worker
# is `pending` (stored as `queued`; docs/batch.md "States").
JobStatus = Literal["pending", "running", "paused", "completed", "cancelled", "failed"]
# What `?status=` accepts: the above, and `queued`, the name this API used before for `pending`.
JobStatusFilter = Literal[
    "pending", "queued", "running", "paused", "completed", "cancelled", "failed"
]
ItemStatus = Literal["pending", "succeeded", "failed", "cancelled"]
Ref = Annotated[
    str | None,
    Field(
        default=None,
        min_length=1,
        max_length=200,
        description="Your own reference for the item (e.g. a SKU); echoed in its result.",
    ),
]


class ClassifyItem(ClassifyRequest):
    """One concept to classify: the body of `POST /api/classify`, plus your `ref`."""

    model_config = ConfigDict(extra="forbid")

    ref: Ref


class PurposeItem(PurposeRequest):
    """One concept and category: the body of `POST /api/purpose`, plus your `ref`."""

    model_config = ConfigDict(extra="forbid")

    ref: Ref


class StandardsItem(StandardsRequest):
    """One classified product and category: the body of `POST /api/standards`, plus `ref`."""

    model_config = ConfigDict(extra="forbid")

    ref: Ref


class RefineItem(RefineRequest):
    """A change to one of your plans: the body of `POST /api/refine`, plus your `ref`."""

    model_config = ConfigDict(extra="forbid")

    ref: Ref


class _JobCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: str | None = Field(
        default=None, min_length=1, max_length=200, description="A label for your own lists."
    )


class ClassifyJobCreate(_JobCreate):
    """Classify many concepts (e.g. a whole product catalogue)."""

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "kind": "classify",
                    "name": "Spring catalogue",
                    "items": [
                        {"ref": "SKU-1", "concept": "CT 영상에서 폐결절을 검출하는 AI 소프트웨어"},
                        {"ref": "SKU-2", "concept": "Step counter app for daily fitness goals"},
                    ],
                }
            ]
        }
    )

    kind: Literal["classify"]
    items: list[ClassifyItem] = Field(min_length=1, max_length=ITEMS_CEILING)


class PurposeJobCreate(_JobCreate):
    """Write the intended purpose of many concepts in their categories."""

    kind: Literal["purpose"]
    items: list[PurposeItem] = Field(min_length=1, max_length=ITEMS_CEILING)


class StandardsJobCreate(_JobCreate):
    """Plan the regulatory route of many classified products (plans stored as yours)."""

    kind: Literal["standards"]
    items: list[StandardsItem] = Field(min_length=1, max_length=ITEMS_CEILING)


class RefineJobCreate(_JobCreate):
    """Change many of your stored plans (each change stored as the plan's next version)."""

    kind: Literal["refine"]
    items: list[RefineItem] = Field(min_length=1, max_length=ITEMS_CEILING)


BatchJobCreate = Annotated[
    ClassifyJobCreate | PurposeJobCreate | StandardsJobCreate | RefineJobCreate,
    Field(discriminator="kind"),
]


# Statuses in which the items without an outcome were cancelled.
_STOPPED = frozenset({"cancelled", "failed"})


def api_status(stored: str) -> JobStatus:
    """The status the API shows for a stored one: `queued` is the seed's `pending`."""
    return "pending" if stored == "queued" else stored  # type: ignore[return-value]


def stored_status(requested: str) -> str:
    """The stored status a `?status=` filter means: `pending` and `queued` are one state."""
    return "queued" if requested == "pending" else requested


def format_duration(seconds: float | None) -> str | None:
    """A short human duration, as the seed shows it: `45s`, `1m`, `2m 5s`, `1h 3m`."""
    if seconds is None:
        return None
    total = max(0, round(seconds))
    hours, rest = divmod(total, 3600)
    minutes, secs = divmod(rest, 60)
    if hours:
        return f"{hours}h {minutes}m" if minutes else f"{hours}h"
    if minutes:
        return f"{minutes}m {secs}s" if secs else f"{minutes}m"
    return f"{secs}s"


class JobTiming(BaseModel):
    """How long the job has run and how long it still needs (the seed's `timing`)."""

    elapsed_seconds: float = Field(
        description="Seconds since the job started, up to when it finished (0 before it starts)"
    )
    eta_seconds: float | None = Field(
        description="Seconds left at the current run's rate; null when nothing is running"
    )
    eta_formatted: str | None = Field(description="`eta_seconds` for people, e.g. `1m`, `2h 5m`")


class JobStatistics(BaseModel):
    """The job's outcomes so far (the seed's `statistics`)."""

    success_rate: float | None = Field(
        description="succeeded / processed, 0 to 1 (4 decimals); null before any outcome"
    )
    succeeded_items: int
    items_per_second: float | None = Field(description="The current run's rate, or null")


class BatchJobRead(BaseModel):
    """A job and its progress. `rate_per_s` and `eta_s` describe the current run (null before
    it has processed anything, and once the job is finished)."""

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "job_id": "job_3f9c0a6d1e2b4c5d8e7f6a1b",
                    "status": "running",
                    "progress_percent": 42.0,
                    "processed_items": 420,
                    "failed_items": 2,
                    "total_items": 1000,
                    "timing": {
                        "elapsed_seconds": 12.0,
                        "eta_seconds": 16.5,
                        "eta_formatted": "17s",
                    },
                    "statistics": {
                        "success_rate": 0.9952,
                        "succeeded_items": 418,
                        "items_per_second": 35.2,
                    },
                    "id": "job_3f9c0a6d1e2b4c5d8e7f6a1b",
                    "kind": "classify",
                    "name": "Spring catalogue",
                    "total": 1000,
                    "processed": 420,
                    "succeeded": 418,
                    "failed": 2,
                    "cancelled": 0,
                    "progress": 0.42,
                    "rate_per_s": 35.2,
                    "eta_s": 16.5,
                    "error": None,
                    "created_at": "2026-01-15T10:30:00Z",
                    "started_at": "2026-01-15T10:30:01Z",
                    "updated_at": "2026-01-15T10:30:13Z",
                    "finished_at": None,
                }
            ]
        }
    )

    job_id: str = Field(description="The job's id (the seed's name; `id` is the same)")
    status: JobStatus = Field(description="pending, running, paused, completed, cancelled, failed")
    progress_percent: float = Field(description="processed / total × 100, 0 to 100 (1 decimal)")
    processed_items: int = Field(description="Items with an outcome, succeeded or failed")
    failed_items: int
    total_items: int
    timing: JobTiming
    statistics: JobStatistics
    id: str
    kind: str
    name: str | None
    total: int
    processed: int
    succeeded: int
    failed: int
    cancelled: int
    progress: float = Field(description="processed / total, 0 to 1")
    rate_per_s: float | None
    eta_s: float | None
    error: str | None
    created_at: datetime
    started_at: datetime | None
    updated_at: datetime
    finished_at: datetime | None

    @classmethod
    def of(
        cls,
        record: BatchJobRecord,
        *,
        rate_per_s: float | None,
        eta_s: float | None,
        now: datetime,
    ) -> BatchJobRead:
        """The API view of a stored job with its current rate and ETA."""
        cancelled = record.total - record.processed if record.status in _STOPPED else 0
        end = record.finished_at if record.finished_at is not None else now
        elapsed = 0.0
        if record.started_at is not None:
            elapsed = round(max(0.0, (end - record.started_at).total_seconds()), 1)
        rate = None
        if record.processed:
            rate = round(record.succeeded / record.processed, 4)
        return cls(
            job_id=record.id,
            status=api_status(record.status),
            progress_percent=round(100 * record.processed / record.total, 1)
            if record.total
            else 100.0,
            processed_items=record.processed,
            failed_items=record.failed,
            total_items=record.total,
            timing=JobTiming(
                elapsed_seconds=elapsed, eta_seconds=eta_s, eta_formatted=format_duration(eta_s)
            ),
            statistics=JobStatistics(
                success_rate=rate, succeeded_items=record.succeeded, items_per_second=rate_per_s
            ),
            id=record.id,
            kind=record.kind,
            name=record.name,
            total=record.total,
            processed=record.processed,
            succeeded=record.succeeded,
            failed=record.failed,
            cancelled=cancelled,
            progress=round(record.processed / record.total, 4) if record.total else 1.0,
            rate_per_s=rate_per_s,
            eta_s=eta_s,
            error=record.error,
            created_at=record.created_at,
            started_at=record.started_at,
            updated_at=record.updated_at,
            finished_at=record.finished_at,
        )


class BatchJobList(BaseModel):
    """A page of your jobs, newest first."""

    items: list[BatchJobRead]
    limit: int
    offset: int


class ItemError(BaseModel):
    """Why an item failed: an error code of docs/errors.md and its message."""

    code: str
    message: str


class BatchItemRead(BaseModel):
    """One item: its input, and its result (the endpoint's body) or its error."""

    position: int
    ref: str | None
    status: ItemStatus
    input: dict[str, Any]
    result: dict[str, Any] | None
    error: ItemError | None
    attempts: int
    finished_at: datetime | None

    @classmethod
    def of(cls, record: BatchItemRecord) -> BatchItemRead:
        """The API view of a stored item."""
        error = None
        if record.error_code is not None:
            error = ItemError(code=record.error_code, message=record.error_message or "")
        return cls(
            position=record.position,
            ref=record.ref,
            status=record.status,
            input=record.input,
            result=record.result,
            error=error,
            attempts=record.attempts,
            finished_at=record.finished_at,
        )


class BatchItemList(BaseModel):
    """A page of a job's items, by position."""

    job_id: str
    items: list[BatchItemRead]
    limit: int
    offset: int


ResultOutcome = Literal["succeeded", "failed", "cancelled", "pending"]


class BatchResultRead(BaseModel):
    """One item's outcome, flat (the seed's result rows): `success` is null until it has one."""

    item_id: int = Field(description="The item's position in the job, from 0")
    ref: str | None
    status: ItemStatus
    success: bool | None
    result: dict[str, Any] | None
    error_code: str | None
    error_message: str | None
    attempts: int
    finished_at: datetime | None

    @classmethod
    def of(cls, record: BatchItemRecord) -> BatchResultRead:
        """The result row of a stored item."""
        success = (
            None if record.status in ("pending", "cancelled") else record.status == "succeeded"
        )
        return cls(
            item_id=record.position,
            ref=record.ref,
            status=record.status,
            success=success,
            result=record.result,
            error_code=record.error_code,
            error_message=record.error_message,
            attempts=record.attempts,
            finished_at=record.finished_at,
        )


class BatchResultList(BaseModel):
    """A page of a job's results by position, with the job's progress beside them."""

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "job_id": "job_3f9c0a6d1e2b4c5d8e7f6a1b",
                    "status": "running",
                    "total_items": 100,
                    "processed_items": 65,
                    "failed_items": 1,
                    "results": [
                        {
                            "item_id": 0,
                            "ref": "SKU-1",
                            "status": "succeeded",
                            "success": True,
                            "result": {"isMedicalDevice": True, "riskClass": "2"},
                            "error_code": None,
                            "error_message": None,
                            "attempts": 1,
                            "finished_at": "2026-01-15T10:30:02Z",
                        }
                    ],
                    "limit": 100,
                    "offset": 0,
                }
            ]
        }
    )

    job_id: str
    status: JobStatus
    total_items: int
    processed_items: int
    failed_items: int
    results: list[BatchResultRead]
    limit: int
    offset: int


class StatusCount(BaseModel):
    """How many jobs are in each status (every status listed, 0 when none)."""

    pending: int = 0
    running: int = 0
    paused: int = 0
    completed: int = 0
    cancelled: int = 0
    failed: int = 0


class BatchStatsRead(BaseModel):
    """Totals over the caller's jobs (`scope=mine`) or, for an admin, everyone's (`scope=all`)."""

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "scope": "mine",
                    "total_jobs": 7,
                    "jobs_by_status": {
                        "pending": 1,
                        "running": 1,
                        "paused": 0,
                        "completed": 4,
                        "cancelled": 1,
                        "failed": 0,
                    },
                    "total_items": 12000,
                    "processed_items": 10500,
                    "succeeded_items": 10410,
                    "failed_items": 90,
                    "success_rate": 0.9914,
                    "items_per_second": 812.4,
                    "average_duration_seconds": 14.2,
                }
            ]
        }
    )

    scope: Literal["mine", "all"]
    total_jobs: int
    jobs_by_status: StatusCount
    total_items: int
    processed_items: int
    succeeded_items: int
    failed_items: int
    success_rate: float | None = Field(description="succeeded / processed over these jobs")
    items_per_second: float | None = Field(
        description="Items processed per second of run time over finished jobs"
    )
    average_duration_seconds: float | None = Field(
        description="Mean time from start to finish of the finished jobs that started"
    )
