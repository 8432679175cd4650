"""One contract, every BatchJobRepository adapter: memory, SQLite, PostgreSQL."""

from __future__ import annotations

import asyncio
import secrets
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from app.batch.adapters.sql import SqlBatchJobRepository
from app.batch.repository import (
    BATCH_ACTIVE,
    BATCH_FINAL,
    BacklogFullError,
    BatchItemOutcome,
    BatchItemRecord,
    BatchJobRecord,
    BatchJobRepository,
    NewBatchItem,
    NewBatchJob,
)
from tests.support.fakes.batch import MemoryBatchJobRepository

pytestmark = pytest.mark.integration

T0 = datetime(2026, 1, 15, 10, 30, tzinfo=UTC)
LEASE_S = 30.0


@pytest.fixture
def repo(sql_backend) -> BatchJobRepository:  # type: ignore[no-untyped-def]
    if sql_backend.kind == "memory":
        return MemoryBatchJobRepository()
    return SqlBatchJobRepository(sql_backend.engine)


def at(seconds: float) -> datetime:
    return T0 + timedelta(seconds=seconds)


def item_input(n: int) -> dict[str, Any]:
    return {"제품": f"혈압계 {n}", "n": n, "tags": ["class-II", "ε"], "nested": {"ok": True}}


def new_job(
    owner: str = "usr_1",
    *,
    n: int = 3,
    created: datetime = T0,
    key: str | None = None,
    name: str | None = "분류 작업",
) -> NewBatchJob:
    return NewBatchJob(
        id="job_" + secrets.token_hex(8),
        owner_id=owner,
        kind="classify",
        name=name,
        items=[
            NewBatchItem(ref=None if p % 2 else f"ref-{p}", input=item_input(p)) for p in range(n)
        ],
        idempotency_key=key,
        request_hash=None if key is None else "h" * 64,
        created_at=created,
    )


async def create(
    repo: BatchJobRepository, job: NewBatchJob, max_active: int = 10
) -> BatchJobRecord:
    created = await repo.create(job, max_active=max_active)
    assert created is not None and created[1] is True
    return created[0]


async def all_items(repo: BatchJobRepository, job_id: str) -> list[BatchItemRecord]:
    return await repo.items(job_id, status=None, limit=100_000, offset=0)


async def claim_it(
    repo: BatchJobRepository, job_id: str, *, worker: str = "w1", now: datetime = T0
) -> BatchJobRecord:
    claimed = await repo.claim(worker_id=worker, now=now, lease_s=LEASE_S)
    assert claimed is not None and claimed.id == job_id
    return claimed


def ok(position: int, **result: Any) -> BatchItemOutcome:
    return BatchItemOutcome(position=position, result={"position": position, **result})


def bad(position: int, attempts: int = 1) -> BatchItemOutcome:
    return BatchItemOutcome(
        position=position,
        result=None,
        error_code="UPSTREAM_TIMEOUT",
        error_message="공급자가 응답하지 않음",
        attempts=attempts,
    )


# --- create / get / items ------------------------------------------------------------
async def test_create_get_and_items_round_trip(repo: BatchJobRepository) -> None:
    job = new_job(n=3, key="k-1")
    created = await repo.create(job, max_active=5)
    assert created is not None
    record, fresh = created
    assert fresh is True
    assert record.id == job.id and record.owner_id == "usr_1" and record.kind == "classify"
    assert record.name == "분류 작업" and record.status == "queued"
    assert (record.total, record.processed, record.succeeded, record.failed) == (3, 0, 0, 0)
    assert record.idempotency_key == "k-1" and record.request_hash == "h" * 64
    assert record.lease_owner is None and record.lease_expires_at is None
    assert record.created_at == T0 and record.updated_at == T0
    assert record.started_at is None and record.finished_at is None
    assert record.run_started_at is None and record.run_processed_at_start == 0
    assert record.error is None

    stored = await repo.get(job.id)
    assert stored == record
    assert stored is not None and stored.created_at.tzinfo is not None

    items = await all_items(repo, job.id)
    assert [it.position for it in items] == [0, 1, 2]
    assert [it.ref for it in items] == ["ref-0", None, "ref-2"]
    assert [it.input for it in items] == [item_input(p) for p in range(3)]
    for it in items:
        assert it.job_id == job.id and it.status == "pending" and it.attempts == 0
        assert it.result is None and it.error_code is None and it.error_message is None
        assert it.finished_at is None
    assert await repo.get("job_missing") is None
    assert await repo.items("job_missing", status=None, limit=10, offset=0) == []


