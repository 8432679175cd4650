"""In-process users (tests and tools; the service keeps users in SQL because they are durable)."""

from __future__ import annotations

import builtins
from dataclasses import replace
from datetime import datetime

from app.accounts.repository import UserRecord


class MemoryUserRepository:
    """Dicts by id and username; one event loop and no awaits inside a change, so no locks."""

    def __init__(self) -> None:
        self._by_id: dict[str, UserRecord] = {}
        self._id_by_username: dict[str, str] = {}

    async def create(self, user: UserRecord) -> bool:
        if user.username in self._id_by_username or user.id in self._by_id:
            return False
        self._by_id[user.id] = user
        self._id_by_username[user.username] = user.id
        return True

    async def get(self, user_id: str) -> UserRecord | None:
        return self._by_id.get(user_id)

    async def get_by_username(self, username: str) -> UserRecord | None:
        user_id = self._id_by_username.get(username)
        return None if user_id is None else self._by_id[user_id]

    async def list(self, *, limit: int, offset: int) -> list[UserRecord]:
        ordered = sorted(self._by_id.values(), key=lambda u: (u.created_at, u.id))
        return ordered[offset : offset + limit]

    async def update(
        self,
        user_id: str,
        *,
        role: str | None = None,
        is_active: bool | None = None,
        updated_at: datetime,
    ) -> UserRecord | None:
        user = self._by_id.get(user_id)
        if user is None:
            return None
        user = replace(
            user,
            role=user.role if role is None else role,
            is_active=user.is_active if is_active is None else is_active,
            updated_at=updated_at,
        )
        self._by_id[user_id] = user
        return user

    async def upsert_admin(self, user: UserRecord) -> UserRecord:
        existing = await self.get_by_username(user.username)
        if existing is None:
            admin = replace(user, role="admin", is_active=True)
            await self.create(admin)
            return admin
        admin = replace(
            existing,
            role="admin",
            is_active=True,
            password_hash=user.password_hash,
            updated_at=user.updated_at,
        )
        self._by_id[existing.id] = admin
        return admin

    async def changed_since(self, since: datetime) -> builtins.list[UserRecord]:
        return [u for u in self._by_id.values() if u.updated_at >= since]
