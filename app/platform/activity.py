"""`active_users_total`: distinct users with an authenticated request in a sliding window.

The request path pays a clock read and a dict lookup: each worker marks a user at most once per
`note_every_s` (a minute), and the marks are written to the store (a Redis sorted set shared by
every worker, or a dict in this process) in one round trip shortly after. The gauge is set from
the store's count just before a scrape. A user's last mark can be up to `note_every_s` older
than their last request, so the window's edge is that much early (docs/operations.md).
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable, Mapping
from typing import Protocol

from app.platform.logging import get_logger
from app.platform.metrics import ACTIVE_USERS, METRICS_BUFFER, MONITORING_EVENTS_DROPPED
from app.platform.principal import Credentials, CredentialsResolver, Principal

_log = get_logger("app.activity")


class ActivityStore(Protocol):
    """When each user was last marked; marks older than the window may be forgotten."""

    async def mark_seen(self, seen: Mapping[str, float], *, horizon: float) -> None:
        """Raise each user's mark to the time given (Unix s); forget marks before `horizon`."""

    async def count_since(self, since: float) -> int:
        """How many users have a mark at or after `since`."""


class ActiveUsers:
    """Marks authenticated users as seen and counts those seen within the window."""

    FLUSH_DELAY_S = 1.0

    def __init__(
        self,
        store: ActivityStore,
        *,
        window_s: float,
        note_every_s: float = 60.0,
        max_pending: int = 100_000,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.store = store
        self.window_s = window_s
        self._note_every_s = note_every_s
        self._max_pending = max_pending
        self._clock = clock
        # user id → when this worker last marked them (to skip marks within `note_every_s`).
        self._noted: dict[str, float] = {}
        self._pending: dict[str, float] = {}
        self._scheduled = False
        self._flushing: asyncio.Task[None] | None = None
        self._lock = asyncio.Lock()
        self._failing = False

    def seen(self, user_id: str) -> None:
        """Note an authenticated request by `user_id` (cheap; written by the next flush)."""
        now = self._clock()
        last = self._noted.get(user_id)
        if last is not None and now - last < self._note_every_s:
            return
        if len(self._pending) >= self._max_pending:
            METRICS_BUFFER.count(MONITORING_EVENTS_DROPPED, ("active_users", "overflow"))
            return
        self._noted[user_id] = now
        self._pending[user_id] = now
        if not self._scheduled:
            try:
                loop = asyncio.get_running_loop()
            except RuntimeError:
                return
            self._scheduled = True
            loop.call_later(self.FLUSH_DELAY_S, self._start_flush)

    def noting(self, resolve: CredentialsResolver) -> CredentialsResolver:
        """`resolve`, marking every user principal it returns as seen (service keys are not
        users)."""

        async def resolve_and_note(credentials: Credentials) -> Principal | None:
            principal = await resolve(credentials)
            if principal is not None and principal.auth_method != "service_key":
                self.seen(principal.user_id)
            return principal

        return resolve_and_note

    def _start_flush(self) -> None:
        self._scheduled = False
        self._flushing = asyncio.create_task(self.flush())

    async def flush(self) -> None:
        """Write the waiting marks; a store failure drops them (counted, re-marked next time)."""
        async with self._lock:
            batch, self._pending = self._pending, {}
            now = self._clock()
            if len(self._noted) > 2 * len(batch) + 1024:
                # Forget users not marked for a while so the dict tracks the recent ones only.
                cutoff = now - self._note_every_s
                self._noted = {u: t for u, t in self._noted.items() if t >= cutoff}
            if not batch:
                return
            try:
                await self.store.mark_seen(batch, horizon=now - self.window_s)
            except Exception as exc:
                for user_id in batch:
                    self._noted.pop(user_id, None)  # their next request marks them again
                METRICS_BUFFER.count(
                    MONITORING_EVENTS_DROPPED, ("active_users", "store_error"), len(batch)
                )
                if not self._failing:
                    _log.warning("active_users_marks_dropped", error=type(exc).__name__)
                self._failing = True
            else:
                self._failing = False

    async def count(self) -> int:
        """Distinct users seen within the window (this worker's waiting marks included)."""
        await self.flush()
        return await self.store.count_since(self._clock() - self.window_s)

    async def refresh_gauge(self) -> None:
        """Set `active_users_total` from the store; on a store failure the last value stays."""
        try:
            ACTIVE_USERS.set(await self.count())
        except Exception as exc:
            _log.warning("active_users_count_failed", error=type(exc).__name__)

    async def aclose(self) -> None:
        """Write the waiting marks (at shutdown)."""
        await self.flush()