async def test_a_job_without_a_name_or_items_is_stored(repo: BatchJobRepository) -> None:
    record = await create(repo, new_job(n=0, name=None))
    assert record.total == 0 and record.name is None
    assert await repo.get(record.id) == record
    assert await all_items(repo, record.id) == []


async def test_idempotent_replay_returns_the_same_job_and_writes_nothing(
    repo: BatchJobRepository,
) -> None:
    first = await create(repo, new_job(key="same", n=2))
    again = new_job(key="same", n=5, created=at(60))
    replay = await repo.create(again, max_active=5)
    assert replay == (first, False)
    assert await repo.get(again.id) is None
    assert await repo.items(again.id, status=None, limit=10, offset=0) == []
    assert len(await all_items(repo, first.id)) == 2
    # The key belongs to its owner; no key never collides.
    other = await create(repo, new_job("usr_2", key="same"))
    assert other.id != first.id
    a = await create(repo, new_job(key=None))
    b = await create(repo, new_job(key=None))
    assert a.id != b.id
    assert len(await repo.list_by_owner("usr_1", status=None, limit=10, offset=0)) == 3


async def test_replay_wins_over_the_active_limit(repo: BatchJobRepository) -> None:
    first = await create(repo, new_job(key="k"), max_active=1)
    assert await repo.create(new_job(key="k"), max_active=1) == (first, False)
    assert await repo.create(new_job(key="other"), max_active=1) is None


async def test_concurrent_creates_with_one_key_store_one_job(repo: BatchJobRepository) -> None:
    jobs = [new_job(key="race", n=3) for _ in range(10)]
    results = await asyncio.gather(*(repo.create(job, max_active=100) for job in jobs))
    assert all(r is not None for r in results)
    assert [r[1] for r in results if r is not None].count(True) == 1
    assert len({r[0].id for r in results if r is not None}) == 1
    assert len(await repo.list_by_owner("usr_1", status=None, limit=100, offset=0)) == 1


async def test_max_active_refuses_and_writes_nothing(repo: BatchJobRepository) -> None:
    a = await create(repo, new_job(created=at(0)), max_active=3)
    b = await create(repo, new_job(created=at(1)), max_active=3)
    c = await create(repo, new_job(created=at(2)), max_active=3)
    await claim_it(repo, a.id, now=at(10))  # running counts
    assert await repo.transition(b.id, allowed_from=("queued",), to="paused", now=at(11))
    refused = new_job(created=at(20))
    assert await repo.create(refused, max_active=3) is None
    assert await repo.get(refused.id) is None
    assert await repo.items(refused.id, status=None, limit=10, offset=0) == []
    assert await create(repo, new_job("usr_2"), max_active=3)  # per owner
    # A job that finished no longer counts.
    assert await repo.transition(c.id, allowed_from=BATCH_ACTIVE, to="cancelled", now=at(30))
    assert await create(repo, new_job(created=at(40)), max_active=3)
    assert await repo.create(new_job(created=at(41)), max_active=3) is None


async def test_concurrent_creates_respect_max_active(repo: BatchJobRepository) -> None:
    jobs = [new_job(created=at(s)) for s in range(10)]
    results = await asyncio.gather(*(repo.create(job, max_active=3) for job in jobs))
    assert sum(1 for r in results if r is not None) == 3
    listed = await repo.list_by_owner("usr_1", status=None, limit=100, offset=0)
    assert len(listed) == 3


