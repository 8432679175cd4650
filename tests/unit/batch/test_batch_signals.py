"""Progress streams wake when this process records progress, not only at their next poll."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

from app.batch.service import BatchService
from app.batch.signals import JobSignals
from tests.support.fakes.batch import MemoryBatchJobRepository
from tests.unit.batch.test_batch_runner import add_job, claim, make_runner, principal

pytestmark = pytest.mark.unit


async def test_notify_raises_the_flags_of_that_jobs_streams_only() -> None:
    signals = JobSignals()
    with signals.subscribe("a") as a1, signals.subscribe("a") as a2, signals.subscribe("b") as b:
        signals.notify("a")
        assert (a1.is_set(), a2.is_set(), b.is_set()) == (True, True, False)
        a1.clear()
        signals.notify("a")  # a change after a clear is kept for the next wait
        assert a1.is_set()
    signals.notify("a")  # nobody follows it any more: nothing to do, nothing kept
    assert signals._subscribers == {}


async def test_a_stream_follows_a_local_job_chunk_by_chunk_without_polling() -> None:
    repo = MemoryBatchJobRepository()
    await add_job(repo, 6)
    gate = asyncio.Event()

    async def gated(data: dict[str, Any]) -> dict[str, Any]:
        await gate.wait()
        return {"ok": True}

    signals = JobSignals()
    runner = make_runner(repo, gated, chunk_size=2, item_concurrency=2)
    runner.signals = signals
    # An hour between looks at the database: only the runner's signals can move the stream.
    service = BatchService(
        repo=repo, max_items=100, max_active=10, watch_interval_s=3600, signals=signals
    )
    events = await service.watch(job_id="job_1", principal=principal("u1"))
    first = await anext(events)
    assert (first["type"], first["job"]["processed"]) == ("progress", 0)
    work = asyncio.create_task(runner.run_job(await claim(runner, repo)))
    gate.set()
    seen = [await asyncio.wait_for(anext(events), 5) for _ in range(3)]
    await asyncio.wait_for(work, 5)
    assert [e["job"]["processed"] for e in seen] == [2, 4, 6]
    assert [e["type"] for e in seen] == ["progress", "progress", "done"]
    assert seen[-1]["job"]["status"] == "completed"
