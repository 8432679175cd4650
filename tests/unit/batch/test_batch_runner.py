"""The batch runner over the memory repository: outcomes, retries, concurrency, pause, cancel,
takeover after a lost lease, and giving a job back at shutdown. Processors are scripted with
events, so every test controls exactly when an item finishes."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from app.batch.repository import BatchItemOutcome, BatchJobRecord, NewBatchItem, NewBatchJob
from app.batch.runner import BatchRunner, ItemProcessor
from app.batch.service import BatchService
from app.platform.errors import AIUnavailableError, DeviceNotMedicalError
from tests.support.fakes.batch import MemoryBatchJobRepository

pytestmark = pytest.mark.unit
T0 = datetime(2026, 1, 15, 10, 0, tzinfo=UTC)


class Clock:
    """A settable clock for leases and rates."""

    def __init__(self) -> None:
        self.now = T0

    def __call__(self) -> datetime:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += timedelta(seconds=seconds)


class WatchedRepo(MemoryBatchJobRepository):
    """Sets `settled` whenever a job leaves `running` through `record`, `transition`, `release`
    or `fail`, so tests wait on the event instead of polling."""

    def __init__(self) -> None:
        super().__init__()
        self.settled = asyncio.Event()
        self.recorded = asyncio.Event()

    async def record(self, job_id: str, **kwargs: Any) -> BatchJobRecord | None:
        out = await super().record(job_id, **kwargs)
        self.recorded.set()
        if out is not None and out.status != "running":
            self.settled.set()
        return out

    async def release(self, job_id: str, **kwargs: Any) -> bool:
        out = await super().release(job_id, **kwargs)
        self.settled.set()
        return out

    async def fail(self, job_id: str, **kwargs: Any) -> bool:
        out = await super().fail(job_id, **kwargs)
        self.settled.set()
        return out


async def add_job(
    repo: MemoryBatchJobRepository, n: int, *, job_id: str = "job_1", owner: str = "u1"
) -> BatchJobRecord:
    job = NewBatchJob(
        id=job_id,
        owner_id=owner,
        kind="classify",
        name=None,
        items=[NewBatchItem(ref=f"r{i}", input={"concept": f"c{i}"}) for i in range(n)],
        idempotency_key=None,
        request_hash=None,
        created_at=T0,
    )
    stored = await repo.create(job, max_active=100)
    assert stored is not None
    return stored[0]


def make_runner(
    repo: MemoryBatchJobRepository,
    processor: ItemProcessor,
    *,
    clock: Callable[[], datetime] = lambda: T0,
    **overrides: Any,
) -> BatchRunner:
    options: dict[str, Any] = {
        "workers": 1,
        "item_concurrency": 2,
        "chunk_size": 3,
        "lease_s": 30.0,
        "heartbeat_s": 5.0,
        "poll_s": 0.05,
        "item_timeout_s": 5.0,
        "item_attempts": 2,
    }
    options.update(overrides)
    return BatchRunner(repo=repo, processors={"classify": processor}, clock=clock, **options)


def hanging() -> tuple[asyncio.Event, ItemProcessor]:
    """A processor that never finishes an item, and the event it sets when one starts."""
    started = asyncio.Event()
    never = asyncio.Event()

    async def hangs(data: dict[str, Any]) -> dict[str, Any]:
        started.set()
        await never.wait()
        return {}

    return started, hangs


async def echo(data: dict[str, Any]) -> dict[str, Any]:
    return {"answer": data["concept"].upper()}


async def claim(runner: BatchRunner, repo: MemoryBatchJobRepository) -> BatchJobRecord:
    record = await repo.claim(worker_id=runner.worker_id, now=T0, lease_s=runner.lease_s)
    assert record is not None
    return record


async def test_a_job_runs_to_completion_with_every_result_stored() -> None:
    repo = MemoryBatchJobRepository()
    await add_job(repo, 7)
    runner = make_runner(repo, echo)
    await runner.run_job(await claim(runner, repo))
    job = await repo.get("job_1")
    assert job is not None
    assert (job.status, job.processed, job.succeeded, job.failed) == ("completed", 7, 7, 0)
    assert job.finished_at == T0 and job.lease_owner is None
    items = await repo.items("job_1", status=None, limit=100, offset=0)
    assert [i.result for i in items] == [{"answer": f"C{i}"} for i in range(7)]
    assert all(i.status == "succeeded" and i.attempts == 1 for i in items)


async def test_item_errors_are_recorded_and_temporary_ones_retried() -> None:
    calls: dict[str, int] = {}

    async def flaky(data: dict[str, Any]) -> dict[str, Any]:
        concept = data["concept"]
        calls[concept] = calls.get(concept, 0) + 1
        if concept == "c0":
            raise DeviceNotMedicalError("A step counter is not a medical device.")
        if concept == "c1":
            raise AIUnavailableError("The model server did not answer.")
        if concept == "c2" and calls[concept] == 1:
            raise AIUnavailableError("Once.")
        if concept == "c3":
            raise RuntimeError("a bug with internal detail")
        return {"ok": concept}

    repo = MemoryBatchJobRepository()
    await add_job(repo, 4)
    runner = make_runner(repo, flaky, item_attempts=2)
    await runner.run_job(await claim(runner, repo))
    items = {i.ref: i for i in await repo.items("job_1", status=None, limit=10, offset=0)}
    assert (items["r0"].status, items["r0"].error_code, items["r0"].attempts) == (
        "failed",
        "DEVICE_NOT_MEDICAL",
        1,  # a definite answer is not retried
    )
    assert (items["r1"].status, items["r1"].error_code, items["r1"].attempts) == (
        "failed",
        "AI_UNAVAILABLE",
        2,
    )
    assert (items["r2"].status, items["r2"].result, items["r2"].attempts) == (
        "succeeded",
        {"ok": "c2"},
        2,
    )
    assert items["r3"].error_code == "INTERNAL_ERROR"
    assert (
        items["r3"].error_message is not None and "internal detail" not in items["r3"].error_message
    )
    job = await repo.get("job_1")
    assert job is not None and (job.status, job.succeeded, job.failed) == ("completed", 1, 3)


async def test_an_item_over_its_time_limit_fails_and_the_job_goes_on() -> None:
    never = asyncio.Event()

    async def stuck(data: dict[str, Any]) -> dict[str, Any]:
        if data["concept"] == "c1":
            await never.wait()
        return {"ok": True}

    repo = MemoryBatchJobRepository()
    await add_job(repo, 3)
    runner = make_runner(repo, stuck, item_timeout_s=0.05, item_attempts=1)
    await runner.run_job(await claim(runner, repo))
    items = await repo.items("job_1", status="failed", limit=10, offset=0)
    assert [(i.position, i.error_code) for i in items] == [(1, "BATCH_ITEM_TIMEOUT")]
    job = await repo.get("job_1")
    assert job is not None and job.status == "completed" and job.succeeded == 2


async def test_items_run_at_most_item_concurrency_at_a_time() -> None:
    in_flight = 0
    peak = 0
    three_in = asyncio.Event()
    go = asyncio.Event()

    async def tracked(data: dict[str, Any]) -> dict[str, Any]:
        nonlocal in_flight, peak
        in_flight += 1
        peak = max(peak, in_flight)
        if in_flight == 3:
            three_in.set()
        await go.wait()
        in_flight -= 1
        return {}

    repo = MemoryBatchJobRepository()
    await add_job(repo, 8)
    runner = make_runner(repo, tracked, item_concurrency=3, chunk_size=8)
    task = asyncio.create_task(runner.run_job(await claim(runner, repo)))
    await asyncio.wait_for(three_in.wait(), 5)
    for _ in range(5):  # give a fourth item every chance to start, were the gate leaky
        await asyncio.sleep(0)
    assert in_flight == 3
    go.set()
    await asyncio.wait_for(task, 5)
    assert peak == 3


async def test_pause_stops_the_work_now_and_resume_finishes_each_item_once() -> None:
    clock = Clock()
    repo = WatchedRepo()
    await add_job(repo, 6)
    second_chunk_started = asyncio.Event()
    release_items = asyncio.Event()
    seen: list[str] = []

    async def gated(data: dict[str, Any]) -> dict[str, Any]:
        seen.append(data["concept"])
        if data["concept"] == "c3":
            second_chunk_started.set()
            await release_items.wait()
        return {"ok": data["concept"]}

    runner = make_runner(repo, gated, clock=clock, chunk_size=3, item_concurrency=1)
    service = BatchService(
        repo=repo,
        max_items=100,
        max_active=10,
        watch_interval_s=0.01,
        on_queued=runner.wake,
        on_stopped=runner.stop,
        clock=clock,
    )
    owner = principal("u1")
    work = asyncio.create_task(runner.run_job(await claim(runner, repo)))
    await asyncio.wait_for(second_chunk_started.wait(), 5)  # chunk 1 (c0-c2) is written
    paused = await service.pause(job_id="job_1", principal=owner)
    await asyncio.wait_for(work, 5)  # the work was cancelled at once, not at a heartbeat
    assert paused.status == "paused" and paused.processed == 3
    assert [i.position for i in await repo.items("job_1", status="pending", limit=9, offset=0)] == [
        3,
        4,
        5,
    ]
    release_items.set()
    resumed = await service.resume(job_id="job_1", principal=owner)
    assert resumed.status == "queued"
    clock.advance(10)
    await runner.run_job(
        await repo.claim(worker_id=runner.worker_id, now=clock(), lease_s=30) or _fail()
    )
    job = await repo.get("job_1")
    assert job is not None and (job.status, job.processed, job.succeeded) == ("completed", 6, 6)
    items = await repo.items("job_1", status=None, limit=9, offset=0)
    assert [i.attempts for i in items] == [1, 1, 1, 1, 1, 1]  # the abandoned c3 is redone once
    assert seen.count("c3") == 2 and job.run_started_at == clock()


async def test_cancel_cancels_the_pending_items_and_keeps_the_outcomes() -> None:
    repo = WatchedRepo()
    await add_job(repo, 5)
    hold = asyncio.Event()
    started = asyncio.Event()

    async def slow_after_two(data: dict[str, Any]) -> dict[str, Any]:
        if data["concept"] == "c2":
            started.set()
            await hold.wait()
        return {"ok": True}

    runner = make_runner(repo, slow_after_two, chunk_size=2, item_concurrency=1)
    service = BatchService(
        repo=repo, max_items=100, max_active=10, watch_interval_s=0.01, on_stopped=runner.stop
    )
    work = asyncio.create_task(runner.run_job(await claim(runner, repo)))
    await asyncio.wait_for(started.wait(), 5)
    cancelled = await service.cancel(job_id="job_1", principal=principal("u1"))
    await asyncio.wait_for(work, 5)
    assert (cancelled.status, cancelled.processed) == ("cancelled", 2)
    statuses = [i.status for i in await repo.items("job_1", status=None, limit=9, offset=0)]
    assert statuses == ["succeeded", "succeeded", "cancelled", "cancelled", "cancelled"]
    assert service.read(cancelled).cancelled == 3


async def test_a_pause_made_elsewhere_is_noticed_at_the_next_heartbeat() -> None:
    repo = MemoryBatchJobRepository()
    await add_job(repo, 2)
    started, hangs = hanging()
    runner = make_runner(repo, hangs, heartbeat_s=0.01)
    work = asyncio.create_task(runner.run_job(await claim(runner, repo)))
    await asyncio.wait_for(started.wait(), 5)
    # Another process paused it: nothing told this runner but the database.
    await repo.transition("job_1", allowed_from=("running",), to="paused", now=T0)
    await asyncio.wait_for(work, 5)
    job = await repo.get("job_1")
    assert job is not None and (job.status, job.processed) == ("paused", 0)


async def test_a_job_whose_worker_died_is_taken_over_after_its_lease() -> None:
    clock = Clock()
    repo = MemoryBatchJobRepository()
    await add_job(repo, 4)
    dead = await repo.claim(worker_id="dead-worker", now=clock(), lease_s=30)
    assert dead is not None
    await repo.record(
        "job_1",
        worker_id="dead-worker",
        outcomes=[BatchItemOutcome(position=0, result={"by": "dead"})],
        now=clock(),
        lease_s=30,
    )
    runner = make_runner(repo, echo, clock=clock)
    assert await repo.claim(worker_id=runner.worker_id, now=clock(), lease_s=30) is None
    clock.advance(31)
    taken = await repo.claim(worker_id=runner.worker_id, now=clock(), lease_s=30)
    assert taken is not None and taken.run_processed_at_start == 1
    await runner.run_job(taken)
    items = await repo.items("job_1", status=None, limit=9, offset=0)
    assert [i.result for i in items] == [
        {"by": "dead"},
        {"answer": "C1"},
        {"answer": "C2"},
        {"answer": "C3"},
    ]
    # The dead worker comes back: its late write changes nothing.
    late = await repo.record(
        "job_1",
        worker_id="dead-worker",
        outcomes=[BatchItemOutcome(position=1, result={"by": "dead"})],
        now=clock(),
        lease_s=30,
    )
    assert late is None
    job = await repo.get("job_1")
    assert job is not None and (job.status, job.processed) == ("completed", 4)


async def test_shutdown_gives_the_job_back_to_the_queue() -> None:
    repo = WatchedRepo()
    await add_job(repo, 3)
    started, hangs = hanging()
    runner = make_runner(repo, hangs)
    loop = asyncio.create_task(runner.run())
    await asyncio.wait_for(started.wait(), 5)
    loop.cancel()
    await asyncio.gather(loop, return_exceptions=True)
    job = await repo.get("job_1")
    assert job is not None and (job.status, job.lease_owner, job.processed) == ("queued", None, 0)


async def test_idle_workers_wake_for_a_new_job_and_run_two_jobs_at_once() -> None:
    repo = WatchedRepo()
    both_running = asyncio.Event()
    running = 0
    finish = asyncio.Event()

    async def meet(data: dict[str, Any]) -> dict[str, Any]:
        nonlocal running
        running += 1  # one item per job: two in flight means both jobs run at once
        if running == 2:
            both_running.set()
        await finish.wait()
        return {}

    runner = make_runner(repo, meet, workers=2, poll_s=60)  # only a wake can start them soon
    loop = asyncio.create_task(runner.run())
    try:
        await add_job(repo, 1, job_id="job_a")
        await add_job(repo, 1, job_id="job_b")
        runner.wake()
        await asyncio.wait_for(both_running.wait(), 5)
        finish.set()
        for job_id in ("job_a", "job_b"):
            while (job := await repo.get(job_id)) is None or job.status != "completed":
                repo.settled.clear()
                await asyncio.wait_for(repo.settled.wait(), 5)
    finally:
        loop.cancel()
        await asyncio.gather(loop, return_exceptions=True)


def principal(user_id: str) -> Any:
    from app.platform.principal import Principal

    return Principal(user_id=user_id, username=user_id, role="user", auth_method="jwt")


def _fail() -> BatchJobRecord:
    raise AssertionError("nothing to claim")


async def test_a_database_failure_gives_the_job_back_instead_of_failing_it() -> None:
    from sqlalchemy.exc import OperationalError

    class FlakyRepo(MemoryBatchJobRepository):
        def __init__(self) -> None:
            super().__init__()
            self.failures = 1

        async def record(self, job_id: str, **kwargs: Any) -> BatchJobRecord | None:
            if self.failures:
                self.failures -= 1
                raise OperationalError("UPDATE …", {}, Exception("database is locked"))
            return await super().record(job_id, **kwargs)

    repo = FlakyRepo()
    await add_job(repo, 3)
    runner = make_runner(repo, echo)
    await runner.run_job(await claim(runner, repo))
    job = await repo.get("job_1")
    assert job is not None and (job.status, job.lease_owner, job.processed) == ("queued", None, 0)
    await runner.run_job(await claim(runner, repo))
    job = await repo.get("job_1")
    assert job is not None and (job.status, job.succeeded, job.error) == ("completed", 3, None)
