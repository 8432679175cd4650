"""Batch jobs in `batch_jobs` and their items in `batch_items` (SQLite or PostgreSQL)."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator, Sequence
from dataclasses import replace
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import (
    DateTime,
    bindparam,
    delete,
    exists,
    func,
    insert,
    literal,
    select,
    update,
)
from sqlalchemy.engine import RowMapping
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

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
from app.platform.storage.sql.engine import reader
from app.platform.storage.sql.retry import retry_read
from app.platform.storage.sql.tables import batch_items as i
from app.platform.storage.sql.tables import batch_jobs as j
from app.platform.storage.sql.values import aware, dumps, maybe_aware, utc

# How many runnable jobs one SQLite claim looks at before it gives up: BEGIN IMMEDIATE makes the
# first one a sure win, the rest only guard against a writer that bypassed that lock.
_CLAIM_CANDIDATES = 5


def _job(row: RowMapping) -> BatchJobRecord:
    return BatchJobRecord(
        id=row["id"],
        owner_id=row["owner_id"],
        kind=row["kind"],
        name=row["name"],
        status=row["status"],
        total=int(row["total"]),
        processed=int(row["processed"]),
        succeeded=int(row["succeeded"]),
        failed=int(row["failed"]),
        idempotency_key=row["idempotency_key"],
        request_hash=row["request_hash"],
        lease_owner=row["lease_owner"],
        lease_expires_at=maybe_aware(row["lease_expires_at"]),
        created_at=aware(row["created_at"]),
        updated_at=aware(row["updated_at"]),
        started_at=maybe_aware(row["started_at"]),
        finished_at=maybe_aware(row["finished_at"]),
        run_started_at=maybe_aware(row["run_started_at"]),
        run_processed_at_start=int(row["run_processed_at_start"]),
        error=row["error"],
    )


def _item(row: RowMapping) -> BatchItemRecord:
    return BatchItemRecord(
        job_id=row["job_id"],
        position=int(row["position"]),
        ref=row["ref"],
        input=json.loads(row["input"]),
        status=row["status"],
        result=None if row["result"] is None else json.loads(row["result"]),
        error_code=row["error_code"],
        error_message=row["error_message"],
        attempts=int(row["attempts"]),
        finished_at=maybe_aware(row["finished_at"]),
    )


def _running_under(job_id: str, worker_id: str) -> Any:
    # The condition of every worker write: a worker that lost its job matches no row.
    return (j.c.id == job_id) & (j.c.status == "running") & (j.c.lease_owner == worker_id)


def _pending_of(job_id: str) -> Any:
    return (i.c.job_id == job_id) & (i.c.status == "pending")


# An outcome onto one item (executemany; the bind names must differ from the column names).
_RECORD_ITEM = (
    update(i)
    .where(
        i.c.job_id == bindparam("b_job"),
        i.c.position == bindparam("b_position"),
        i.c.status == "pending",
    )
    .values(
        status=bindparam("b_status"),
        result=bindparam("b_result"),
        error_code=bindparam("b_error_code"),
        error_message=bindparam("b_error_message"),
        attempts=i.c.attempts + bindparam("b_attempts"),
        finished_at=bindparam("b_finished_at", type_=DateTime(timezone=True)),
    )
)


class SqlBatchJobRepository:
    """Every worker write is an UPDATE conditional on the lease, and the job row is written
    first in every transaction that also writes items: that row lock (PostgreSQL) or the one
    write lock (SQLite) orders a worker's record against a pause, cancel or takeover."""

    def __init__(self, engine: AsyncEngine) -> None:
        self._engine = engine
        self._postgres = engine.dialect.name == "postgresql"

    async def create(
        self, job: NewBatchJob, *, max_active: int
    ) -> tuple[BatchJobRecord, bool] | None:
        """Store the job and its items in one transaction, or replay, or refuse (see Protocol)."""
        created_at = utc(job.created_at)
        inputs = [dumps(item.input) for item in job.items]
        record = queued_job_record(replace(job, created_at=created_at))
        try:
            async with self._engine.begin() as conn:
                await self._lock_owner(conn, job.owner_id)
                existing = await self._by_key(conn, job.owner_id, job.idempotency_key)
                if existing is not None:
                    return existing, False
                if await self._active_jobs(conn, job.owner_id) >= max_active:
                    return None
                await self._insert_job(conn, record, total=record.total)
                # One executemany: a job may carry 10,000 items.
                await self._insert_items(conn, job.id, 0, job.items, inputs)
        except IntegrityError:
            # The owner lock makes this unreachable for a same-key race; should a concurrent
            # create with the key still win the unique constraint, the caller gets its job.
            async with reader(self._engine).connect() as conn:
                existing = await self._by_key(conn, job.owner_id, job.idempotency_key)
            if existing is None:
                raise
            return existing, False
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
        """Store the job and the items of `chunks` in one transaction (see Protocol)."""
        created_at = utc(job.created_at)
        record = queued_job_record(replace(job, items=(), created_at=created_at))
        async with self._engine.begin() as conn:
            await self._lock_owner(conn, job.owner_id)
            if await self._active_jobs(conn, job.owner_id) >= max_active:
                return None
            await self._insert_job(conn, replace(record, idempotency_key=None), total=0)
            total = 0
            async for chunk in chunks:
                if total + len(chunk) > max_items:
                    raise ValueError(f"more than {max_items} items")
                await self._insert_items(
                    conn, job.id, total, chunk, [dumps(item.input) for item in chunk]
                )
                total += len(chunk)
            # Counted with this job's rows in the same transaction, so two uploads racing each
            # other may both pass on PostgreSQL (READ COMMITTED): the limit is a guard against
            # runaway queues, not an exact quota.
            # This job's row still says total 0: its items are added here.
            waiting = await self._backlog(conn) + total
            if waiting > max_backlog:
                raise BacklogFullError(backlog=waiting, limit=max_backlog)
            await conn.execute(update(j).where(j.c.id == job.id).values(total=total))
        return replace(record, total=total)

    async def _lock_owner(self, conn: AsyncConnection, owner_id: str) -> None:
        # Serialises creations per owner so the active-job count stays true until the insert
        # commits (SQLite's one write lock already does). An advisory lock rather than
        # api_keys' FOR UPDATE on the users row: an owner need not have one (no foreign key).
        if self._postgres:
            await conn.execute(
                select(
                    func.pg_advisory_xact_lock(func.hashtext("batch_jobs"), func.hashtext(owner_id))
                )
            )

    @staticmethod
    async def _active_jobs(conn: AsyncConnection, owner_id: str) -> int:
        active = await conn.execute(
            select(func.count())
            .select_from(j)
            .where(j.c.owner_id == owner_id, j.c.status.in_(BATCH_ACTIVE))
        )
        return int(active.scalar_one())

    @staticmethod
    async def _insert_job(conn: AsyncConnection, record: BatchJobRecord, *, total: int) -> None:
        await conn.execute(
            insert(j).values(
                id=record.id,
                owner_id=record.owner_id,
                kind=record.kind,
                name=record.name,
                status=record.status,
                total=total,
                processed=0,
                succeeded=0,
                failed=0,
                idempotency_key=record.idempotency_key,
                request_hash=record.request_hash,
                created_at=record.created_at,
                updated_at=record.created_at,
                run_processed_at_start=0,
            )
        )

    @staticmethod
    async def _insert_items(
        conn: AsyncConnection,
        job_id: str,
        first_position: int,
        items: Sequence[NewBatchItem],
        inputs: Sequence[str],
    ) -> None:
        if not items:
            return
        await conn.execute(
            insert(i),
            [
                {
                    "job_id": job_id,
                    "position": first_position + n,
                    "ref": item.ref,
                    "input": stored,
                    "status": "pending",
                    "attempts": 0,
                }
                for n, (item, stored) in enumerate(zip(items, inputs, strict=True))
            ],
        )

    @retry_read
    async def backlog(self) -> int:
        """Items without an outcome in all unfinished jobs."""
        async with reader(self._engine).connect() as conn:
            return await self._backlog(conn)

    @staticmethod
    async def _backlog(conn: AsyncConnection) -> int:
        stmt = select(func.coalesce(func.sum(j.c.total - j.c.processed), 0)).where(
            j.c.status.in_(BATCH_ACTIVE)
        )
        return int((await conn.execute(stmt)).scalar_one())

    @retry_read
    async def items_after(
        self, job_id: str, *, statuses: Sequence[str] | None, after: int, limit: int
    ) -> list[BatchItemRecord]:
        """Up to `limit` items past position `after` (of `statuses`), by position."""
        stmt = select(i).where(i.c.job_id == job_id, i.c.position > after)
        if statuses is not None:
            stmt = stmt.where(i.c.status.in_(list(statuses)))
        stmt = stmt.order_by(i.c.position).limit(limit)
        async with reader(self._engine).connect() as conn:
            return [_item(r) for r in (await conn.execute(stmt)).mappings()]

    @retry_read
    async def stats(self, *, owner_id: str | None) -> BatchStats:
        """Totals over the owner's jobs, or everyone's."""
        scope = [] if owner_id is None else [j.c.owner_id == owner_id]
        by_status_stmt = (
            select(
                j.c.status,
                func.count(),
                func.coalesce(func.sum(j.c.total), 0),
                func.coalesce(func.sum(j.c.processed), 0),
                func.coalesce(func.sum(j.c.succeeded), 0),
                func.coalesce(func.sum(j.c.failed), 0),
            )
            .where(*scope)
            .group_by(j.c.status)
        )
        # Durations are summed in Python from the two timestamps: the SQL for an interval
        # in seconds differs between SQLite and PostgreSQL (finished jobs are bounded by
        # BATCH_RETENTION_DAYS).
        timed_stmt = select(j.c.started_at, j.c.finished_at, j.c.processed).where(
            *scope,
            j.c.status.in_(BATCH_FINAL),
            j.c.started_at.is_not(None),
            j.c.finished_at.is_not(None),
        )
        by_status: dict[str, int] = {}
        totals = [0, 0, 0, 0]
        timed_jobs, timed_seconds, timed_items = 0, 0.0, 0
        async with reader(self._engine).connect() as conn:
            for status, count, *sums in (await conn.execute(by_status_stmt)).all():
                by_status[status] = int(count)
                totals = [t + int(v) for t, v in zip(totals, sums, strict=True)]
            for started_at, finished_at, processed in (await conn.execute(timed_stmt)).all():
                seconds = (aware(finished_at) - aware(started_at)).total_seconds()
                timed_jobs += 1
                timed_seconds += max(0.0, seconds)
                timed_items += int(processed)
        return BatchStats(
            by_status=by_status,
            total_items=totals[0],
            processed=totals[1],
            succeeded=totals[2],
            failed=totals[3],
            timed_jobs=timed_jobs,
            timed_seconds=timed_seconds,
            timed_items=timed_items,
        )

    @staticmethod
    async def _by_key(
        conn: AsyncConnection, owner_id: str, key: str | None
    ) -> BatchJobRecord | None:
        if key is None:
            return None
        result = await conn.execute(
            select(j).where(j.c.owner_id == owner_id, j.c.idempotency_key == key)
        )
        row = result.mappings().first()
        return None if row is None else _job(row)

    @retry_read
    async def get(self, job_id: str) -> BatchJobRecord | None:
        """The job, or None."""
        async with reader(self._engine).connect() as conn:
            row = (await conn.execute(select(j).where(j.c.id == job_id))).mappings().first()
        return None if row is None else _job(row)

    @retry_read
    async def list_by_owner(
        self, owner_id: str, *, status: str | None, limit: int, offset: int
    ) -> list[BatchJobRecord]:
        """The owner's jobs (of one status, if given), newest first."""
        stmt = select(j).where(j.c.owner_id == owner_id)
        if status is not None:
            stmt = stmt.where(j.c.status == status)
        stmt = stmt.order_by(j.c.created_at.desc(), j.c.id.desc()).limit(limit).offset(offset)
        async with reader(self._engine).connect() as conn:
            return [_job(r) for r in (await conn.execute(stmt)).mappings()]

    @retry_read
    async def items(
        self, job_id: str, *, status: str | None, limit: int, offset: int
    ) -> list[BatchItemRecord]:
        """The job's items (of one status, if given) by position."""
        stmt = select(i).where(i.c.job_id == job_id)
        if status is not None:
            stmt = stmt.where(i.c.status == status)
        stmt = stmt.order_by(i.c.position).limit(limit).offset(offset)
        async with reader(self._engine).connect() as conn:
            return [_item(r) for r in (await conn.execute(stmt)).mappings()]

    async def transition(
        self, job_id: str, *, allowed_from: Sequence[str], to: str, now: datetime
    ) -> BatchJobRecord | None:
        """Move the job to `to` from one of `allowed_from` and clear its lease (see Protocol)."""
        now = utc(now)
        values: dict[str, Any] = {
            "status": to,
            "lease_owner": None,
            "lease_expires_at": None,
            "updated_at": now,
        }
        if to == "cancelled":
            values["finished_at"] = now
        stmt = (
            update(j)
            .where(j.c.id == job_id, j.c.status.in_(list(allowed_from)))
            .values(**values)
            .returning(*j.c)
        )
        async with self._engine.begin() as conn:
            row = (await conn.execute(stmt)).mappings().first()
            if row is None:
                return None
            if to == "cancelled":
                await self._cancel_pending(conn, job_id, now)
        return _job(row)

    @staticmethod
    async def _cancel_pending(conn: AsyncConnection, job_id: str, now: datetime) -> None:
        await conn.execute(
            update(i).where(_pending_of(job_id)).values(status="cancelled", finished_at=now)
        )

    async def claim(
        self, *, worker_id: str, now: datetime, lease_s: float
    ) -> BatchJobRecord | None:
        """Take the oldest runnable job under `worker_id`'s lease; None when there is none."""
        now = utc(now)
        runnable = (j.c.status == "queued") | (
            (j.c.status == "running") & (j.c.lease_expires_at <= now)
        )
        # Look before locking: an idle worker polls every BATCH_POLL_S, and on SQLite every
        # write transaction takes the database's one write lock, even one that finds nothing.
        async with reader(self._engine).connect() as conn:
            if (await conn.execute(select(j.c.id).where(runnable).limit(1))).first() is None:
                return None
        candidates = select(j.c.id).where(runnable).order_by(j.c.created_at, j.c.id)
        if self._postgres:
            # Lock the one row this claim takes: a concurrent claimer skips it and takes the
            # next instead of waiting for us (a longer locked list would hide jobs we leave).
            candidates = candidates.limit(1).with_for_update(skip_locked=True)
        else:
            candidates = candidates.limit(_CLAIM_CANDIDATES)
        async with self._engine.begin() as conn:
            ids = (await conn.execute(candidates)).scalars().all()
            for job_id in ids:
                # Compare-and-set: the job is taken only if it is still runnable now.
                taken = await conn.execute(
                    update(j)
                    .where(j.c.id == job_id, runnable)
                    .values(
                        status="running",
                        lease_owner=worker_id,
                        lease_expires_at=now + timedelta(seconds=lease_s),
                        # Typed: asyncpg would cast a bare datetime to a naive TIMESTAMP.
                        started_at=func.coalesce(
                            j.c.started_at, literal(now, DateTime(timezone=True))
                        ),
                        run_started_at=now,
                        run_processed_at_start=j.c.processed,
                        updated_at=now,
                    )
                    .returning(*j.c)
                )
                row = taken.mappings().first()
                if row is not None:
                    return _job(row)
        return None

    @retry_read
    async def next_pending(self, job_id: str, *, limit: int) -> list[BatchItemRecord]:
        """Up to `limit` pending items, by position."""
        stmt = select(i).where(_pending_of(job_id)).order_by(i.c.position).limit(limit)
        async with reader(self._engine).connect() as conn:
            return [_item(r) for r in (await conn.execute(stmt)).mappings()]

    async def heartbeat(
        self, job_id: str, *, worker_id: str, now: datetime, lease_s: float
    ) -> bool:
        """Extend `worker_id`'s lease on a running job; False (nothing written) otherwise."""
        stmt = (
            update(j)
            .where(_running_under(job_id, worker_id))
            .values(lease_expires_at=utc(now) + timedelta(seconds=lease_s))
        )
        async with self._engine.begin() as conn:
            result = await conn.execute(stmt)
        return bool(result.rowcount)

    async def record(
        self,
        job_id: str,
        *,
        worker_id: str,
        outcomes: Sequence[BatchItemOutcome],
        now: datetime,
        lease_s: float,
    ) -> BatchJobRecord | None:
        """Store outcomes on pending items, count them and complete the job (see Protocol)."""
        now = utc(now)
        # One outcome per position, the last one given winning, as in the memory adapter.
        by_position = {o.position: o for o in outcomes}
        async with self._engine.begin() as conn:
            # First, and conditional on the lease: it locks the job row (PostgreSQL) so a
            # pause, cancel or takeover waits until the items and counters below agree.
            leased = await conn.execute(
                update(j)
                .where(_running_under(job_id, worker_id))
                .values(lease_expires_at=now + timedelta(seconds=lease_s), updated_at=now)
            )
            if not leased.rowcount:
                return None
            # Which of these items are still pending: nobody else writes this job's items
            # before we commit (the job row we just wrote is locked; SQLite has one writer).
            open_positions: set[int] = set()
            if by_position:
                found = await conn.execute(
                    select(i.c.position).where(
                        _pending_of(job_id), i.c.position.in_(list(by_position))
                    )
                )
                open_positions.update(found.scalars())
            rows = [
                {
                    "b_job": job_id,
                    "b_position": o.position,
                    "b_status": "succeeded" if o.succeeded else "failed",
                    "b_result": dumps(o.result) if o.succeeded and o.result is not None else None,
                    "b_error_code": o.error_code,
                    "b_error_message": o.error_message,
                    "b_attempts": o.attempts,
                    "b_finished_at": now,
                }
                for o in by_position.values()
                if o.position in open_positions
            ]
            if rows:
                # One executemany for the chunk: a statement per item was most of a job's time.
                await conn.execute(_RECORD_ITEM, rows)
            succeeded = sum(1 for row in rows if row["b_status"] == "succeeded")
            failed = len(rows) - succeeded
            if succeeded or failed:
                await conn.execute(
                    update(j)
                    .where(j.c.id == job_id)
                    .values(
                        processed=j.c.processed + succeeded + failed,
                        succeeded=j.c.succeeded + succeeded,
                        failed=j.c.failed + failed,
                    )
                )
            await conn.execute(
                update(j)
                .where(j.c.id == job_id, ~exists().where(_pending_of(job_id)))
                .values(
                    status="completed",
                    finished_at=now,
                    lease_owner=None,
                    lease_expires_at=None,
                )
            )
            row = (await conn.execute(select(j).where(j.c.id == job_id))).mappings().one()
        return _job(row)

    async def mark_attempted(
        self,
        job_id: str,
        *,
        worker_id: str,
        positions: Sequence[int],
        now: datetime,
        lease_s: float,
    ) -> bool:
        """Count an attempt on pending items before they run, under the lease (see Protocol)."""
        now = utc(now)
        async with self._engine.begin() as conn:
            # The job row first, as in `record`: a pause or takeover is ordered against us.
            leased = await conn.execute(
                update(j)
                .where(_running_under(job_id, worker_id))
                .values(lease_expires_at=now + timedelta(seconds=lease_s), updated_at=now)
            )
            if not leased.rowcount:
                return False
            if positions:
                await conn.execute(
                    update(i)
                    .where(_pending_of(job_id), i.c.position.in_(list(positions)))
                    .values(attempts=i.c.attempts + 1)
                )
        return True

    async def release(self, job_id: str, *, worker_id: str, now: datetime) -> bool:
        """Put `worker_id`'s running job back to queued with no lease; False otherwise."""
        stmt = (
            update(j)
            .where(_running_under(job_id, worker_id))
            .values(status="queued", lease_owner=None, lease_expires_at=None, updated_at=utc(now))
        )
        async with self._engine.begin() as conn:
            result = await conn.execute(stmt)
        return bool(result.rowcount)

    async def fail(self, job_id: str, *, worker_id: str, error: str, now: datetime) -> bool:
        """Mark `worker_id`'s running job failed and cancel its pending items; False otherwise."""
        now = utc(now)
        stmt = (
            update(j)
            .where(_running_under(job_id, worker_id))
            .values(
                status="failed",
                error=error,
                finished_at=now,
                lease_owner=None,
                lease_expires_at=None,
                updated_at=now,
            )
        )
        async with self._engine.begin() as conn:
            result = await conn.execute(stmt)
            if not result.rowcount:
                return False
            await self._cancel_pending(conn, job_id, now)
        return True

    async def delete(self, job_id: str, *, statuses: Sequence[str]) -> bool:
        """Remove the job and its items if its status is one of `statuses`."""
        # The items go with the job: ON DELETE CASCADE (SQLite runs with foreign_keys=ON).
        stmt = delete(j).where(j.c.id == job_id, j.c.status.in_(list(statuses)))
        async with self._engine.begin() as conn:
            result = await conn.execute(stmt)
        return bool(result.rowcount)

    async def purge_finished(self, *, before: datetime, batch: int = 1000) -> int:
        """Remove up to `batch` final jobs that finished before `before`, with their items."""
        dead = (
            select(j.c.id)
            .where(j.c.status.in_(BATCH_FINAL), j.c.finished_at < utc(before))
            .order_by(j.c.finished_at)
            .limit(batch)
        )
        async with self._engine.begin() as conn:
            result = await conn.execute(delete(j).where(j.c.id.in_(dead)))
        return int(result.rowcount or 0)