async def test_two_thousand_items_are_stored_and_paged(repo: BatchJobRepository) -> None:
    job = new_job(n=2000)
    record = await create(repo, job)
    assert record.total == 2000
    pages: list[BatchItemRecord] = []
    for offset in range(0, 2000, 300):
        pages += await repo.items(job.id, status=None, limit=300, offset=offset)
    assert [it.position for it in pages] == list(range(2000))
    assert [it.input for it in pages[1995:]] == [item_input(p) for p in range(1995, 2000)]
    assert await repo.items(job.id, status=None, limit=10, offset=2000) == []

    await claim_it(repo, job.id)
    first = await repo.next_pending(job.id, limit=100)
    assert [it.position for it in first] == list(range(100))
    await repo.record(
        job.id,
        worker_id="w1",
        outcomes=[ok(it.position) for it in first],
        now=at(1),
        lease_s=LEASE_S,
    )
    assert [it.position for it in await repo.next_pending(job.id, limit=100)] == list(
        range(100, 200)
    )
    done = await repo.items(job.id, status="succeeded", limit=1000, offset=0)
    assert [it.position for it in done] == list(range(100))
    pending = await repo.items(job.id, status="pending", limit=5, offset=1895)
    assert [it.position for it in pending] == list(range(1995, 2000))


# --- listing -------------------------------------------------------------------------
async def test_list_by_owner_newest_first_with_filter_and_paging(
    repo: BatchJobRepository,
) -> None:
    mine = [await create(repo, new_job(created=at(s))) for s in range(5)]
    await create(repo, new_job("usr_2", created=at(100)))
    newest_first = [r.id for r in reversed(mine)]
    listed = await repo.list_by_owner("usr_1", status=None, limit=10, offset=0)
    assert [r.id for r in listed] == newest_first
    assert listed[0] == await repo.get(mine[4].id)
    page = await repo.list_by_owner("usr_1", status=None, limit=2, offset=1)
    assert [r.id for r in page] == newest_first[1:3]
    assert await repo.list_by_owner("usr_1", status=None, limit=10, offset=5) == []

    await repo.transition(mine[1].id, allowed_from=("queued",), to="cancelled", now=at(50))
    cancelled = await repo.list_by_owner("usr_1", status="cancelled", limit=10, offset=0)
    assert [r.id for r in cancelled] == [mine[1].id]
    queued = await repo.list_by_owner("usr_1", status="queued", limit=10, offset=0)
    assert [r.id for r in queued] == [mine[4].id, mine[3].id, mine[2].id, mine[0].id]
    assert await repo.list_by_owner("usr_3", status=None, limit=10, offset=0) == []
    others = await repo.list_by_owner("usr_2", status=None, limit=10, offset=0)
    assert [r.owner_id for r in others] == ["usr_2"]


# --- claim ---------------------------------------------------------------------------
async def test_claim_takes_the_oldest_and_sets_the_run(repo: BatchJobRepository) -> None:
    assert await repo.claim(worker_id="w1", now=T0, lease_s=LEASE_S) is None
    newer = await create(repo, new_job(created=at(5)))
    older = await create(repo, new_job(created=at(0)))
    claimed = await claim_it(repo, older.id, worker="w1", now=at(10))
    assert claimed.status == "running" and claimed.lease_owner == "w1"
    assert claimed.lease_expires_at == at(10 + LEASE_S)
    assert claimed.started_at == at(10) and claimed.run_started_at == at(10)
    assert claimed.run_processed_at_start == 0 and claimed.updated_at == at(10)
    assert await repo.get(older.id) == claimed
    second = await claim_it(repo, newer.id, worker="w2", now=at(11))
    assert second.lease_owner == "w2"
    # Both leases are live: nothing left to run.
    assert await repo.claim(worker_id="w3", now=at(12), lease_s=LEASE_S) is None


