"""The batch area's store Protocol and records: jobs, their items and their outcomes."""

from __future__ import annotations

import builtins
from collections.abc import AsyncIterator, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Protocol

# A job's life: queued → running ⇄ paused (resume puts it back to queued) → completed, or
# cancelled / failed at any point before that. A worker runs a job under a lease it renews.
BATCH_ACTIVE = ("queued", "running", "paused")
BATCH_FINAL = ("completed", "cancelled", "failed")


@dataclass(frozen=True, slots=True)
class NewBatchItem:
    """One unit of work of a new job: the client's own reference and the validated input."""

    ref: str | None
    input: dict[str, Any]


@dataclass(frozen=True, slots=True)
class NewBatchJob:
    """A job to store as queued, with its items at positions 0…n-1."""

    id: str
    owner_id: str
    kind: str
    name: str | None
    items: Sequence[NewBatchItem]
    idempotency_key: str | None
    request_hash: str | None
    created_at: datetime


@dataclass(frozen=True, slots=True)
class BatchJobRecord:
    """A stored job. `processed` = `succeeded` + `failed` counts items with an outcome; the run
    fields describe the current run (since the last claim), for the rate and the ETA."""

    id: str
    owner_id: str
    kind: str
    name: str | None
    status: str
    total: int
    processed: int
    succeeded: int
    failed: int
    idempotency_key: str | None
    request_hash: str | None
    lease_owner: str | None
    lease_expires_at: datetime | None
    created_at: datetime
    updated_at: datetime
    started_at: datetime | None
    finished_at: datetime | None
    run_started_at: datetime | None
    run_processed_at_start: int
    error: str | None


def queued_job_record(job: NewBatchJob) -> BatchJobRecord:
    """What a just-created job looks like: queued, nothing done, no lease."""
    return BatchJobRecord(
        id=job.id,
        owner_id=job.owner_id,
        kind=job.kind,
        name=job.name,
        status="queued",
        total=len(job.items),
        processed=0,
        succeeded=0,
        failed=0,
        idempotency_key=job.idempotency_key,
        request_hash=job.request_hash,
        lease_owner=None,
        lease_expires_at=None,
        created_at=job.created_at,
        updated_at=job.created_at,
        started_at=None,
        finished_at=None,
        run_started_at=None,
        run_processed_at_start=0,
        error=None,
    )


@dataclass(frozen=True, slots=True)
class BatchItemRecord:
    """One item of a job; `status` is pending | succeeded | failed | cancelled."""

    job_id: str
    position: int
    ref: str | None
    input: dict[str, Any]
    status: str
    result: dict[str, Any] | None
    error_code: str | None
    error_message: str | None
    attempts: int
    finished_at: datetime | None


@dataclass(frozen=True, slots=True)
class BatchItemOutcome:
    """What a worker made of one pending item: a result, or an error code and message."""

    position: int
    result: dict[str, Any] | None
    error_code: str | None = None
    error_message: str | None = None
    attempts: int = 1

    @property
    def succeeded(self) -> bool:
        """Whether the item has a result."""
        return self.error_code is None


class BacklogFullError(Exception):
    """Storing the job would put more than the allowed items waiting across all jobs."""

    def __init__(self, *, backlog: int, limit: int) -> None:
        super().__init__(f"{backlog} items would be waiting; the limit is {limit}")
        self.backlog = backlog
        self.limit = limit


@dataclass(frozen=True, slots=True)
class BatchStats:
    """Totals over a set of jobs (one owner's, or everyone's)."""

    by_status: Mapping[str, int]
    total_items: int
    processed: int
    succeeded: int
    failed: int
    # Over the finished jobs that had started: how many, their summed run time and items.
    timed_jobs: int
    timed_seconds: float
    timed_items: int


