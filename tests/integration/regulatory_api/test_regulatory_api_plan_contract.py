"""One contract, every PlanRepository adapter: memory, SQLite, PostgreSQL."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

from app.regulatory.adapters.sql.plans import SqlPlanRepository
from app.regulatory.plans import new_plan_id
from app.regulatory.repository import NewPlan, PlanRepository, PlanVersionConflict
from tests.support.fakes.plans import MemoryPlanRepository

pytestmark = pytest.mark.integration

TIERS = ("fastest", "normal", "conservative", "innovative")


@pytest.fixture
def repo(sql_backend) -> PlanRepository:  # type: ignore[no-untyped-def]
    if sql_backend.kind == "memory":
        return MemoryPlanRepository()
    return SqlPlanRepository(sql_backend.engine)


def body(plan_id: str, tier: str, title: str = "계획") -> dict[str, Any]:
    return {"id": plan_id, "tier": tier, "title": title, "version": 1}


def four(prefix: str = "") -> list[NewPlan]:
    return [NewPlan(id=new_plan_id(), tier=t, plan=body("x", t, f"{prefix}{t}")) for t in TIERS]


async def test_create_get_versions_history_delete(repo: PlanRepository) -> None:
    created = await repo.create(four(), session_id="sess_1", owner_id=None)
    assert [p.tier for p in created] == list(TIERS)
    pid = created[0].id
    first = await repo.get(pid)
    assert first is not None and first.version == 1 and first.session_id == "sess_1"
    assert first.plan["title"] == "fastest" and first.modifications is None

    second = await repo.add_version(
        pid,
        base_version=1,
        plan={"title": "단축"},
        modifications="기간 단축",
        applied_changes=["a"],
    )
    assert second is not None and second.version == 2 and second.session_id == "sess_1"
    assert second.tier == "fastest"
    latest = await repo.get(pid)
    assert latest is not None and latest.version == 2 and latest.plan == {"title": "단축"}
    assert latest.applied_changes == ["a"] and latest.modifications == "기간 단축"
    v1 = await repo.get(pid, version=1)
    assert v1 is not None and v1.plan["title"] == "fastest"
    assert await repo.get(pid, version=3) is None
    history = await repo.history(pid)
    assert [h.version for h in history] == [1, 2]
    assert history[0].created_at <= history[1].created_at

    assert (
        await repo.add_version(
            "plan_missing", base_version=1, plan={}, modifications="x", applied_changes=[]
        )
        is None
    )
    assert await repo.delete(pid) is True
    assert await repo.delete(pid) is False
    assert await repo.get(pid) is None and await repo.history(pid) == []
    assert await repo.get(created[1].id) is not None  # siblings untouched


async def test_stale_base_version_conflicts(repo: PlanRepository) -> None:
    pid = (await repo.create(four(), session_id=None, owner_id=None))[0].id
    await repo.add_version(
        pid, base_version=1, plan={"v": 2}, modifications="a", applied_changes=[]
    )
    with pytest.raises(PlanVersionConflict):
        await repo.add_version(
            pid, base_version=1, plan={"v": 2}, modifications="b", applied_changes=[]
        )
    assert [h.version for h in await repo.history(pid)] == [1, 2]


async def test_concurrent_versions_of_one_plan_have_one_winner(repo: PlanRepository) -> None:
    pid = (await repo.create(four(), session_id=None, owner_id=None))[0].id

    async def attempt(i: int) -> str:
        try:
            await repo.add_version(
                pid, base_version=1, plan={"i": i}, modifications=str(i), applied_changes=[]
            )
        except PlanVersionConflict:
            return "conflict"
        return "ok"

    outcomes = await asyncio.gather(*(attempt(i) for i in range(10)))
    assert outcomes.count("ok") == 1
    history = await repo.history(pid)
    assert [h.version for h in history] == [1, 2]


async def test_list_latest_filters_and_keeps_creation_order(repo: PlanRepository) -> None:
    a = await repo.create(four("a-"), session_id="sess_a", owner_id="u1")
    b = await repo.create(four("b-"), session_id="sess_b", owner_id=None)
    await repo.add_version(
        a[2].id, base_version=1, plan={"t": 2}, modifications="m", applied_changes=[]
    )
    in_a = await repo.list_latest(session_id="sess_a")
    assert [p.id for p in in_a] == [p.id for p in a]
    assert in_a[2].version == 2
    assert [p.id for p in await repo.list_latest(owner_id="u1")] == [p.id for p in a]
    assert [p.id for p in await repo.list_latest(session_id="sess_b")] == [p.id for p in b]
    assert await repo.list_latest(session_id="sess_a", owner_id="u2") == []
    assert len(await repo.list_latest()) == 8
    assert len(await repo.list_latest(limit=3)) == 3


async def test_two_users_creating_at_once_never_mix(repo: PlanRepository) -> None:
    async def user(owner: str) -> list[str]:
        ids: list[str] = []
        for _ in range(5):
            created = await repo.create(four(owner), session_id=f"sess_{owner}", owner_id=owner)
            ids += [p.id for p in created]
        return ids

    u1, u2 = await asyncio.gather(user("u1"), user("u2"))
    assert len(set(u1) | set(u2)) == 40
    mine = await repo.list_latest(owner_id="u1", limit=100)
    assert {p.id for p in mine} == set(u1)
    assert all(p.session_id == "sess_u1" and p.plan["title"].startswith("u1") for p in mine)
