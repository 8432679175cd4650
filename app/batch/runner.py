"""The workers that run batch jobs: claim a job under a lease, work through its pending items a
chunk at a time, write each chunk's outcomes (conditional on the lease), renew the lease beside
the work, and stop as soon as the job is paused, cancelled or taken over.

Every process with BATCH_WORKERS > 0 runs workers; the database decides who runs what, so
several uvicorn workers and several hosts share the queue. A worker that dies keeps its job
until its lease runs out; then another takes it over and redoes only the items whose outcomes
were not written. Item processing is therefore at-least-once and outcome counting exactly-once
(an outcome is written only on a still-pending item).
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import socket
from collections.abc import Callable, Mapping, Sequence
from dataclasses import replace
from datetime import datetime

from app.batch.kinds import ItemProcessor, KindRegistry
from app.batch.repository import (
    BatchItemOutcome,
    BatchItemRecord,
    BatchJobRecord,
    BatchJobRepository,
)
from app.batch.signals import JobSignals
from app.platform.clock import utc_now
from app.platform.errors import (
    AppError,
    BatchItemInterruptedError,
    BatchItemTimeoutError,
    ServiceUnavailableError,
)
from app.platform.ids import RandomHex
from app.platform.logging import get_logger
from app.platform.metrics import BATCH_ITEMS, BATCH_JOBS_FINISHED, METRICS_BUFFER
from app.platform.principal import Principal
from app.platform.storage.errors import DATABASE_ERRORS
from app.platform.tracing import span

__all__ = ["BatchRunner", "ItemProcessor", "job_owner"]

_log = get_logger("app.batch")
_worker_hex = RandomHex(size=4)
# Seconds a stopping worker waits for its in-flight items before giving the job back.
STOP_WAIT_S = 2.0
# Seconds before retrying after the database failed a worker's claim, doubling up to the max.
CLAIM_RETRY_S = 1.0
CLAIM_RETRY_MAX_S = 30.0
# Failures of the database rather than of the job: the job is given back, not failed.
STORAGE_ERRORS = DATABASE_ERRORS


def job_owner(record: BatchJobRecord) -> Principal:
    """Who a job's items run as: its owner. Rights beyond ownership (an admin-only kind) were
    checked when the job was queued, so the role here is the plain one."""
    return Principal(user_id=record.owner_id, username="", role="user", auth_method="jwt")


def new_worker_id() -> str:
    """Names this process's workers in leases and logs: host, pid and a random part."""
    return f"{socket.gethostname()[:32]}:{os.getpid()}:{_worker_hex()}"


