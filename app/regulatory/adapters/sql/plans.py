"""Plans in `plans` (one row per plan, pointing at its latest version) and `plan_versions`."""

from __future__ import annotations

import json
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import and_, delete, insert, select, update
from sqlalchemy.engine import RowMapping
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncEngine

from app.platform.storage.sql.engine import reader
from app.platform.storage.sql.retry import retry_read
from app.platform.storage.sql.tables import plan_versions as v
from app.platform.storage.sql.tables import plans as p
from app.platform.storage.sql.values import aware, dumps
from app.regulatory.repository import NewPlan, PlanRecord, PlanVersionConflict

_COLUMNS = (
    p.c.id,
    p.c.session_id,
    p.c.owner_id,
    p.c.tier,
    v.c.version,
    v.c.data,
    v.c.modifications,
    v.c.applied_changes,
    v.c.created_at,
)


def _record(row: RowMapping) -> PlanRecord:
    return PlanRecord(
        id=row["id"],
        version=row["version"],
        session_id=row["session_id"],
        owner_id=row["owner_id"],
        tier=row["tier"],
        plan=json.loads(row["data"]),
        modifications=row["modifications"],
        applied_changes=json.loads(row["applied_changes"]),
        created_at=aware(row["created_at"]),
    )


class SqlPlanRepository:
    """Versions are rows keyed by (plan_id, version): a second writer of the same version fails
    on the primary key even if the row lock below were bypassed."""

    def __init__(self, engine: AsyncEngine) -> None:
        self._engine = engine

    async def create(
        self, plans: Sequence[NewPlan], *, session_id: str | None, owner_id: str | None
    ) -> list[PlanRecord]:
        now = datetime.now(UTC)
        out: list[PlanRecord] = []
        async with self._engine.begin() as conn:
            for index, new in enumerate(plans):
                # One microsecond apart: listing by creation time keeps the given order.
                at = now + timedelta(microseconds=index)
                await conn.execute(
                    insert(p).values(
                        id=new.id,
                        session_id=session_id,
                        owner_id=owner_id,
                        tier=new.tier,
                        latest_version=1,
                        created_at=at,
                        updated_at=at,
                    )
                )
                await conn.execute(
                    insert(v).values(
                        plan_id=new.id,
                        version=1,
                        data=dumps(new.plan),
                        modifications=None,
                        applied_changes="[]",
                        created_at=at,
                    )
                )
                out.append(
                    PlanRecord(
                        id=new.id,
                        version=1,
                        session_id=session_id,
                        owner_id=owner_id,
                        tier=new.tier,
                        plan=json.loads(dumps(new.plan)),
                        modifications=None,
                        applied_changes=[],
                        created_at=at,
                    )
                )
        return out

    async def add_version(
        self,
        plan_id: str,
        *,
        base_version: int,
        plan: dict[str, Any],
        modifications: str,
        applied_changes: list[str],
    ) -> PlanRecord | None:
        now = datetime.now(UTC)
        version = base_version + 1
        try:
            async with self._engine.begin() as conn:
                # FOR UPDATE serialises refines of one plan on PostgreSQL; SQLite transactions
                # are BEGIN IMMEDIATE, which serialises every writer.
                result = await conn.execute(select(p).where(p.c.id == plan_id).with_for_update())
                head = result.mappings().first()
                if head is None:
                    return None
                if head["latest_version"] != base_version:
                    raise PlanVersionConflict(plan_id)
                await conn.execute(
                    insert(v).values(
                        plan_id=plan_id,
                        version=version,
                        data=dumps(plan),
                        modifications=modifications,
                        applied_changes=dumps(applied_changes),
                        created_at=now,
                    )
                )
                await conn.execute(
                    update(p)
                    .where(p.c.id == plan_id, p.c.latest_version == base_version)
                    .values(latest_version=version, updated_at=now)
                )
        except IntegrityError as exc:
            raise PlanVersionConflict(plan_id) from exc
        return PlanRecord(
            id=plan_id,
            version=version,
            session_id=head["session_id"],
            owner_id=head["owner_id"],
            tier=head["tier"],
            plan=json.loads(dumps(plan)),
            modifications=modifications,
            applied_changes=list(applied_changes),
            created_at=now,
        )

    @retry_read
    async def get(self, plan_id: str, *, version: int | None = None) -> PlanRecord | None:
        wanted = p.c.latest_version if version is None else version
        stmt = (
            select(*_COLUMNS)
            .select_from(p.join(v, v.c.plan_id == p.c.id))
            .where(p.c.id == plan_id, v.c.version == wanted)
        )
        async with reader(self._engine).connect() as conn:
            row = (await conn.execute(stmt)).mappings().first()
        return None if row is None else _record(row)

    @retry_read
    async def history(self, plan_id: str) -> list[PlanRecord]:
        stmt = (
            select(*_COLUMNS)
            .select_from(p.join(v, v.c.plan_id == p.c.id))
            .where(p.c.id == plan_id)
            .order_by(v.c.version)
        )
        async with reader(self._engine).connect() as conn:
            return [_record(r) for r in (await conn.execute(stmt)).mappings()]

    @retry_read
    async def list_latest(
        self, *, session_id: str | None = None, owner_id: str | None = None, limit: int = 100
    ) -> list[PlanRecord]:
        stmt = select(*_COLUMNS).select_from(
            p.join(v, and_(v.c.plan_id == p.c.id, v.c.version == p.c.latest_version))
        )
        if session_id is not None:
            stmt = stmt.where(p.c.session_id == session_id)
        if owner_id is not None:
            stmt = stmt.where(p.c.owner_id == owner_id)
        stmt = stmt.order_by(p.c.created_at, p.c.id).limit(limit)
        async with reader(self._engine).connect() as conn:
            return [_record(r) for r in (await conn.execute(stmt)).mappings()]

    async def delete(self, plan_id: str) -> bool:
        async with self._engine.begin() as conn:
            await conn.execute(delete(v).where(v.c.plan_id == plan_id))
            result = await conn.execute(delete(p).where(p.c.id == plan_id))
            return bool(result.rowcount)
