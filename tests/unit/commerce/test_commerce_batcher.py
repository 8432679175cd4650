"""Group commit: many concurrent rows share a transaction; each waits for its own outcome.

No test waits for time to pass: the fake writer holds a commit until released and says when
one started, and rows submitted from new tasks are queued before a released commit resumes
(the loop runs ready callbacks in the order they were scheduled).
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence

import pytest

from app.commerce.batcher import BatchDeadlineExceeded, BatcherClosed, GroupCommitter

pytestmark = pytest.mark.unit


class FakeWriter:
    """Records each transaction; a transaction holding a 'bad' row fails as a whole."""

    def __init__(self) -> None:
        self.transactions: list[list[str]] = []
        self.release = asyncio.Event()
        self.release.set()
        self.started = asyncio.Event()

    async def write(self, rows: Sequence[str]) -> list[str]:
        self.started.set()
        await self.release.wait()
        await asyncio.sleep(0)  # a commit yields to the loop, as a real one does
        self.transactions.append(list(rows))
        if any(r.startswith("bad") for r in rows):
            raise ValueError("constraint violated")
        return [r.upper() for r in rows]


async def test_concurrent_rows_share_transactions_and_get_their_own_results() -> None:
    writer = FakeWriter()
    batcher: GroupCommitter[str, str] = GroupCommitter(write_many=writer.write, max_batch=64)
    results = await asyncio.gather(*(batcher.submit(f"r{i}") for i in range(200)))
    assert results == [f"R{i}" for i in range(200)]
    assert sum(len(t) for t in writer.transactions) == 200
    # 200 rows at once cannot take 200 commits: they queue behind the first and go in batches.
    assert len(writer.transactions) <= 200 // 64 + 2
    assert max(len(t) for t in writer.transactions) == 64
    await batcher.aclose()


async def test_a_bad_row_fails_alone() -> None:
    writer = FakeWriter()
    writer.release.clear()
    batcher: GroupCommitter[str, str] = GroupCommitter(write_many=writer.write, max_batch=10)
    # The first row's commit is held, so the next five queue up and go as one batch.
    first = asyncio.ensure_future(batcher.submit("a0"))
    await writer.started.wait()
    rest = [asyncio.ensure_future(batcher.submit(v)) for v in ("a1", "a2", "bad", "a3", "a4")]
    writer.release.set()
    assert await first == "A0"
    outcomes = await asyncio.gather(*rest, return_exceptions=True)
    assert outcomes[:2] == ["A1", "A2"] and outcomes[3:] == ["A3", "A4"]
    assert isinstance(outcomes[2], ValueError)
    assert ["a1", "a2", "bad", "a3", "a4"] in writer.transactions  # tried together first
    assert ["bad"] in writer.transactions and ["a1"] in writer.transactions  # then one by one
    await batcher.aclose()


async def loop_turns(count: int) -> None:
    """Let the loop run `count` rounds of ready callbacks: an order of events, not a time."""
    for _ in range(count):
        await asyncio.sleep(0)


async def test_window_collects_rows_that_arrive_a_little_later() -> None:
    writer = FakeWriter()
    # A window far longer than the test: the batch ends because it is full, never on time.
    batcher: GroupCommitter[str, str] = GroupCommitter(
        write_many=writer.write, max_batch=3, window_s=300
    )

    async def late(value: str, turns: int) -> str:
        await loop_turns(turns)
        return await batcher.submit(value)

    results = await asyncio.gather(late("x", 0), late("y", 3), late("z", 6))
    assert list(results) == ["X", "Y", "Z"]
    assert writer.transactions == [["x", "y", "z"]]
    await batcher.aclose()


async def test_rows_past_their_deadline_are_not_written() -> None:
    writer = FakeWriter()
    writer.release.clear()
    batcher: GroupCommitter[str, str] = GroupCommitter(write_many=writer.write)
    blocker = asyncio.ensure_future(batcher.submit("first"))
    await writer.started.wait()
    # Already past when it is queued: no timing decides whether it expires.
    loop = asyncio.get_running_loop()
    expired = asyncio.ensure_future(batcher.submit("late", deadline=loop.time()))
    writer.release.set()
    assert await blocker == "FIRST"
    with pytest.raises(BatchDeadlineExceeded):
        await expired
    assert ["late"] not in writer.transactions
    await batcher.aclose()


async def test_close_writes_what_is_queued_then_refuses_more() -> None:
    writer = FakeWriter()
    writer.release.clear()
    batcher: GroupCommitter[str, str] = GroupCommitter(write_many=writer.write, max_batch=2)
    pending = [asyncio.ensure_future(batcher.submit(f"q{i}")) for i in range(5)]
    await writer.started.wait()
    closing = asyncio.ensure_future(batcher.aclose())
    writer.release.set()
    await closing
    assert await asyncio.gather(*pending) == [f"Q{i}" for i in range(5)]
    with pytest.raises(BatcherClosed):
        await batcher.submit("after")