async def test_expired_lease_is_taken_over_and_a_live_one_is_not(
    repo: BatchJobRepository,
) -> None:
    job = await create(repo, new_job(n=3, created=at(0)))
    await claim_it(repo, job.id, worker="w1", now=at(10))
    await repo.record(job.id, worker_id="w1", outcomes=[ok(0)], now=at(20), lease_s=LEASE_S)
    # Recorded at 20: the lease now runs until 50.
    queued = await create(repo, new_job(created=at(30)))
    taken = await claim_it(repo, queued.id, worker="w2", now=at(49))
    assert taken.lease_owner == "w2"
    # At the very moment it expires, the older running job comes first again.
    again = await claim_it(repo, job.id, worker="w3", now=at(50))
    assert again.lease_owner == "w3" and again.lease_expires_at == at(50 + LEASE_S)
    assert again.started_at == at(10)  # the first claim's
    assert again.run_started_at == at(50) and again.run_processed_at_start == 1
    assert again.processed == 1
    # The worker that lost it writes nothing any more.
    assert await repo.heartbeat(job.id, worker_id="w1", now=at(51), lease_s=LEASE_S) is False
    assert (
        await repo.record(job.id, worker_id="w1", outcomes=[ok(1)], now=at(51), lease_s=LEASE_S)
        is None
    )
    assert [it.status for it in await all_items(repo, job.id)] == [
        "succeeded",
        "pending",
        "pending",
    ]


async def test_paused_cancelled_and_finished_jobs_are_not_claimed(
    repo: BatchJobRepository,
) -> None:
    paused = await create(repo, new_job(created=at(0)))
    cancelled = await create(repo, new_job(created=at(1)))
    await repo.transition(paused.id, allowed_from=("queued",), to="paused", now=at(2))
    await repo.transition(cancelled.id, allowed_from=("queued",), to="cancelled", now=at(2))
    assert await repo.claim(worker_id="w1", now=at(1000), lease_s=LEASE_S) is None
    # Resumed: queued again, and claimable.
    assert await repo.transition(paused.id, allowed_from=("paused",), to="queued", now=at(3))
    await claim_it(repo, paused.id, now=at(4))


async def test_concurrent_claims_never_share_a_job(repo: BatchJobRepository) -> None:
    jobs = [await create(repo, new_job(created=at(s))) for s in range(5)]
    claims = await asyncio.gather(
        *(repo.claim(worker_id=f"w{n}", now=at(10), lease_s=LEASE_S) for n in range(20))
    )
    won = [c for c in claims if c is not None]
    assert len(won) == 5 and claims.count(None) == 15
    assert {c.id for c in won} == {j.id for j in jobs}
    assert len({c.lease_owner for c in won}) == 5
    for c in won:
        stored = await repo.get(c.id)
        assert stored is not None and stored.lease_owner == c.lease_owner


# --- the worker's writes -------------------------------------------------------------
async def test_heartbeat_extends_only_its_own_lease(repo: BatchJobRepository) -> None:
    job = await create(repo, new_job())
    assert await repo.heartbeat(job.id, worker_id="w1", now=at(1), lease_s=LEASE_S) is False
    await claim_it(repo, job.id, worker="w1", now=at(0))
    assert await repo.heartbeat(job.id, worker_id="w1", now=at(20), lease_s=60) is True
    stored = await repo.get(job.id)
    assert stored is not None and stored.lease_expires_at == at(80)
    assert await repo.heartbeat(job.id, worker_id="w2", now=at(21), lease_s=60) is False
    assert await repo.get(job.id) == stored
    assert await repo.heartbeat("job_missing", worker_id="w1", now=at(21), lease_s=60) is False


