"""API keys in the `api_keys` table, looked up by the unique index on `key_hash`."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import func, insert, select, update
from sqlalchemy.engine import Row
from sqlalchemy.ext.asyncio import AsyncEngine

from app.accounts.repository import ApiKeyRecord, OwnerMissingError
from app.platform.storage.sql.engine import reader
from app.platform.storage.sql.retry import retry_read
from app.platform.storage.sql.tables import api_keys as t
from app.platform.storage.sql.tables import users
from app.platform.storage.sql.values import aware


def _record(row: Row[Any]) -> ApiKeyRecord:
    return ApiKeyRecord(
        id=row.id,
        user_id=row.user_id,
        name=row.name,
        prefix=row.prefix,
        key_hash=row.key_hash,
        created_at=aware(row.created_at),
        rotated_at=None if row.rotated_at is None else aware(row.rotated_at),
        revoked_at=None if row.revoked_at is None else aware(row.revoked_at),
    )


class SqlApiKeyRepository:
    """Per-user changes lock the owner's row (PostgreSQL) or the database (SQLite IMMEDIATE)."""

    def __init__(self, engine: AsyncEngine) -> None:
        self._engine = engine

    async def create(self, key: ApiKeyRecord, *, max_active: int) -> bool:
        async with self._engine.begin() as conn:
            # Serialises concurrent creations for one user so the count below stays true.
            owner = await conn.execute(
                select(users.c.id).where(users.c.id == key.user_id).with_for_update()
            )
            if owner.first() is None:
                # Removed after its token was checked: no foreign-key error, a clear answer.
                raise OwnerMissingError(key.user_id)
            active = await conn.execute(
                select(func.count())
                .select_from(t)
                .where(t.c.user_id == key.user_id, t.c.revoked_at.is_(None))
            )
            if int(active.scalar_one()) >= max_active:
                return False
            await conn.execute(
                insert(t).values(
                    id=key.id,
                    user_id=key.user_id,
                    name=key.name,
                    prefix=key.prefix,
                    key_hash=key.key_hash,
                    created_at=key.created_at,
                    rotated_at=key.rotated_at,
                    revoked_at=key.revoked_at,
                )
            )
            return True

    @retry_read
    async def get_by_hash(self, key_hash: str) -> ApiKeyRecord | None:
        async with reader(self._engine).connect() as conn:
            row = (await conn.execute(select(t).where(t.c.key_hash == key_hash))).first()
        return None if row is None else _record(row)

    @retry_read
    async def list_active(self, user_id: str) -> list[ApiKeyRecord]:
        stmt = (
            select(t)
            .where(t.c.user_id == user_id, t.c.revoked_at.is_(None))
            .order_by(t.c.created_at, t.c.id)
        )
        async with reader(self._engine).connect() as conn:
            rows = (await conn.execute(stmt)).all()
        return [_record(r) for r in rows]

    def _owned_active(self, key_id: str, user_id: str) -> Any:
        return (t.c.id == key_id) & (t.c.user_id == user_id) & t.c.revoked_at.is_(None)

    async def revoke(
        self, key_id: str, *, user_id: str, revoked_at: datetime
    ) -> ApiKeyRecord | None:
        stmt = (
            update(t)
            .where(self._owned_active(key_id, user_id))
            .values(revoked_at=revoked_at)
            .returning(*t.c)
        )
        async with self._engine.begin() as conn:
            row = (await conn.execute(stmt)).first()
        return None if row is None else _record(row)

    async def rotate(
        self, key_id: str, *, user_id: str, prefix: str, key_hash: str, rotated_at: datetime
    ) -> tuple[ApiKeyRecord, ApiKeyRecord] | None:
        async with self._engine.begin() as conn:
            old = (
                await conn.execute(
                    select(t).where(self._owned_active(key_id, user_id)).with_for_update()
                )
            ).first()
            if old is None:
                return None
            new = (
                await conn.execute(
                    update(t)
                    .where(t.c.id == key_id)
                    .values(prefix=prefix, key_hash=key_hash, rotated_at=rotated_at)
                    .returning(*t.c)
                )
            ).one()
        return _record(old), _record(new)
