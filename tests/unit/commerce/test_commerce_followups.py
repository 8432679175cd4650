"""FollowUpQueue: what a stalled stock store missed is delivered, in order, once it answers."""

from __future__ import annotations

import asyncio

import pytest

from app.commerce.followups import FollowUp, FollowUpQueue
from app.commerce.repository import Reservation, StockStoreUnavailable

pytestmark = pytest.mark.unit


def reservation(purchase_id: str) -> Reservation:
    return Reservation(
        purchase_id=purchase_id, product_id=1, user_id="u", quantity=1, expires_at_ms=0
    )


class Store:
    """Refuses every follow-up while `down`; records what it was given."""

    def __init__(self) -> None:
        self.down = True
        self.attempts = 0
        self.delivered: list[tuple[str, str]] = []
        self.broken: set[str] = set()
        self.emptied = asyncio.Event()
        self.refused = asyncio.Event()

    async def apply(self, item: FollowUp) -> None:
        self.attempts += 1
        if self.down:
            self.refused.set()
            raise StockStoreUnavailable("TimeoutError")
        if item.reservation.purchase_id in self.broken:
            raise RuntimeError("a bug in one follow-up")
        self.delivered.append((item.kind, item.reservation.purchase_id))


async def test_follow_ups_wait_for_the_store_and_are_delivered_in_order() -> None:
    store = Store()
    queue = FollowUpQueue(apply=store.apply, retry_initial_s=0, retry_max_s=0)
    queue.add(FollowUp("cancel", reservation("a")))
    queue.add(FollowUp("confirm", reservation("b"), fingerprint="f", response_json="{}"))
    await store.refused.wait()
    assert queue.pending == 2 and store.delivered == []
    store.down = False
    while queue.pending:
        await asyncio.sleep(0)  # yield to the drain task (no time passes: retry interval 0)
    assert store.delivered == [("cancel", "a"), ("confirm", "b")]
    await queue.aclose()


async def test_one_follow_up_per_purchase_the_newest_wins() -> None:
    store = Store()
    store.down = False
    queue = FollowUpQueue(apply=store.apply)
    queue.add(FollowUp("confirm", reservation("a")))
    queue.add(FollowUp("cancel", reservation("a")))
    assert queue.pending == 1
    assert await queue.deliver() is True
    assert store.delivered == [("cancel", "a")]
    await queue.aclose()


async def test_a_full_queue_drops_the_oldest() -> None:
    store = Store()
    queue = FollowUpQueue(apply=store.apply, max_pending=2, retry_initial_s=60)
    for name in ("a", "b", "c"):
        queue.add(FollowUp("cancel", reservation(name)))
    assert queue.pending == 2
    store.down = False
    assert await queue.deliver() is True
    assert store.delivered == [("cancel", "b"), ("cancel", "c")]
    await queue.aclose()


async def test_a_failing_follow_up_does_not_block_the_others() -> None:
    store = Store()
    store.down = False
    store.broken = {"a"}
    queue = FollowUpQueue(apply=store.apply)
    queue.add(FollowUp("cancel", reservation("a")))
    queue.add(FollowUp("cancel", reservation("b")))
    assert await queue.deliver() is True
    assert store.delivered == [("cancel", "b")] and queue.pending == 0
    await queue.aclose()


async def test_items_older_than_max_age_are_left_to_the_reconciler() -> None:
    store = Store()
    store.down = False
    queue = FollowUpQueue(apply=store.apply, max_age_s=10)
    queue.add(FollowUp("cancel", reservation("old"), queued_at=0.0))  # long ago
    queue.add(FollowUp("cancel", reservation("new")))
    assert await queue.deliver() is True
    assert store.delivered == [("cancel", "new")]
    await queue.aclose()


async def test_close_makes_one_last_attempt_and_stops_retrying() -> None:
    store = Store()
    queue = FollowUpQueue(apply=store.apply, retry_initial_s=60)
    queue.add(FollowUp("cancel", reservation("a")))
    await store.refused.wait()  # the first attempt; the next would be a minute later
    store.down = False
    await queue.aclose()
    assert store.delivered == [("cancel", "a")] and queue.pending == 0
    queue_after = store.attempts
    await asyncio.sleep(0)
    assert store.attempts == queue_after
