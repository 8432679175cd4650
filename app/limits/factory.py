"""The limits area, wired: quotas are durable records (SQL); blocks live in the limiter's store."""

from __future__ import annotations

from app.limits.adapters.sql.quotas import SqlQuotaRepository
from app.limits.repository import UserDirectory
from app.limits.service import LimitsService
from app.platform.config import Settings
from app.platform.ratelimit.limiter import RateLimiter
from app.platform.ratelimit.quotas import QuotaCache
from app.platform.storage.connections import Connections


def build_limits(
    settings: Settings, connections: Connections, *, limiter: RateLimiter, users: UserDirectory
) -> LimitsService:
    """The service, and the limiter's quota cache reading the quota table through it."""
    service = LimitsService.from_settings(
        settings,
        limiter=limiter,
        quotas=SqlQuotaRepository(connections.engine),
        users=users,
    )
    limiter.quotas = QuotaCache(service.quota_snapshot, ttl_s=settings.rate_limit_quota_cache_s)
    return service
