"""The per-user quota table on both SQL backends: upsert keeps the first `created_at`, delete,
the whole-table read the limiter's snapshot makes, and the row going with its user."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import delete
from sqlalchemy.ext.asyncio import AsyncEngine

from app.accounts.adapters.sql.users import SqlUserRepository
from app.accounts.repository import UserRecord
from app.limits.adapters.sql.quotas import SqlQuotaRepository
from app.limits.repository import QuotaRecord
from app.platform.storage.sql.tables import users

pytestmark = pytest.mark.integration

T0 = datetime(2026, 12, 5, 10, 0, tzinfo=UTC)


@pytest.fixture(params=["sqlite", "postgres"])
def engine(request: pytest.FixtureRequest) -> AsyncEngine:
    engine: AsyncEngine = request.getfixturevalue(f"{request.param}_engine")
    return engine


async def add_user(engine: AsyncEngine, user_id: str) -> None:
    user = UserRecord(user_id, user_id, "x", "user", True, T0, T0)
    assert await SqlUserRepository(engine).create(user)


def quota(user_id: str, minute: int | None, day: int | None, at: datetime) -> QuotaRecord:
    return QuotaRecord(user_id, minute, None, day, "usr_admin", at, at)


async def test_quotas_upsert_delete_list_and_go_with_their_user(engine: AsyncEngine) -> None:
    repo = SqlQuotaRepository(engine)
    await add_user(engine, "usr_a")
    await add_user(engine, "usr_b")
    assert await repo.get("usr_a") is None and await repo.list_all() == []

    first = await repo.put(quota("usr_a", 30, None, T0))
    assert first == quota("usr_a", 30, None, T0)
    later = T0 + timedelta(minutes=5)
    second = await repo.put(quota("usr_a", None, 1000, later))
    # Replaced, but created once: `created_at` stays the first write's.
    assert second == QuotaRecord("usr_a", None, None, 1000, "usr_admin", T0, later)
    assert await repo.get("usr_a") == second
    await repo.put(quota("usr_b", 5, None, T0))
    assert sorted(r.user_id for r in await repo.list_all()) == ["usr_a", "usr_b"]

    assert await repo.delete("usr_a") is True
    assert await repo.delete("usr_a") is False
    assert await repo.get("usr_a") is None
    async with engine.begin() as conn:  # the user goes: so does the quota (FK cascade)
        await conn.execute(delete(users).where(users.c.id == "usr_b"))
    assert await repo.list_all() == []