class BatchJobRepository(Protocol):
    """Jobs and their items. Every write that a worker makes is conditional on its lease, so a
    worker that lost its job (paused, cancelled, or taken over after its lease ran out) writes
    nothing; every counter is counted from the item rows actually changed."""

    async def create(
        self, job: NewBatchJob, *, max_active: int
    ) -> tuple[BatchJobRecord, bool] | None:
        """Store the job as queued with its items pending, in one transaction: (job, True).
        When the owner already used `job.idempotency_key`: (that job, False), nothing written.
        None, nothing written, when the owner already has `max_active` jobs queued, running or
        paused (checked atomically with the insert)."""

    async def create_streamed(
        self,
        job: NewBatchJob,
        chunks: AsyncIterator[Sequence[NewBatchItem]],
        *,
        max_active: int,
        max_items: int,
        max_backlog: int,
    ) -> BatchJobRecord | None:
        """Store the job as queued with the items of `chunks` (positions in order), all in ONE
        transaction: an exception raised by `chunks` (a bad row) or more than `max_items` items
        (ValueError) leaves nothing stored. `job.items` is ignored and `job.idempotency_key`
        must be None. None, nothing written, when the owner has `max_active` unfinished jobs;
        BacklogFullError, nothing written, when the items waiting in all unfinished jobs would
        exceed `max_backlog`."""

    async def backlog(self) -> int:
        """Items without an outcome in all queued, running and paused jobs."""

    async def get(self, job_id: str) -> BatchJobRecord | None:
        """The job, or None."""

    async def items_after(
        self, job_id: str, *, statuses: Sequence[str] | None, after: int, limit: int
    ) -> builtins.list[BatchItemRecord]:
        """Up to `limit` of the job's items past position `after` (of `statuses`, if given), by
        position: pages for an export that stay cheap deep into a large job."""

    async def stats(self, *, owner_id: str | None) -> BatchStats:
        """Totals over the owner's jobs, or over every job when `owner_id` is None."""

    async def list_by_owner(
        self, owner_id: str, *, status: str | None, limit: int, offset: int
    ) -> builtins.list[BatchJobRecord]:
        """The owner's jobs (of one status, if given), newest first."""

    async def items(
        self, job_id: str, *, status: str | None, limit: int, offset: int
    ) -> builtins.list[BatchItemRecord]:
        """The job's items (of one status, if given) by position."""

    async def transition(
        self, job_id: str, *, allowed_from: Sequence[str], to: str, now: datetime
    ) -> BatchJobRecord | None:
        """Set the status to `to` if it is one of `allowed_from`, atomically, and clear the lease
        (a worker holding it stops at its next write). To `cancelled`: the pending items become
        cancelled and `finished_at` is set. None when the job is missing or in another status."""

    async def claim(
        self, *, worker_id: str, now: datetime, lease_s: float
    ) -> BatchJobRecord | None:
        """The oldest queued job, or the oldest running one whose lease has expired, now running
        under `worker_id`'s lease until `now + lease_s`; `started_at` set on the first claim, the
        run fields on every claim. None when there is nothing to run. Two workers never get
        the same job from one moment's state."""

    async def next_pending(self, job_id: str, *, limit: int) -> builtins.list[BatchItemRecord]:
        """Up to `limit` pending items, by position."""

    async def heartbeat(
        self, job_id: str, *, worker_id: str, now: datetime, lease_s: float
    ) -> bool:
        """Extend the lease to `now + lease_s` while the job is running under `worker_id`; False
        (nothing written) otherwise."""

    async def record(
        self,
        job_id: str,
        *,
        worker_id: str,
        outcomes: Sequence[BatchItemOutcome],
        now: datetime,
        lease_s: float,
    ) -> BatchJobRecord | None:
        """In one transaction, while the job is running under `worker_id`'s lease: store each
        outcome on its item if that item is still pending, add the items changed to the
        counters, extend the lease; when no item is left pending the job is completed
        (`finished_at` set, lease cleared). None, nothing written, when it is not running under
        that lease. An empty `outcomes` only checks for completion (and renews the lease)."""

    async def mark_attempted(
        self,
        job_id: str,
        *,
        worker_id: str,
        positions: Sequence[int],
        now: datetime,
        lease_s: float,
    ) -> bool:
        """While the job is running under `worker_id`'s lease, add one to `attempts` of each of
        these items that is still pending and extend the lease, in one transaction; False
        (nothing written) otherwise. Written before an item of a kind that must not run twice
        starts: a pending item with attempts > 0 may already have taken effect."""

    async def release(self, job_id: str, *, worker_id: str, now: datetime) -> bool:
        """Put a job running under `worker_id` back to queued with no lease (a worker stopping);
        False when it was not running under that lease."""

    async def fail(self, job_id: str, *, worker_id: str, error: str, now: datetime) -> bool:
        """Mark a job running under `worker_id` failed with `error`; its pending items become
        cancelled. False when it was not running under that lease."""

    async def delete(self, job_id: str, *, statuses: Sequence[str]) -> bool:
        """Remove the job and its items if its status is one of `statuses`; True when removed."""

    async def purge_finished(self, *, before: datetime, batch: int = 1000) -> int:
        """Remove up to `batch` jobs (with their items) that finished before `before`; how many."""
