"""Batch jobs for their owners: create (idempotently), read, page through items, pause, resume,
cancel, delete, and watch progress. The work itself is the runner's (`runner.py`)."""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import json
from collections.abc import AsyncIterator, Callable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import IO, TYPE_CHECKING, Any

from app.batch.kinds import KindRegistry
from app.batch.metrics import BATCH_ITEMS_SUBMITTED
from app.batch.repository import (
    BATCH_ACTIVE,
    BATCH_FINAL,
    BacklogFullError,
    BatchItemRecord,
    BatchJobRecord,
    BatchJobRepository,
    NewBatchItem,
    NewBatchJob,
)
from app.batch.schemas import (
    BatchJobCreate,
    BatchJobRead,
    BatchResultRead,
    BatchStatsRead,
    StatusCount,
    api_status,
)
from app.batch.signals import JobSignals
from app.batch.uploads import UploadFormat, UploadRowError, chunked, validated_items
from app.platform.clock import utc_now
from app.platform.errors import (
    BatchActiveLimitError,
    BatchBacklogFullError,
    BatchJobNotFoundError,
    BatchJobStateError,
    IdempotencyKeyReusedError,
    PermissionDeniedError,
    ValidationFailedError,
)
from app.platform.ids import RandomHex
from app.platform.metrics import METRICS_BUFFER
from app.platform.principal import Principal

if TYPE_CHECKING:
    from app.batch.runner import BatchRunner

_job_hex = RandomHex(size=12)


def new_job_id() -> str:
    """A new unguessable job id."""
    return "job_" + _job_hex()


def run_rate(record: BatchJobRecord, now: datetime) -> tuple[float | None, float | None]:
    """Items per second in the current run and the seconds left at that rate; (None, None)
    when the job is not running or its run has processed nothing yet."""
    if record.status != "running" or record.run_started_at is None:
        return None, None
    done = record.processed - record.run_processed_at_start
    elapsed = (now - record.run_started_at).total_seconds()
    if done <= 0 or elapsed <= 0:
        return None, None
    rate = done / elapsed
    return round(rate, 3), round((record.total - record.processed) / rate, 1)


def _backlog_full(exc: BacklogFullError) -> BatchBacklogFullError:
    return BatchBacklogFullError(
        f"The batch queue is full ({exc.limit} items waiting at most); try again once "
        "running jobs have finished.",
        details={"limit": exc.limit},
    )


def request_fingerprint(body: BatchJobCreate) -> str:
    """What makes two create requests 'the same request' for an Idempotency-Key."""
    canonical = json.dumps(
        body.model_dump(mode="json", by_alias=True), sort_keys=True, ensure_ascii=False
    )
    return hashlib.sha256(canonical.encode()).hexdigest()


# Transitions a client may ask for: from which statuses, to which.
_PAUSABLE = ("queued", "running")
_RESUMABLE = ("paused",)