async def test_record_counts_pending_items_once_and_completes(repo: BatchJobRepository) -> None:
    job = await create(repo, new_job(n=3))
    await claim_it(repo, job.id, worker="w1", now=at(0))

    after = await repo.record(
        job.id,
        worker_id="w1",
        outcomes=[ok(0, 판정="2등급"), bad(1, attempts=3)],
        now=at(5),
        lease_s=LEASE_S,
    )
    assert after is not None and after == await repo.get(job.id)
    assert after.status == "running" and after.lease_owner == "w1"
    assert (after.processed, after.succeeded, after.failed) == (2, 1, 1)
    assert after.lease_expires_at == at(35) and after.updated_at == at(5)
    assert after.finished_at is None
    items = await all_items(repo, job.id)
    assert items[0].status == "succeeded" and items[0].result == {"position": 0, "판정": "2등급"}
    assert items[0].error_code is None and items[0].attempts == 1
    assert items[0].finished_at == at(5)
    assert items[1].status == "failed" and items[1].result is None
    assert items[1].error_code == "UPSTREAM_TIMEOUT"
    assert items[1].error_message == "공급자가 응답하지 않음"
    assert items[1].attempts == 3 and items[1].finished_at == at(5)
    assert items[2].status == "pending" and items[2].attempts == 0

    # Again for finished items (and one that does not exist): nothing counted or changed.
    again = await repo.record(
        job.id, worker_id="w1", outcomes=[bad(0), ok(1), ok(7)], now=at(6), lease_s=LEASE_S
    )
    assert again is not None and (again.processed, again.succeeded, again.failed) == (2, 1, 1)
    assert await all_items(repo, job.id) == items
    assert again.lease_expires_at == at(36)

    # Nothing to store: only the lease is renewed while items are pending.
    renewed = await repo.record(job.id, worker_id="w1", outcomes=[], now=at(7), lease_s=LEASE_S)
    assert renewed is not None and renewed.status == "running"
    assert renewed.lease_expires_at == at(37)
    assert await repo.next_pending(job.id, limit=10) == [items[2]]

    done = await repo.record(job.id, worker_id="w1", outcomes=[ok(2)], now=at(8), lease_s=LEASE_S)
    assert done is not None and done == await repo.get(job.id)
    assert done.status == "completed" and done.finished_at == at(8)
    assert done.lease_owner is None and done.lease_expires_at is None
    assert (done.processed, done.succeeded, done.failed, done.total) == (3, 2, 1, 3)
    assert await repo.next_pending(job.id, limit=10) == []
    # Completed: the worker's lease is gone.
    assert (
        await repo.record(job.id, worker_id="w1", outcomes=[], now=at(9), lease_s=LEASE_S) is None
    )
    assert await repo.heartbeat(job.id, worker_id="w1", now=at(9), lease_s=LEASE_S) is False


async def test_one_position_twice_in_one_record_counts_once(repo: BatchJobRepository) -> None:
    job = await create(repo, new_job(n=2))
    await claim_it(repo, job.id)
    after = await repo.record(
        job.id, worker_id="w1", outcomes=[ok(0), ok(0)], now=at(1), lease_s=LEASE_S
    )
    assert after is not None and (after.processed, after.succeeded) == (1, 1)
    assert after.status == "running"
    assert [it.status for it in await all_items(repo, job.id)] == ["succeeded", "pending"]


async def test_an_empty_job_completes_on_its_first_record(repo: BatchJobRepository) -> None:
    job = await create(repo, new_job(n=0))
    await claim_it(repo, job.id)
    done = await repo.record(job.id, worker_id="w1", outcomes=[], now=at(1), lease_s=LEASE_S)
    assert done is not None and done.status == "completed" and done.finished_at == at(1)
    assert done.processed == 0


@pytest.mark.parametrize("stop", ["wrong worker", "paused", "cancelled", "released"])
async def test_a_worker_without_the_lease_writes_nothing(
    repo: BatchJobRepository, stop: str
) -> None:
    job = await create(repo, new_job(n=3))
    await claim_it(repo, job.id, worker="w1", now=at(0))
    await repo.record(job.id, worker_id="w1", outcomes=[ok(0)], now=at(1), lease_s=LEASE_S)
    worker = "w1"
    if stop == "wrong worker":
        worker = "w2"
    elif stop == "released":
        assert await repo.release(job.id, worker_id="w1", now=at(2)) is True
    else:
        stopped = await repo.transition(job.id, allowed_from=("running",), to=stop, now=at(2))
        assert stopped is not None and stopped.lease_owner is None
    before_job = await repo.get(job.id)
    before_items = await all_items(repo, job.id)
    assert before_job is not None

    assert await repo.heartbeat(job.id, worker_id=worker, now=at(3), lease_s=LEASE_S) is False
    assert (
        await repo.record(
            job.id, worker_id=worker, outcomes=[ok(1), bad(2)], now=at(3), lease_s=LEASE_S
        )
        is None
    )
    assert await repo.record(job.id, worker_id=worker, outcomes=[], now=at(3), lease_s=1) is None
    assert await repo.release(job.id, worker_id=worker, now=at(3)) is False
    assert await repo.fail(job.id, worker_id=worker, error="boom", now=at(3)) is False

    assert await repo.get(job.id) == before_job
    assert await all_items(repo, job.id) == before_items
    assert (before_job.processed, before_job.succeeded) == (1, 1)
    expected = "cancelled" if stop == "cancelled" else "pending"
    assert [it.status for it in before_items] == ["succeeded", expected, expected]


