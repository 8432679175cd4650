"""Rate-limit administration: lift automatic blocks, set and clear per-user quotas."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime

from app.limits.repository import QuotaRecord, QuotaRepository, UserDirectory
from app.platform.clock import utc_now
from app.platform.config import Settings
from app.platform.errors import BlockNotFoundError, QuotaNotFoundError
from app.platform.principal import Principal
from app.platform.ratelimit.blocks import BlockRecord
from app.platform.ratelimit.items import RateLimitItem, parse_limits
from app.platform.ratelimit.limiter import RateLimiter
from app.platform.ratelimit.quotas import QuotaSnapshot

_WINDOWS = (("requests_per_minute", 60), ("requests_per_hour", 3600), ("requests_per_day", 86_400))


def quota_items(record: QuotaRecord) -> tuple[RateLimitItem, ...]:
    """The limits a quota stands for, shortest window first."""
    return tuple(
        RateLimitItem(amount=amount, window_s=window_s)
        for field, window_s in _WINDOWS
        if (amount := getattr(record, field)) is not None
    )


@dataclass(frozen=True, slots=True)
class QuotaState:
    """A user's quota (None: the tier applies) and the limits in force for them."""

    user_id: str
    record: QuotaRecord | None
    effective: tuple[RateLimitItem, ...]


class LimitsService:
    """Blocks live in the limiter's store; quotas in SQL, read by the limiter's `QuotaCache`."""

    def __init__(
        self,
        *,
        limiter: RateLimiter,
        quotas: QuotaRepository,
        users: UserDirectory,
        tiers: dict[str, tuple[RateLimitItem, ...]],
        clock: Callable[[], datetime] = utc_now,
    ) -> None:
        self.limiter = limiter
        self.quotas = quotas
        self.users = users
        self.tiers = tiers
        self._clock = clock

    @classmethod
    def from_settings(
        cls,
        settings: Settings,
        *,
        limiter: RateLimiter,
        quotas: QuotaRepository,
        users: UserDirectory,
    ) -> LimitsService:
        """The service with the tiers a quota replaces (by role)."""
        tiers = {
            "user": parse_limits(settings.rate_limit_authenticated),
            "admin": parse_limits(settings.rate_limit_admin),
        }
        return cls(limiter=limiter, quotas=quotas, users=users, tiers=tiers)

    async def list_blocks(self, *, limit: int) -> list[BlockRecord]:
        """Active blocks, soonest to end first."""
        return await self.limiter.list_blocks(limit=limit)

    async def release_block(self, *, client: str) -> None:
        """Lift a client's block on every worker; `BlockNotFoundError` when it has none."""
        if not await self.limiter.release_block(client):
            raise BlockNotFoundError.missing(client, f"Client '{client}' is not blocked.")

    async def get_quota(self, *, user_id: str) -> QuotaState:
        """The user's quota and the limits in force (the tier's when there is no quota)."""
        user = await self.users.get_user_or_raise(user_id=user_id)
        record = await self.quotas.get(user_id)
        return self._state(user_id, user.role, record)

    async def set_quota(
        self,
        *,
        actor: Principal,
        user_id: str,
        requests_per_minute: int | None,
        requests_per_hour: int | None,
        requests_per_day: int | None,
    ) -> QuotaState:
        """Replace the user's tier with these limits (every worker within the cache TTL)."""
        user = await self.users.get_user_or_raise(user_id=user_id)
        now = self._clock()
        record = await self.quotas.put(
            QuotaRecord(
                user_id=user_id,
                requests_per_minute=requests_per_minute,
                requests_per_hour=requests_per_hour,
                requests_per_day=requests_per_day,
                updated_by=actor.user_id,
                created_at=now,
                updated_at=now,
            )
        )
        self._changed()
        return self._state(user_id, user.role, record)

    async def delete_quota(self, *, user_id: str) -> None:
        """Give the user their tier's limits back; `QuotaNotFoundError` when they had none."""
        await self.users.get_user_or_raise(user_id=user_id)
        if not await self.quotas.delete(user_id):
            raise QuotaNotFoundError.missing(user_id, f"User '{user_id}' has no quota.")
        self._changed()

    async def quota_snapshot(self) -> QuotaSnapshot:
        """Every quota as limits, by user id (what the limiter's cache loads)."""
        return {record.user_id: quota_items(record) for record in await self.quotas.list_all()}

    def _changed(self) -> None:
        # This worker at once; the others when their snapshot expires.
        if self.limiter.quotas is not None:
            self.limiter.quotas.invalidate()

    def _state(self, user_id: str, role: str, record: QuotaRecord | None) -> QuotaState:
        tier = self.tiers["admin" if role == "admin" else "user"]
        effective = tier if record is None else quota_items(record)
        return QuotaState(user_id=user_id, record=record, effective=effective)