class BatchService:
    """Owner-scoped access to batch jobs: anyone else's job is 404, like a missing one."""

    def __init__(
        self,
        *,
        repo: BatchJobRepository,
        max_items: int,
        max_active: int,
        watch_interval_s: float,
        retention_days: float = 0.0,
        max_upload_items: int = 100_000,
        max_backlog: int = 1_000_000,
        kinds: KindRegistry | None = None,
        on_queued: Callable[[], None] = lambda: None,
        on_stopped: Callable[[str], None] = lambda job_id: None,
        signals: JobSignals | None = None,
        clock: Callable[[], datetime] = utc_now,
    ) -> None:
        self.repo = repo
        self.max_items = max_items
        self.max_active = max_active
        self.watch_interval_s = watch_interval_s
        self.retention_days = retention_days
        self.max_upload_items = max_upload_items
        self.max_backlog = max_backlog
        self.kinds = kinds if kinds is not None else KindRegistry(())
        # The runner's hooks: wake an idle worker now; stop this process's work on a job now.
        self._on_queued = on_queued
        self._on_stopped = on_stopped
        # Shared with this process's runner: streams wake when it records progress.
        self.signals = signals if signals is not None else JobSignals()
        self._clock = clock

    def read(self, record: BatchJobRecord) -> BatchJobRead:
        """The API view of a job, with its rate and ETA as of now."""
        now = self._clock()
        rate, eta = run_rate(record, now)
        return BatchJobRead.of(record, rate_per_s=rate, eta_s=eta, now=now)

    async def create(
        self, *, principal: Principal, body: BatchJobCreate, idempotency_key: str | None
    ) -> tuple[BatchJobRecord, bool]:
        """Queue a job: (job, True); with an Idempotency-Key used before for the same request,
        (that job, False); 422 when it was used for another request."""
        if len(body.items) > self.max_items:
            raise ValidationFailedError(
                f"A job holds at most {self.max_items} items; split the work into several jobs.",
                details=[
                    {
                        "field": "items",
                        "message": f"at most {self.max_items} items",
                        "type": "too_long",
                    }
                ],
            )
        self._check_kind(body.kind, principal)
        waiting = await self.repo.backlog()
        if waiting + len(body.items) > self.max_backlog:
            raise _backlog_full(
                BacklogFullError(backlog=waiting + len(body.items), limit=self.max_backlog)
            )
        items = []
        for item in body.items:
            data = item.to_api()
            data.pop("ref", None)
            items.append(NewBatchItem(ref=item.ref, input=data))
        fingerprint = request_fingerprint(body)
        job = NewBatchJob(
            id=new_job_id(),
            owner_id=principal.user_id,
            kind=body.kind,
            name=body.name,
            items=items,
            idempotency_key=idempotency_key,
            request_hash=fingerprint,
            created_at=self._clock(),
        )
        stored = await self.repo.create(job, max_active=self.max_active)
        if stored is None:
            raise BatchActiveLimitError(
                f"You already have {self.max_active} unfinished jobs; wait for one to finish "
                "or cancel one."
            )
        record, created = stored
        if not created and record.request_hash != fingerprint:
            raise IdempotencyKeyReusedError(
                "This Idempotency-Key was already used for a different job."
            )
        if created:
            METRICS_BUFFER.count(BATCH_ITEMS_SUBMITTED, (body.kind,), len(items))
            self._on_queued()
        return record, created

    def _check_kind(self, name: str, principal: Principal) -> None:
        kind = self.kinds.get(name)
        if kind is not None and kind.admin_only and not principal.is_admin:
            raise PermissionDeniedError(f"Only admins may queue '{name}' jobs.")

    async def create_from_upload(
        self,
        *,
        principal: Principal,
        kind: str,
        name: str | None,
        fmt: UploadFormat,
        file: IO[bytes],
    ) -> BatchJobRecord:
        """Queue a job whose items are the rows of an uploaded CSV or JSONL file, read and
        stored a chunk at a time in one transaction: a bad row (400 naming its line), too many
        rows or a full queue leave nothing stored."""
        job_kind = self.kinds.get(kind)
        if job_kind is None:
            raise ValidationFailedError(
                f"Unknown job kind '{kind}'.",
                details=[
                    {
                        "field": "kind",
                        "message": "one of " + ", ".join(self.kinds.names),
                        "type": "literal_error",
                    }
                ],
            )
        self._check_kind(kind, principal)
        items = validated_items(
            file, fmt=fmt, model=job_kind.item_model, to_input=job_kind.to_input
        )
        job = NewBatchJob(
            id=new_job_id(),
            owner_id=principal.user_id,
            kind=kind,
            name=name,
            items=(),
            idempotency_key=None,
            request_hash=None,
            created_at=self._clock(),
        )
        try:
            record = await self.repo.create_streamed(
                job,
                chunked(items),
                max_active=self.max_active,
                max_items=self.max_upload_items,
                max_backlog=self.max_backlog,
            )
        except UploadRowError as exc:
            raise ValidationFailedError(
                f"Line {exc.line} of the upload is not a valid item: {exc.message}. "
                "Nothing was queued.",
                details=[
                    {
                        "line": exc.line,
                        "field": exc.field,
                        "message": exc.message,
                        "type": "upload_row",
                    }
                ],
            ) from None
        except ValueError:
            raise ValidationFailedError(
                f"A job holds at most {self.max_upload_items} items; split the file.",
                details=[
                    {
                        "field": "file",
                        "message": f"at most {self.max_upload_items} items",
                        "type": "too_long",
                    }
                ],
            ) from None
        except BacklogFullError as exc:
            raise _backlog_full(exc) from None
        if record is None:
            raise BatchActiveLimitError(
                f"You already have {self.max_active} unfinished jobs; wait for one to finish "
                "or cancel one."
            )
        if record.total == 0:
            # Stored empty: remove it again (nothing to do) and say why.
            await self.repo.delete(record.id, statuses=BATCH_ACTIVE)
            raise ValidationFailedError(
                "The upload holds no items.",
                details=[{"field": "file", "message": "no items", "type": "too_short"}],
            )
        METRICS_BUFFER.count(BATCH_ITEMS_SUBMITTED, (record.kind,), record.total)
        self._on_queued()
        return record

    async def results_page(
        self,
        *,
        job_id: str,
        principal: Principal,
        statuses: Sequence[str] | None,
        limit: int,
        offset: int,
    ) -> tuple[BatchJobRecord, list[BatchResultRead]]:
        """The job and a page of its item results by position (of `statuses`, if given)."""
        record = await self.get_or_raise(job_id=job_id, principal=principal)
        if statuses is not None and len(statuses) == 1:
            rows = await self.repo.items(job_id, status=statuses[0], limit=limit, offset=offset)
        elif statuses is None:
            rows = await self.repo.items(job_id, status=None, limit=limit, offset=offset)
        else:
            # Several outcomes: walk past `offset` of them a bounded page at a time (the
            # store's offset paging takes one status), then read the page.
            after, skip = -1, offset
            while skip > 0:
                passed = await self.repo.items_after(
                    job_id, statuses=statuses, after=after, limit=min(skip, 1000)
                )
                if not passed:
                    break
                skip -= len(passed)
                after = passed[-1].position
            rows = await self.repo.items_after(job_id, statuses=statuses, after=after, limit=limit)
        return record, [BatchResultRead.of(r) for r in rows]

    async def export(
        self, *, job_id: str, principal: Principal, statuses: Sequence[str] | None, page: int
    ) -> AsyncIterator[BatchResultRead]:
        """Every result of the caller's job (of `statuses`), read from storage `page` at a time
        by position; 404 before the first one."""
        await self.get_or_raise(job_id=job_id, principal=principal)

        async def rows() -> AsyncIterator[BatchResultRead]:
            after = -1
            while True:
                chunk = await self.repo.items_after(
                    job_id, statuses=statuses, after=after, limit=page
                )
                for item in chunk:
                    yield BatchResultRead.of(item)
                if len(chunk) < page:
                    return
                after = chunk[-1].position

        return rows()

    async def stats(self, *, principal: Principal, everyone: bool) -> BatchStatsRead:
        """Totals over the caller's jobs, or over everyone's (admins only: 403 otherwise)."""
        if everyone and not principal.is_admin:
            raise PermissionDeniedError("Only admins may see every user's batch statistics.")
        raw = await self.repo.stats(owner_id=None if everyone else principal.user_id)
        by_status = {api_status(k): v for k, v in raw.by_status.items()}
        return BatchStatsRead(
            scope="all" if everyone else "mine",
            total_jobs=sum(raw.by_status.values()),
            jobs_by_status=StatusCount(**by_status),
            total_items=raw.total_items,
            processed_items=raw.processed,
            succeeded_items=raw.succeeded,
            failed_items=raw.failed,
            success_rate=round(raw.succeeded / raw.processed, 4) if raw.processed else None,
            items_per_second=round(raw.timed_items / raw.timed_seconds, 3)
            if raw.timed_seconds > 0
            else None,
            average_duration_seconds=round(raw.timed_seconds / raw.timed_jobs, 3)
            if raw.timed_jobs
            else None,
        )

    async def get(self, *, job_id: str, principal: Principal) -> BatchJobRecord | None:
        """The caller's job, or None (missing, or someone else's)."""
        record = await self.repo.get(job_id)
        if record is None or record.owner_id != principal.user_id:
            return None
        return record

    async def get_or_raise(self, *, job_id: str, principal: Principal) -> BatchJobRecord:
        """The caller's job; 404 otherwise."""
        record = await self.get(job_id=job_id, principal=principal)
        if record is None:
            raise BatchJobNotFoundError.missing(job_id, f"Batch job '{job_id}' was not found.")
        return record

    async def list(
        self, *, principal: Principal, status: str | None, limit: int, offset: int
    ) -> Sequence[BatchJobRecord]:
        """The caller's jobs, newest first."""
        return await self.repo.list_by_owner(
            principal.user_id, status=status, limit=limit, offset=offset
        )

    async def items(
        self,
        *,
        job_id: str,
        principal: Principal,
        status: str | None,
        limit: int,
        offset: int,
    ) -> Sequence[BatchItemRecord]:
        """A page of the caller's job's items, by position."""
        await self.get_or_raise(job_id=job_id, principal=principal)
        return await self.repo.items(job_id, status=status, limit=limit, offset=offset)

    async def pause(self, *, job_id: str, principal: Principal) -> BatchJobRecord:
        """Stop handing out the job's items; the items in flight are given back as pending."""
        record = await self._transition(job_id, principal, _PAUSABLE, "paused", "paused")
        self._on_stopped(job_id)
        return record

    async def resume(self, *, job_id: str, principal: Principal) -> BatchJobRecord:
        """Queue a paused job again; a worker carries on with its pending items."""
        record = await self._transition(job_id, principal, _RESUMABLE, "queued", "resumed")
        self._on_queued()
        return record

    async def cancel(self, *, job_id: str, principal: Principal) -> BatchJobRecord:
        """Finish the job now: its pending items are cancelled, its outcomes so far kept."""
        record = await self._transition(job_id, principal, BATCH_ACTIVE, "cancelled", "cancelled")
        self._on_stopped(job_id)
        return record

    async def delete(self, *, job_id: str, principal: Principal) -> None:
        """Remove a finished job and its items; 409 while it is unfinished."""
        await self.get_or_raise(job_id=job_id, principal=principal)
        if not await self.repo.delete(job_id, statuses=BATCH_FINAL):
            current = await self.get_or_raise(job_id=job_id, principal=principal)
            raise BatchJobStateError(
                f"A {api_status(current.status)} job cannot be deleted; cancel it first.",
                details={"status": api_status(current.status)},
            )

    async def _transition(
        self,
        job_id: str,
        principal: Principal,
        allowed_from: Sequence[str],
        to: str,
        verb: str,
    ) -> BatchJobRecord:
        await self.get_or_raise(job_id=job_id, principal=principal)
        record = await self.repo.transition(
            job_id, allowed_from=allowed_from, to=to, now=self._clock()
        )
        if record is None:
            current = await self.get_or_raise(job_id=job_id, principal=principal)
            raise BatchJobStateError(
                f"A {api_status(current.status)} job cannot be {verb}.",
                details={"status": api_status(current.status)},
            )
        self.signals.notify(job_id)
        return record

    async def watch(self, *, job_id: str, principal: Principal) -> AsyncIterator[dict[str, Any]]:
        """Progress events of the caller's job until it finishes (404 before the first one)."""
        record = await self.get_or_raise(job_id=job_id, principal=principal)
        return self._events(record)

    async def _events(self, record: BatchJobRecord) -> AsyncIterator[dict[str, Any]]:
        last: tuple[str, int, int] | None = None
        with self.signals.subscribe(record.id) as changed:
            while True:
                seen = (record.status, record.processed, record.failed)
                if record.status in BATCH_FINAL:
                    yield {"type": "done", "job": self.read(record).model_dump(mode="json")}
                    return
                if seen != last:
                    yield {"type": "progress", "job": self.read(record).model_dump(mode="json")}
                    last = seen
                # This process's runner raises the flag at once; another process's progress is
                # only in the database, so look there at least every watch interval.
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(changed.wait(), self.watch_interval_s)
                changed.clear()
                current = await self.repo.get(record.id)
                if current is None:
                    yield {
                        "type": "error",
                        "error": {"code": "BATCH_JOB_NOT_FOUND", "message": "The job was deleted."},
                    }
                    return
                record = current

    async def purge_expired(self) -> int:
        """Delete jobs finished longer than the retention period ago; how many went."""
        if self.retention_days <= 0:
            return 0
        before = self._clock() - timedelta(days=self.retention_days)
        total = 0
        while True:
            gone = await self.repo.purge_finished(before=before, batch=500)
            total += gone
            if gone < 500:
                return total


@dataclass
class BatchServices:
    """The API side and the workers of one process, over one repository."""

    service: BatchService
    runner: BatchRunner

    def health_report(self) -> dict[str, int]:
        """This process's workers and the jobs they run (counts only: job ids are private)."""
        return {"workers": self.runner.workers, "jobs_running_here": self.runner.running}
