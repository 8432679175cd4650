"""What the limits service asks of storage and of the accounts area (Protocols)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Protocol


@dataclass(frozen=True, slots=True)
class QuotaRecord:
    """A user's own limits; a None window is not limited by the quota."""

    user_id: str
    requests_per_minute: int | None
    requests_per_hour: int | None
    requests_per_day: int | None
    updated_by: str
    created_at: datetime
    updated_at: datetime


class QuotaRepository(Protocol):
    """Per-user quotas, one row per user."""

    async def get(self, user_id: str) -> QuotaRecord | None:
        """The user's quota, or None."""

    async def put(self, record: QuotaRecord) -> QuotaRecord:
        """Insert or replace the user's quota (keeping its first `created_at`); the stored row."""

    async def delete(self, user_id: str) -> bool:
        """Remove the user's quota; False when there was none."""

    async def list_all(self) -> list[QuotaRecord]:
        """Every quota (the limiter's snapshot)."""


class UserRole(Protocol):
    """What the service needs to know of a user."""

    @property
    def role(self) -> str: ...


class UserDirectory(Protocol):
    """The accounts service, as far as quotas need it (the lifespan passes it in)."""

    async def get_user_or_raise(self, *, user_id: str) -> UserRole:
        """The user; `UserNotFoundError` (404) when there is none."""