async def test_release_puts_the_job_back_for_another_run(repo: BatchJobRepository) -> None:
    job = await create(repo, new_job(n=2))
    await claim_it(repo, job.id, worker="w1", now=at(0))
    await repo.record(job.id, worker_id="w1", outcomes=[ok(0)], now=at(1), lease_s=LEASE_S)
    assert await repo.release(job.id, worker_id="w1", now=at(2)) is True
    released = await repo.get(job.id)
    assert released is not None and released.status == "queued"
    assert released.lease_owner is None and released.lease_expires_at is None
    assert released.updated_at == at(2) and released.finished_at is None
    again = await claim_it(repo, job.id, worker="w2", now=at(3))
    assert again.started_at == at(0) and again.run_started_at == at(3)
    assert again.run_processed_at_start == 1


async def test_fail_cancels_pending_items_and_keeps_finished_ones(
    repo: BatchJobRepository,
) -> None:
    job = await create(repo, new_job(n=3))
    await claim_it(repo, job.id, worker="w1", now=at(0))
    await repo.record(job.id, worker_id="w1", outcomes=[ok(0)], now=at(1), lease_s=LEASE_S)
    assert await repo.fail(job.id, worker_id="w2", error="not mine", now=at(2)) is False
    assert await repo.fail(job.id, worker_id="w1", error="공급자 장애", now=at(3)) is True
    failed = await repo.get(job.id)
    assert failed is not None and failed.status == "failed" and failed.error == "공급자 장애"
    assert failed.finished_at == at(3) and failed.updated_at == at(3)
    assert failed.lease_owner is None and failed.lease_expires_at is None
    assert (failed.processed, failed.succeeded, failed.failed) == (1, 1, 0)
    items = await all_items(repo, job.id)
    assert [(it.status, it.finished_at) for it in items] == [
        ("succeeded", at(1)),
        ("cancelled", at(3)),
        ("cancelled", at(3)),
    ]
    assert await repo.fail(job.id, worker_id="w1", error="again", now=at(4)) is False


# --- transitions, delete, purge -------------------------------------------------------
async def test_transition_respects_allowed_from_and_clears_the_lease(
    repo: BatchJobRepository,
) -> None:
    job = await create(repo, new_job())
    assert await repo.transition(job.id, allowed_from=("running",), to="paused", now=at(1)) is None
    assert await repo.get(job.id) == job
    assert (
        await repo.transition("job_missing", allowed_from=BATCH_ACTIVE, to="paused", now=at(1))
        is None
    )
    await claim_it(repo, job.id, worker="w1", now=at(2))
    paused = await repo.transition(
        job.id, allowed_from=("queued", "running"), to="paused", now=at(3)
    )
    assert paused is not None and paused == await repo.get(job.id)
    assert paused.status == "paused" and paused.updated_at == at(3)
    assert paused.lease_owner is None and paused.lease_expires_at is None
    assert paused.finished_at is None and paused.started_at == at(2)
    assert [it.status for it in await all_items(repo, job.id)] == ["pending"] * 3
    resumed = await repo.transition(job.id, allowed_from=("paused",), to="queued", now=at(4))
    assert resumed is not None and resumed.status == "queued"
    assert await repo.transition(job.id, allowed_from=("paused",), to="queued", now=at(5)) is None


