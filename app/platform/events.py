"""The monitoring event log: problem answers, rate-limit rejections, failed logins and blocks,
searchable by trace id, type, user and time (`GET /api/monitoring/events`, docs/operations.md
"Monitoring events").

Recording never waits for the store and never fails a request: the edge layer hands an answered
problem to `EventRecorder.record_problem`, which appends it to a bounded in-process list; a
flush shortly after writes the list to the store in one round trip (a Redis stream shared by
every worker, or an in-process ring). A store that fails drops the batch and counts it
(`monitoring_events_dropped_total`). Reading flushes this worker's list first, then asks the
store, whose failure is the reader's (a 503 problem).
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Literal, Protocol, get_args

from app.platform.errors import redact_credentials
from app.platform.logging import get_logger
from app.platform.metrics import METRICS_BUFFER, MONITORING_EVENTS, MONITORING_EVENTS_DROPPED

EventType = Literal[
    "server_error",
    "backend_unavailable",
    "rate_limited",
    "login_failed",
    "authentication_failed",
    "forbidden",
    "sold_out",
    "client_error",
    "blocked",
]
EVENT_TYPES: tuple[str, ...] = get_args(EventType)

# Where a problem answer leaves its code for the edge layer (`scope["state"]`): the edge sees
# only the status of what was sent, the code is in a body it does not parse.
PROBLEM_CODE_STATE_KEY = "problem_code"

_log = get_logger("app.events")


@dataclass(frozen=True, slots=True)
class MonitoringEvent:
    """One recorded event; `id` is given by the store (time-ordered), `created_at` Unix seconds."""

    type: str
    created_at: float
    trace_id: str | None = None
    method: str | None = None
    path: str | None = None
    status: int | None = None
    code: str | None = None
    user_id: str | None = None
    client: str | None = None
    # A block's reason; never a problem's free text (it may quote what the client sent).
    detail: str | None = None
    id: str = ""


@dataclass(frozen=True, slots=True)
class EventQuery:
    """Which events to return, newest first: every filter given must match."""

    trace_id: str | None = None
    type: str | None = None
    user_id: str | None = None
    since: float | None = None  # Unix seconds, inclusive
    limit: int = 100

    def matches(self, event: MonitoringEvent) -> bool:
        """Whether `event` passes every filter."""
        return (
            (self.trace_id is None or event.trace_id == self.trace_id)
            and (self.type is None or event.type == self.type)
            and (self.user_id is None or event.user_id == self.user_id)
            and (self.since is None or event.created_at >= self.since)
        )


class EventStore(Protocol):
    """Where recorded events are kept, bounded (oldest dropped first)."""

    async def append_many(self, events: Sequence[MonitoringEvent]) -> None:
        """Keep `events` (in order)."""

    async def recent(self, query: EventQuery) -> list[MonitoringEvent]:
        """Up to `query.limit` kept events that match `query`, newest first."""


def event_type(status: int, code: str | None, path: str) -> str:
    """The event type of a problem answer, from its status, code and path."""
    if status == 429 and code in (None, "RATE_LIMIT_EXCEEDED"):
        return "rate_limited"
    if status == 503 or (status >= 500 and code is not None and code.endswith("_UNAVAILABLE")):
        return "backend_unavailable"
    if status >= 500:
        return "server_error"
    if status == 401:
        # POST /api/auth/login, and the seeds' /login alias.
        return "login_failed" if path.endswith("/login") else "authentication_failed"
    if status == 403:
        return "forbidden"
    if code == "INSUFFICIENT_STOCK":
        return "sold_out"
    return "client_error"


class EventRecorder:
    """Records events without waiting for the store; `query` reads them back (see the module)."""

    FLUSH_DELAY_S = 0.1

    def __init__(
        self,
        store: EventStore,
        *,
        enabled: bool = True,
        max_pending: int = 5000,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.store = store
        self.enabled = enabled
        self._max_pending = max_pending
        self._clock = clock
        self._pending: list[MonitoringEvent] = []
        self._scheduled = False
        self._flushing: asyncio.Task[None] | None = None
        self._lock = asyncio.Lock()
        self._failing = False

    # --- recording (never raises, never waits) ------------------------------------------------
    def record(self, event: MonitoringEvent) -> None:
        """Keep `event` for the next flush (dropped and counted when too many are waiting)."""
        if not self.enabled:
            return
        METRICS_BUFFER.count(MONITORING_EVENTS, (event.type,))
        if len(self._pending) >= self._max_pending:
            METRICS_BUFFER.count(MONITORING_EVENTS_DROPPED, ("events", "overflow"))
            return
        self._pending.append(event)
        if not self._scheduled:
            try:
                loop = asyncio.get_running_loop()
            except RuntimeError:
                return  # no loop (a synchronous caller): the next flush or query takes it
            self._scheduled = True
            loop.call_later(self.FLUSH_DELAY_S, self._start_flush)

    def record_problem(
        self,
        *,
        status: int,
        code: str | None,
        method: str,
        path: str,
        trace_id: str | None,
        user_id: str | None = None,
        client: str | None = None,
    ) -> None:
        """Record a problem answer (4xx/5xx), typed by `event_type`."""
        self.record(
            MonitoringEvent(
                type=event_type(status, code, path),
                created_at=self._clock(),
                trace_id=trace_id,
                method=method,
                # A credential a client put into the path is not kept (as in problem bodies).
                path=redact_credentials(path),
                status=status,
                code=code,
                user_id=user_id,
                client=client,
            )
        )

    def record_block(
        self,
        *,
        client: str,
        reason: str,
        user_id: str | None = None,
        trace_id: str | None = None,
    ) -> None:
        """Record that a client was blocked (the rate limiter's block listeners call this)."""
        self.record(
            MonitoringEvent(
                type="blocked",
                created_at=self._clock(),
                trace_id=trace_id,
                user_id=user_id,
                client=client,
                detail=reason,
            )
        )

    # --- writing and reading ----------------------------------------------------------------
    def _start_flush(self) -> None:
        self._scheduled = False
        # Kept referenced until done (a task nobody holds may be collected mid-flight).
        self._flushing = asyncio.create_task(self.flush())

    async def flush(self) -> None:
        """Write the waiting events to the store; a store failure drops them (counted)."""
        async with self._lock:  # one writer at a time keeps the store's order the record order
            batch, self._pending = self._pending, []
            if not batch:
                return
            try:
                await self.store.append_many(batch)
            except Exception as exc:
                METRICS_BUFFER.count(
                    MONITORING_EVENTS_DROPPED, ("events", "store_error"), len(batch)
                )
                if not self._failing:  # one line per outage, not one per flush
                    _log.warning("monitoring_events_dropped", error=type(exc).__name__)
                self._failing = True
            else:
                if self._failing:
                    _log.info("monitoring_events_recovered")
                self._failing = False

    async def query(self, query: EventQuery) -> list[MonitoringEvent]:
        """Matching events, newest first, this worker's latest included; store errors raise."""
        await self.flush()
        return await self.store.recent(query)

    async def aclose(self) -> None:
        """Write what is still waiting (at shutdown)."""
        await self.flush()
