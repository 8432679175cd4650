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
from app.regulatory.service import ClassifyRequest, PurposeRequest

# A hard ceiling for the schema; BATCH_MAX_ITEMS (≤ this) is the configured limit.
ITEMS_CEILING = 10_000
JobStatus = Literal["queued", "running", "paused", "completed", "cancelled", "failed"]
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


BatchJobCreate = Annotated[ClassifyJobCreate | PurposeJobCreate, Field(discriminator="kind")]


# Statuses in which the items without an outcome were cancelled.
_STOPPED = frozenset({"cancelled", "failed"})


class BatchJobRead(BaseModel):
    """A job and its progress. `rate_per_s` and `eta_s` describe the current run (null before
    it has processed anything, and once the job is finished)."""

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "id": "job_3f9c0a6d1e2b4c5d8e7f6a1b",
                    "kind": "classify",
                    "name": "Spring catalogue",
                    "status": "running",
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

    id: str
    kind: str
    name: str | None
    status: JobStatus
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
        cls, record: BatchJobRecord, *, rate_per_s: float | None, eta_s: float | None
    ) -> BatchJobRead:
        """The API view of a stored job with its current rate and ETA."""
        cancelled = record.total - record.processed if record.status in _STOPPED else 0
        return cls(
            id=record.id,
            kind=record.kind,
            name=record.name,
            status=record.status,
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