async def test_cancel_cancels_pending_items_and_keeps_finished_ones(
    repo: BatchJobRepository,
) -> None:
    job = await create(repo, new_job(n=3))
    await claim_it(repo, job.id, worker="w1", now=at(0))
    await repo.record(job.id, worker_id="w1", outcomes=[bad(1)], now=at(1), lease_s=LEASE_S)
    cancelled = await repo.transition(job.id, allowed_from=BATCH_ACTIVE, to="cancelled", now=at(2))
    assert cancelled is not None and cancelled == await repo.get(job.id)
    assert cancelled.status == "cancelled" and cancelled.finished_at == at(2)
    assert cancelled.lease_owner is None and cancelled.lease_expires_at is None
    assert (cancelled.processed, cancelled.failed) == (1, 1)
    items = await all_items(repo, job.id)
    assert [(it.status, it.finished_at) for it in items] == [
        ("cancelled", at(2)),
        ("failed", at(1)),
        ("cancelled", at(2)),
    ]
    assert items[1].error_code == "UPSTREAM_TIMEOUT"
    assert await repo.items(job.id, status="cancelled", limit=10, offset=0) == [
        items[0],
        items[2],
    ]
    assert (
        await repo.transition(job.id, allowed_from=BATCH_ACTIVE, to="cancelled", now=at(3)) is None
    )


async def test_delete_only_in_the_given_statuses(repo: BatchJobRepository) -> None:
    job = await create(repo, new_job(n=3))
    other = await create(repo, new_job(n=2))
    assert await repo.delete(job.id, statuses=BATCH_FINAL) is False
    assert await repo.get(job.id) == job
    assert len(await all_items(repo, job.id)) == 3
    await repo.transition(job.id, allowed_from=("queued",), to="cancelled", now=at(1))
    assert await repo.delete(job.id, statuses=BATCH_FINAL) is True
    assert await repo.get(job.id) is None
    assert await all_items(repo, job.id) == []
    assert await repo.delete(job.id, statuses=BATCH_FINAL) is False
    assert await repo.delete(other.id, statuses=("queued",)) is True
    assert await repo.get(other.id) is None and await all_items(repo, other.id) == []


async def test_purge_removes_only_final_jobs_finished_before_the_cutoff(
    repo: BatchJobRepository,
) -> None:
    completed = await create(repo, new_job(n=1, created=at(0)))
    await claim_it(repo, completed.id, now=at(1))
    await repo.record(completed.id, worker_id="w1", outcomes=[ok(0)], now=at(10), lease_s=LEASE_S)
    failed = await create(repo, new_job(n=2, created=at(2)))
    await claim_it(repo, failed.id, now=at(3))
    assert await repo.fail(failed.id, worker_id="w1", error="x", now=at(20))
    cancelled = await create(repo, new_job(created=at(4)))
    await repo.transition(cancelled.id, allowed_from=("queued",), to="cancelled", now=at(30))
    late = await create(repo, new_job(created=at(5)))
    await repo.transition(late.id, allowed_from=("queued",), to="cancelled", now=at(100))
    running = await create(repo, new_job(created=at(6)))
    await claim_it(repo, running.id, now=at(7))
    queued = await create(repo, new_job(created=at(8)))
    paused = await create(repo, new_job(created=at(9)))
    await repo.transition(paused.id, allowed_from=("queued",), to="paused", now=at(9))

    old = {completed.id, failed.id, cancelled.id}
    assert await repo.purge_finished(before=at(100), batch=2) == 2
    assert await repo.purge_finished(before=at(100), batch=2) == 1
    assert await repo.purge_finished(before=at(100), batch=2) == 0
    for job_id in old:
        assert await repo.get(job_id) is None
        assert await all_items(repo, job_id) == []
    for kept in (late, running, queued, paused):
        assert await repo.get(kept.id) is not None
        assert len(await all_items(repo, kept.id)) == 3
    assert await repo.purge_finished(before=at(101)) == 1
    assert await repo.get(late.id) is None


async def chunks_of(items: list[NewBatchItem], size: int, *, fail_after: int | None = None) -> Any:
    """`items` in lists of `size`; raises RuntimeError after `fail_after` lists (a bad row)."""
    for n, start in enumerate(range(0, len(items), size)):
        if fail_after is not None and n == fail_after:
            raise RuntimeError("bad row")
        yield items[start : start + size]