class BatchRunner:
    """`workers` job loops in this process, each running one job at a time."""

    def __init__(
        self,
        *,
        repo: BatchJobRepository,
        processors: Mapping[str, ItemProcessor],
        workers: int,
        item_concurrency: int,
        chunk_size: int,
        lease_s: float,
        heartbeat_s: float,
        poll_s: float,
        item_timeout_s: float,
        item_attempts: int,
        signals: JobSignals | None = None,
        clock: Callable[[], datetime] = utc_now,
        kinds: KindRegistry | None = None,
    ) -> None:
        self.repo = repo
        self.processors = processors
        self.kinds = kinds
        self.workers = workers
        self.item_concurrency = item_concurrency
        self.chunk_size = chunk_size
        self.lease_s = lease_s
        self.heartbeat_s = heartbeat_s
        self.poll_s = poll_s
        self.item_timeout_s = item_timeout_s
        self.item_attempts = item_attempts
        self.worker_id = new_worker_id()
        self.signals = signals if signals is not None else JobSignals()
        self._clock = clock
        self._wake = asyncio.Event()
        # The work task of each job this process runs now, to stop one at once (`stop`).
        self._active: dict[str, asyncio.Task[None]] = {}

    @property
    def running(self) -> int:
        """How many jobs this process is working on now."""
        return len(self._active)

    def wake(self) -> None:
        """A job was queued here: idle workers look now instead of at their next poll."""
        self._wake.set()

    def stop(self, job_id: str) -> None:
        """The job was paused or cancelled through this process: stop working on it now (a
        worker in another process notices at its next heartbeat)."""
        task = self._active.get(job_id)
        if task is not None:
            task.cancel()

    async def run(self) -> None:
        """Run the job loops until cancelled (shutdown); jobs in hand go back to the queue."""
        loops = [
            asyncio.create_task(self._loop(), name="batch-worker") for _ in range(self.workers)
        ]
        try:
            await asyncio.gather(*loops)
        finally:
            for loop in loops:
                loop.cancel()
            await asyncio.gather(*loops, return_exceptions=True)

    async def _loop(self) -> None:
        retry_s = CLAIM_RETRY_S
        while True:
            # Cleared before looking: a job queued while we look sets it again, so the wait
            # below returns at once instead of missing it.
            self._wake.clear()
            try:
                record = await self.repo.claim(
                    worker_id=self.worker_id, now=self._clock(), lease_s=self.lease_s
                )
            except Exception as exc:
                # E.g. PostgreSQL not migrated yet, or the database restarting: back off.
                _log.warning("batch_claim_failed", error=type(exc).__name__, retry_s=retry_s)
                await asyncio.sleep(retry_s)
                retry_s = min(retry_s * 2, CLAIM_RETRY_MAX_S)
                continue
            retry_s = CLAIM_RETRY_S
            if record is None:
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self._wake.wait(), timeout=self.poll_s)
                continue
            if not await self.run_job(record):
                await asyncio.sleep(CLAIM_RETRY_S)  # the database failed us: not at once again

    async def run_job(self, record: BatchJobRecord) -> bool:
        """Work on a job claimed by this runner until it finishes or is taken from us; False
        when the database failed and the job was given back."""
        _log.info(
            "batch_job_started",
            job_id=record.id,
            kind=record.kind,
            pending=record.total - record.processed,
        )
        work = asyncio.create_task(self._work(record), name=f"batch-job-{record.id}")
        beat = asyncio.create_task(self._heartbeat(record.id, work), name="batch-heartbeat")
        self._active[record.id] = work
        try:
            await asyncio.wait({work})
        except asyncio.CancelledError:
            # Shutting down: stop, and give the job back so that another worker need not wait
            # for the lease to run out. Outcomes not yet written are redone there.
            work.cancel()
            await asyncio.wait({work}, timeout=STOP_WAIT_S)
            with contextlib.suppress(Exception):
                await self.repo.release(record.id, worker_id=self.worker_id, now=self._clock())
            _log.info("batch_job_released", job_id=record.id)
            raise
        finally:
            beat.cancel()
            await asyncio.gather(beat, return_exceptions=True)
            self._active.pop(record.id, None)
        if work.cancelled():
            _log.info("batch_job_stopped", job_id=record.id)
            return True
        error = work.exception()
        if isinstance(error, STORAGE_ERRORS):
            # The database failed us (restarting, busy, unreachable): that is not the job's
            # fault. Give it back (if we still can; else its lease runs out) and let the next
            # claim, which backs off while the database is down, carry on with it.
            _log.warning("batch_job_storage_failed", job_id=record.id, error=type(error).__name__)
            with contextlib.suppress(Exception):
                await self.repo.release(record.id, worker_id=self.worker_id, now=self._clock())
            return False
        if error is not None:
            _log.error(
                "batch_job_failed",
                job_id=record.id,
                error=type(error).__name__,
                exc_info=(type(error), error, error.__traceback__),
            )
            with contextlib.suppress(Exception):
                failed = await self.repo.fail(
                    record.id,
                    worker_id=self.worker_id,
                    error="The job stopped on an unexpected error; its pending items were "
                    "cancelled. Quote the job id when reporting it.",
                    now=self._clock(),
                )
                if failed:
                    METRICS_BUFFER.count(BATCH_JOBS_FINISHED, (record.kind, "failed"))
        return True

    async def _heartbeat(self, job_id: str, work: asyncio.Task[None]) -> None:
        """Renew the lease; when the job is no longer ours (paused, cancelled, taken over after
        our lease ran out), stop the work."""
        while True:
            await asyncio.sleep(self.heartbeat_s)
            try:
                ours = await self.repo.heartbeat(
                    job_id, worker_id=self.worker_id, now=self._clock(), lease_s=self.lease_s
                )
            except Exception as exc:
                # The next write is conditional on the lease anyway: keep working, try again.
                _log.warning("batch_heartbeat_failed", job_id=job_id, error=type(exc).__name__)
                continue
            if not ours:
                work.cancel()
                return

    async def _work(self, record: BatchJobRecord) -> None:
        processor = self.processors.get(record.kind)
        repeatable = True
        if processor is None and self.kinds is not None:
            kind = self.kinds.get(record.kind)
            if kind is not None:
                processor = self.kinds.processors(job_owner(record))[record.kind]
                repeatable = kind.repeatable
        if processor is None:
            raise LookupError(f"no processor for batch kind {record.kind!r}")
        while True:
            pending = await self.repo.next_pending(record.id, limit=self.chunk_size)
            if repeatable:
                outcomes = await self._process(processor, pending) if pending else []
            else:
                once = await self._at_most_once(record.id, processor, pending)
                if once is None:
                    return  # no longer ours: nothing was written
                outcomes = once
            updated = await self.repo.record(
                record.id,
                worker_id=self.worker_id,
                outcomes=outcomes,
                now=self._clock(),
                lease_s=self.lease_s,
            )
            if updated is None:
                return  # no longer ours: nothing was written
            self.signals.notify(record.id)
            for outcome in outcomes:
                result = "succeeded" if outcome.succeeded else "failed"
                METRICS_BUFFER.count(BATCH_ITEMS, (record.kind, result))
            if updated.status != "running":
                METRICS_BUFFER.count(BATCH_JOBS_FINISHED, (record.kind, updated.status))
                _log.info(
                    "batch_job_finished",
                    job_id=record.id,
                    status=updated.status,
                    succeeded=updated.succeeded,
                    failed=updated.failed,
                )
                return
            if not pending:
                return  # defensive: nothing pending yet not completed; the next claim retries

    async def _at_most_once(
        self, job_id: str, processor: ItemProcessor, items: Sequence[BatchItemRecord]
    ) -> list[BatchItemOutcome] | None:
        """A kind whose items change things (stock, plans) runs each item at most once: its
        attempt is written before it starts, an item found already attempted (its worker died
        or the job was paused while it ran) is failed as interrupted instead of run again, and
        nothing is retried. None when the job is no longer ours."""
        interrupted = [
            BatchItemOutcome(
                position=item.position,
                result=None,
                error_code=BatchItemInterruptedError.code,
                error_message="The item was interrupted while it ran and may or may not have "
                "taken effect; check it before queuing it again.",
                attempts=0,
            )
            for item in items
            if item.attempts > 0
        ]
        fresh = [item for item in items if item.attempts == 0]
        if fresh and not await self.repo.mark_attempted(
            job_id,
            worker_id=self.worker_id,
            positions=[item.position for item in fresh],
            now=self._clock(),
            lease_s=self.lease_s,
        ):
            return None
        done = await self._process(processor, fresh, attempts=1)
        # Their attempt is already counted (mark_attempted): the outcome adds none.
        return interrupted + [replace(outcome, attempts=0) for outcome in done]

    async def _process(
        self,
        processor: ItemProcessor,
        items: Sequence[BatchItemRecord],
        *,
        attempts: int | None = None,
    ) -> list[BatchItemOutcome]:
        gate = asyncio.Semaphore(self.item_concurrency)

        async def one(item: BatchItemRecord) -> BatchItemOutcome:
            async with gate:
                with span("batch.item", **{"raidesk.job_id": item.job_id}, position=item.position):
                    return await self._attempt(processor, item, attempts=attempts)

        return list(await asyncio.gather(*(one(item) for item in items)))

    async def _attempt(
        self, processor: ItemProcessor, item: BatchItemRecord, *, attempts: int | None = None
    ) -> BatchItemOutcome:
        """One item, retried while its failure may pass (model unreachable, time limit)."""
        tries = self.item_attempts if attempts is None else attempts
        for attempt in range(1, tries + 1):
            last = attempt == tries
            try:
                result = await asyncio.wait_for(processor(item.input), self.item_timeout_s)
            except TimeoutError:
                if not last:
                    continue
                error: AppError = BatchItemTimeoutError(
                    f"The item took longer than {self.item_timeout_s:g} s."
                )
                return _failed(item, error, attempt)
            except ServiceUnavailableError as exc:
                if not last:
                    await asyncio.sleep(min(0.5 * 2**attempt, 5.0))
                    continue
                return _failed(item, exc, attempt)
            except AppError as exc:
                return _failed(item, exc, attempt)
            except Exception:
                _log.exception("batch_item_failed", job_id=item.job_id, position=item.position)
                return _failed(
                    item,
                    AppError("An unexpected error occurred; quote the job id and the position."),
                    attempt,
                )
            # A rules-engine answer never waits for I/O: without this, a chunk would hold the
            # event loop (and every other request of this worker) until all of it is done.
            await asyncio.sleep(0)
            return BatchItemOutcome(position=item.position, result=result, attempts=attempt)
        raise AssertionError("unreachable: the last attempt always returns")


def _failed(item: BatchItemRecord, error: AppError, attempts: int) -> BatchItemOutcome:
    return BatchItemOutcome(
        position=item.position,
        result=None,
        error_code=error.code,
        error_message=error.detail,
        attempts=attempts,
    )
