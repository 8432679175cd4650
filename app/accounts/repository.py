"""The accounts area's store Protocols and records: what its service may ask of storage."""

from __future__ import annotations

import builtins
from dataclasses import dataclass, field
from datetime import datetime
from typing import Protocol


@dataclass(frozen=True, slots=True)
class UserRecord:
    """A stored account; `id` never changes (other areas store it as the owner of their rows)."""

    id: str
    username: str
    password_hash: str = field(repr=False)
    role: str
    is_active: bool
    created_at: datetime
    updated_at: datetime


@dataclass(frozen=True, slots=True)
class ApiKeyRecord:
    """A stored API key: only the SHA-256 of the key is kept; `prefix` is what lists show."""

    id: str
    user_id: str
    name: str
    prefix: str
    key_hash: str = field(repr=False)
    created_at: datetime
    rotated_at: datetime | None = None
    revoked_at: datetime | None = None


class UserRepository(Protocol):
    """Accounts by id and by (lower-case) username; usernames are unique."""

    async def create(self, user: UserRecord) -> bool:
        """Insert `user`; False (nothing written) when the username is taken."""

    async def get(self, user_id: str) -> UserRecord | None:
        """The user with this id, or None."""

    async def get_by_username(self, username: str) -> UserRecord | None:
        """The user with this (already normalised) username, or None."""

    async def list(self, *, limit: int, offset: int) -> list[UserRecord]:
        """Users ordered by creation time, then id."""

    async def update(
        self,
        user_id: str,
        *,
        role: str | None = None,
        is_active: bool | None = None,
        updated_at: datetime,
    ) -> UserRecord | None:
        """Change the given fields; None when no such user."""

    async def upsert_admin(self, user: UserRecord) -> UserRecord:
        """Create `user` as admin, or make the existing user of that username an active admin with
        `user.password_hash`; safe when several processes do it at the same moment."""

    async def changed_since(self, since: datetime) -> builtins.list[UserRecord]:
        """Users whose `updated_at` is at or after `since` (the auth change feed)."""


class OwnerMissingError(LookupError):
    """The user a new record would belong to does not exist (removed meanwhile)."""


class ApiKeyRepository(Protocol):
    """API keys of users, found by the hash of the presented key."""

    async def create(self, key: ApiKeyRecord, *, max_active: int) -> bool:
        """Insert `key` unless its user already has `max_active` unrevoked keys (atomically);
        `OwnerMissingError` when the repository knows users and this one is gone."""

    async def get_by_hash(self, key_hash: str) -> ApiKeyRecord | None:
        """The key (revoked or not) whose hash is `key_hash`, or None."""

    async def list_active(self, user_id: str) -> list[ApiKeyRecord]:
        """The user's unrevoked keys, oldest first."""

    async def revoke(
        self, key_id: str, *, user_id: str, revoked_at: datetime
    ) -> ApiKeyRecord | None:
        """Revoke the user's unrevoked key `key_id`; the revoked record, or None if none."""

    async def rotate(
        self, key_id: str, *, user_id: str, prefix: str, key_hash: str, rotated_at: datetime
    ) -> tuple[ApiKeyRecord, ApiKeyRecord] | None:
        """Give the user's unrevoked key a new secret (the old one stops working at once);
        (old, new) records, or None if no such key."""