async def test_a_streamed_create_stores_every_chunk_in_order(repo: BatchJobRepository) -> None:
    items = [NewBatchItem(ref=f"r{p}", input=item_input(p)) for p in range(25)]
    job = new_job(n=0)
    record = await repo.create_streamed(
        job, chunks_of(items, 10), max_active=10, max_items=25, max_backlog=100
    )
    assert record is not None and (record.total, record.status) == (25, "queued")
    stored = await repo.get(job.id)
    assert stored is not None and stored.total == 25
    rows = await all_items(repo, job.id)
    assert [(r.position, r.ref, r.input) for r in rows] == [
        (p, f"r{p}", item_input(p)) for p in range(25)
    ]
    assert await repo.backlog() == 25
    after = await repo.items_after(job.id, statuses=["pending"], after=20, limit=3)
    assert [r.position for r in after] == [21, 22, 23]


async def test_a_streamed_create_that_fails_midway_stores_nothing(
    repo: BatchJobRepository,
) -> None:
    items = [NewBatchItem(ref=None, input=item_input(p)) for p in range(30)]
    job = new_job(n=0)
    with pytest.raises(RuntimeError):
        await repo.create_streamed(
            job, chunks_of(items, 10, fail_after=2), max_active=10, max_items=30, max_backlog=100
        )
    with pytest.raises(ValueError):
        await repo.create_streamed(
            new_job(n=0), chunks_of(items, 10), max_active=10, max_items=29, max_backlog=100
        )
    with pytest.raises(BacklogFullError):
        await repo.create_streamed(
            new_job(n=0), chunks_of(items, 10), max_active=10, max_items=30, max_backlog=29
        )
    assert await repo.get(job.id) is None
    assert await repo.list_by_owner("usr_1", status=None, limit=10, offset=0) == []
    assert await repo.backlog() == 0


async def test_stats_count_jobs_items_and_finished_run_time(repo: BatchJobRepository) -> None:
    first = await create(repo, new_job("usr_1", n=2))
    await create(repo, new_job("usr_2", n=3, created=at(1)))
    await claim_it(repo, first.id, now=at(10))
    done = await repo.record(
        first.id, worker_id="w1", outcomes=[ok(0), bad(1)], now=at(14), lease_s=LEASE_S
    )
    assert done is not None and done.status == "completed"
    mine = await repo.stats(owner_id="usr_1")
    assert dict(mine.by_status) == {"completed": 1}
    assert (mine.total_items, mine.processed, mine.succeeded, mine.failed) == (2, 2, 1, 1)
    assert (mine.timed_jobs, mine.timed_seconds, mine.timed_items) == (1, 4.0, 2)
    everyone = await repo.stats(owner_id=None)
    assert dict(everyone.by_status) == {"completed": 1, "queued": 1}
    assert everyone.total_items == 5 and everyone.timed_jobs == 1
    assert (await repo.stats(owner_id="nobody")).by_status == {}


async def test_mark_attempted_counts_pending_items_under_the_lease_only(
    repo: BatchJobRepository,
) -> None:
    job = await create(repo, new_job(n=3))
    await claim_it(repo, job.id)
    await repo.record(job.id, worker_id="w1", outcomes=[ok(1)], now=at(1), lease_s=LEASE_S)
    assert await repo.mark_attempted(
        job.id, worker_id="w1", positions=[0, 1], now=at(2), lease_s=LEASE_S
    )
    assert not await repo.mark_attempted(
        job.id, worker_id="w2", positions=[2], now=at(2), lease_s=LEASE_S
    )
    items = await all_items(repo, job.id)
    # Item 1 already had its outcome (attempts 1 from it); item 2 was marked by a non-holder.
    assert [(i.status, i.attempts) for i in items] == [
        ("pending", 1),
        ("succeeded", 1),
        ("pending", 0),
    ]
    stored = await repo.get(job.id)
    assert stored is not None and stored.lease_expires_at == at(2 + LEASE_S)
