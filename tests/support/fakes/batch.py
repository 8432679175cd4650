"""Batch jobs and their items in process memory (unit tests and the contract suite's reference)."""

from __future__ import annotations

import copy
from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta
from typing import Any

from app.batch.repository import (
    BATCH_ACTIVE,
    BATCH_FINAL,
    BacklogFullError,
    BatchItemOutcome,
    BatchItemRecord,
    BatchJobRecord,
    BatchStats,
    NewBatchItem,
    NewBatchJob,
    queued_job_record,
)


@dataclass
class _Job:
    record: BatchJobRecord
    items: list[BatchItemRecord] = field(default_factory=list)
    seq: int = 0


class MemoryBatchJobRepository:
    """Every method runs without an await between its check and its write: one event loop makes
    each of them atomic."""

    def __init__(self) -> None:
        self._jobs: dict[str, _Job] = {}
        self._seq = 0

    @staticmethod
    def _item_copy(item: BatchItemRecord) -> BatchItemRecord:
        return replace(
            item,
            input=copy.deepcopy(item.input),
            result=copy.deepcopy(item.result),
        )

    def _running_under(self, job_id: str, worker_id: str) -> _Job | None:
        job = self._jobs.get(job_id)
        if job is None or job.record.status != "running" or job.record.lease_owner != worker_id:
            return None
        return job

    async def create(
        self, job: NewBatchJob, *, max_active: int
    ) -> tuple[BatchJobRecord, bool] | None:
        owned = [j.record for j in self._jobs.values() if j.record.owner_id == job.owner_id]
        if job.idempotency_key is not None:
            for record in owned:
                if record.idempotency_key == job.idempotency_key:
                    return record, False
        if sum(1 for r in owned if r.status in BATCH_ACTIVE) >= max_active:
            return None
        record = queued_job_record(job)
        items = [
            BatchItemRecord(
                job_id=job.id,
                position=position,
                ref=item.ref,
                input=copy.deepcopy(item.input),
                status="pending",
                result=None,
                error_code=None,
                error_message=None,
                attempts=0,
                finished_at=None,
            )
            for position, item in enumerate(job.items)
        ]
        self._seq += 1
        self._jobs[job.id] = _Job(record, items, self._seq)
        return record, True

    async def create_streamed(
        self,
        job: NewBatchJob,
        chunks: AsyncIterator[Sequence[NewBatchItem]],
        *,
        max_active: int,
        max_items: int,
        max_backlog: int,
    ) -> BatchJobRecord | None:
        owned = [j.record for j in self._jobs.values() if j.record.owner_id == job.owner_id]
        if sum(1 for r in owned if r.status in BATCH_ACTIVE) >= max_active:
            return None
        # Gathered first and stored at the end: an error on the way stores nothing.
        items: list[NewBatchItem] = []
        async for chunk in chunks:
            if len(items) + len(chunk) > max_items:
                raise ValueError(f"more than {max_items} items")
            items.extend(chunk)
        waiting = await self.backlog() + len(items)
        if waiting > max_backlog:
            raise BacklogFullError(backlog=waiting, limit=max_backlog)
        stored = await self.create(replace(job, items=items), max_active=max_active)
        assert stored is not None  # nothing awaited in between: the count above still holds
        return stored[0]

    async def backlog(self) -> int:
        return sum(
            j.record.total - j.record.processed
            for j in self._jobs.values()
            if j.record.status in BATCH_ACTIVE
        )

    async def items_after(
        self, job_id: str, *, statuses: Sequence[str] | None, after: int, limit: int
    ) -> list[BatchItemRecord]:
        job = self._jobs.get(job_id)
        if job is None:
            return []
        chosen = [
            i
            for i in job.items
            if i.position > after and (statuses is None or i.status in statuses)
        ]
        return [self._item_copy(i) for i in chosen[:limit]]

    async def stats(self, *, owner_id: str | None) -> BatchStats:
        records = [
            j.record
            for j in self._jobs.values()
            if owner_id is None or j.record.owner_id == owner_id
        ]
        by_status: dict[str, int] = {}
        for r in records:
            by_status[r.status] = by_status.get(r.status, 0) + 1
        timed = [
            r
            for r in records
            if r.status in BATCH_FINAL and r.started_at is not None and r.finished_at is not None
        ]
        return BatchStats(
            by_status=by_status,
            total_items=sum(r.total for r in records),
            processed=sum(r.processed for r in records),
            succeeded=sum(r.succeeded for r in records),
            failed=sum(r.failed for r in records),
            timed_jobs=len(timed),
            timed_seconds=sum(_run_seconds(r) for r in timed),
            timed_items=sum(r.processed for r in timed),
        )

    async def get(self, job_id: str) -> BatchJobRecord | None:
        job = self._jobs.get(job_id)
        return None if job is None else job.record

    async def list_by_owner(
        self, owner_id: str, *, status: str | None, limit: int, offset: int
    ) -> list[BatchJobRecord]:
        jobs = [
            j
            for j in self._jobs.values()
            if j.record.owner_id == owner_id and (status is None or j.record.status == status)
        ]
        jobs.sort(key=lambda j: (j.record.created_at, j.seq), reverse=True)
        return [j.record for j in jobs[offset : offset + limit]]

    async def items(
        self, job_id: str, *, status: str | None, limit: int, offset: int
    ) -> list[BatchItemRecord]:
        job = self._jobs.get(job_id)
        if job is None:
            return []
        chosen = [i for i in job.items if status is None or i.status == status]
        return [self._item_copy(i) for i in chosen[offset : offset + limit]]

    async def transition(
        self, job_id: str, *, allowed_from: Sequence[str], to: str, now: datetime
    ) -> BatchJobRecord | None:
        job = self._jobs.get(job_id)
        if job is None or job.record.status not in allowed_from:
            return None
        changes: dict[str, Any] = {
            "status": to,
            "lease_owner": None,
            "lease_expires_at": None,
            "updated_at": now,
        }
        if to == "cancelled":
            self._cancel_pending(job, now)
            changes["finished_at"] = now
        job.record = replace(job.record, **changes)
        return job.record

    @staticmethod
    def _cancel_pending(job: _Job, now: datetime) -> None:
        job.items = [
            replace(i, status="cancelled", finished_at=now) if i.status == "pending" else i
            for i in job.items
        ]

    async def claim(
        self, *, worker_id: str, now: datetime, lease_s: float
    ) -> BatchJobRecord | None:
        def runnable(job: _Job) -> bool:
            record = job.record
            if record.status == "queued":
                return True
            return (
                record.status == "running"
                and record.lease_expires_at is not None
                and record.lease_expires_at <= now
            )

        candidates = sorted(
            (j for j in self._jobs.values() if runnable(j)),
            key=lambda j: (j.record.created_at, j.seq),
        )
        if not candidates:
            return None
        job = candidates[0]
        job.record = replace(
            job.record,
            status="running",
            lease_owner=worker_id,
            lease_expires_at=now + timedelta(seconds=lease_s),
            started_at=job.record.started_at or now,
            run_started_at=now,
            run_processed_at_start=job.record.processed,
            updated_at=now,
        )
        return job.record

    async def next_pending(self, job_id: str, *, limit: int) -> list[BatchItemRecord]:
        job = self._jobs.get(job_id)
        if job is None:
            return []
        pending = [i for i in job.items if i.status == "pending"]
        return [self._item_copy(i) for i in pending[:limit]]

    async def heartbeat(
        self, job_id: str, *, worker_id: str, now: datetime, lease_s: float
    ) -> bool:
        job = self._running_under(job_id, worker_id)
        if job is None:
            return False
        job.record = replace(job.record, lease_expires_at=now + timedelta(seconds=lease_s))
        return True

    async def record(
        self,
        job_id: str,
        *,
        worker_id: str,
        outcomes: Sequence[BatchItemOutcome],
        now: datetime,
        lease_s: float,
    ) -> BatchJobRecord | None:
        job = self._running_under(job_id, worker_id)
        if job is None:
            return None
        succeeded = failed = 0
        by_position = {o.position: o for o in outcomes}
        items = []
        for item in job.items:
            outcome = by_position.get(item.position)
            if outcome is not None and item.status == "pending":
                if outcome.succeeded:
                    succeeded += 1
                else:
                    failed += 1
                item = replace(
                    item,
                    status="succeeded" if outcome.succeeded else "failed",
                    result=copy.deepcopy(outcome.result) if outcome.succeeded else None,
                    error_code=outcome.error_code,
                    error_message=outcome.error_message,
                    attempts=item.attempts + outcome.attempts,
                    finished_at=now,
                )
            items.append(item)
        job.items = items
        record = job.record
        changes: dict[str, Any] = {
            "processed": record.processed + succeeded + failed,
            "succeeded": record.succeeded + succeeded,
            "failed": record.failed + failed,
            "lease_expires_at": now + timedelta(seconds=lease_s),
            "updated_at": now,
        }
        if not any(i.status == "pending" for i in items):
            changes.update(
                status="completed", finished_at=now, lease_owner=None, lease_expires_at=None
            )
        job.record = replace(record, **changes)
        return job.record

    async def mark_attempted(
        self,
        job_id: str,
        *,
        worker_id: str,
        positions: Sequence[int],
        now: datetime,
        lease_s: float,
    ) -> bool:
        job = self._running_under(job_id, worker_id)
        if job is None:
            return False
        job.record = replace(
            job.record, lease_expires_at=now + timedelta(seconds=lease_s), updated_at=now
        )
        wanted = set(positions)
        job.items = [
            replace(item, attempts=item.attempts + 1)
            if item.position in wanted and item.status == "pending"
            else item
            for item in job.items
        ]
        return True

    async def release(self, job_id: str, *, worker_id: str, now: datetime) -> bool:
        job = self._running_under(job_id, worker_id)
        if job is None:
            return False
        job.record = replace(
            job.record, status="queued", lease_owner=None, lease_expires_at=None, updated_at=now
        )
        return True

    async def fail(self, job_id: str, *, worker_id: str, error: str, now: datetime) -> bool:
        job = self._running_under(job_id, worker_id)
        if job is None:
            return False
        self._cancel_pending(job, now)
        job.record = replace(
            job.record,
            status="failed",
            error=error,
            finished_at=now,
            lease_owner=None,
            lease_expires_at=None,
            updated_at=now,
        )
        return True

    async def delete(self, job_id: str, *, statuses: Sequence[str]) -> bool:
        job = self._jobs.get(job_id)
        if job is None or job.record.status not in statuses:
            return False
        del self._jobs[job_id]
        return True

    async def purge_finished(self, *, before: datetime, batch: int = 1000) -> int:
        gone = [
            job_id
            for job_id, job in self._jobs.items()
            if job.record.status in BATCH_FINAL
            and job.record.finished_at is not None
            and job.record.finished_at < before
        ][:batch]
        for job_id in gone:
            del self._jobs[job_id]
        return len(gone)


def _run_seconds(record: BatchJobRecord) -> float:
    if record.started_at is None or record.finished_at is None:
        return 0.0
    return max(0.0, (record.finished_at - record.started_at).total_seconds())
