"""Batch jobs in `batch_jobs` and their items in `batch_items` (SQLite or PostgreSQL)."""

from __future__ import annotations

import json
from collections.abc import Sequence
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
    BatchItemOutcome,
    BatchItemRecord,
    BatchJobRecord,
    NewBatchJob,
    queued_job_record,
)
from app.platform.storage.sql.engine import reader
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
                if self._postgres:
                    # Serialises creations per owner so the count below stays true until the
                    # insert commits. An advisory lock rather than api_keys' FOR UPDATE on the
                    # users row: an owner need not have one (there is no foreign key).
                    await conn.execute(
                        select(
                            func.pg_advisory_xact_lock(
                                func.hashtext("batch_jobs"), func.hashtext(job.owner_id)
                            )
                        )
                    )
                existing = await self._by_key(conn, job.owner_id, job.idempotency_key)
                if existing is not None:
                    return existing, False
                active = await conn.execute(
                    select(func.count())
                    .select_from(j)
                    .where(j.c.owner_id == job.owner_id, j.c.status.in_(BATCH_ACTIVE))
                )
                if int(active.scalar_one()) >= max_active:
                    return None
                await conn.execute(
                    insert(j).values(
                        id=record.id,
                        owner_id=record.owner_id,
                        kind=record.kind,
                        name=record.name,
                        status=record.status,
                        total=record.total,
                        processed=0,
                        succeeded=0,
                        failed=0,
                        idempotency_key=record.idempotency_key,
                        request_hash=record.request_hash,
                        created_at=created_at,
                        updated_at=created_at,
                        run_processed_at_start=0,
                    )
                )
                if inputs:
                    # One executemany: a job may carry 10,000 items.
                    await conn.execute(
                        insert(i),
                        [
                            {
                                "job_id": job.id,
                                "position": position,
                                "ref": item.ref,
                                "input": stored,
                                "status": "pending",
                                "attempts": 0,
                            }
                            for position, (item, stored) in enumerate(
                                zip(job.items, inputs, strict=True)
                            )
                        ],
                    )
        except IntegrityError:
            # The owner lock makes this unreachable for a same-key race; should a concurrent
            # create with the key still win the unique constraint, the caller gets its job.
            async with reader(self._engine).connect() as conn:
                existing = await self._by_key(conn, job.owner_id, job.idempotency_key)
            if existing is None:
                raise
            return existing, False
        return record, True

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

    async def get(self, job_id: str) -> BatchJobRecord | None:
        """The job, or None."""
        async with reader(self._engine).connect() as conn:
            row = (await conn.execute(select(j).where(j.c.id == job_id))).mappings().first()
        return None if row is None else _job(row)

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
