"""Per-user limits set by admins, as the limiter reads them: a snapshot of every override, read
again at most every `ttl_s` (so a change reaches every worker within that), one query at a time."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable, Mapping

from app.platform.logging import get_logger
from app.platform.ratelimit.items import RateLimitItem

# user id → the limits that replace the user's tier (admins set them: /api/admin/quotas).
QuotaSnapshot = Mapping[str, tuple[RateLimitItem, ...]]
QuotaLoader = Callable[[], Awaitable[QuotaSnapshot]]
_log = get_logger("app.ratelimit")


class QuotaCache:
    """Every override in one in-process snapshot: a request costs a dict lookup, and at most one
    query per `ttl_s` per worker is made (only when an authenticated request needs it)."""

    def __init__(
        self,
        load: QuotaLoader,
        *,
        ttl_s: float = 0.5,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._load = load
        self.ttl_s = ttl_s
        self._clock = clock
        self._snapshot: QuotaSnapshot = {}
        # The snapshot is fresh until this time: the start of the query that read it plus ttl_s
        # (what it shows was committed before the query began).
        self._fresh_until = 0.0
        self._loading: asyncio.Task[None] | None = None
        self._failing = False
        # Bumped by `invalidate`: a read that began before a change must not count as fresh.
        self._generation = 0

    async def get(self, user_id: str) -> tuple[RateLimitItem, ...] | None:
        """The user's own limits, or None for the tier's."""
        if self._clock() >= self._fresh_until:
            await self._refresh()
        return self._snapshot.get(user_id)

    def invalidate(self) -> None:
        """Read again on the next lookup (this worker changed a quota)."""
        self._fresh_until = 0.0
        self._generation += 1

    async def _refresh(self) -> None:
        loading = self._loading
        if loading is None:
            loading = self._loading = asyncio.ensure_future(self._read())
        if self._failing:
            # The database is down: keep serving the last snapshot rather than make every
            # request wait for its timeouts; the read goes on in the background.
            return
        # Shielded: a cancelled request does not cancel the read the others wait for.
        await asyncio.shield(loading)

    async def _read(self) -> None:
        started, generation = self._clock(), self._generation
        try:
            self._snapshot = await self._load()
        except Exception as exc:  # the tier's limits still apply; never a 500 for a quota read
            if not self._failing:
                _log.warning("rate_limit_quotas_unreadable", error=type(exc).__name__)
            self._failing = True
        else:
            if self._failing:
                _log.info("rate_limit_quotas_readable_again")
            self._failing = False
        finally:
            if generation == self._generation:
                self._fresh_until = started + self.ttl_s
            self._loading = None
