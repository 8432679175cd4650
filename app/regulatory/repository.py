"""The regulatory area's store Protocols and records: sessions and plans."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Protocol


@dataclass(frozen=True, slots=True)
class SessionRecord:
    """A user's working state between tabs and restarts; `data` is any JSON object."""

    id: str
    owner_id: str | None
    data: dict[str, Any]
    created_at: datetime
    updated_at: datetime
    expires_at: datetime


# Turns the stored data into the new data (a merge); may raise to abort the update unchanged.
SessionMutation = Callable[[dict[str, Any]], dict[str, Any]]


class SessionStore(Protocol):
    """Sessions with a TTL counted from the last write; an expired session is gone."""

    async def create(
        self, *, session_id: str, owner_id: str | None, data: dict[str, Any], ttl_s: float
    ) -> SessionRecord:
        """Store a new session (ids are random; a clash is a bug, not a case to handle)."""

    async def get(self, session_id: str) -> SessionRecord | None:
        """The live session, or None when missing or expired."""

    async def update(
        self, session_id: str, *, mutate: SessionMutation, ttl_s: float
    ) -> SessionRecord | None:
        """Replace data by `mutate(old data)` and restart the TTL, atomically with respect to
        concurrent updates (no lost merges); None when missing or expired."""

    async def delete(self, session_id: str) -> bool:
        """Remove the session; True when it was live."""

    async def list_by_owner(self, owner_id: str, *, limit: int) -> list[SessionRecord]:
        """The owner's live sessions, most recently updated first."""

    async def purge_expired(self, *, batch: int = 1000) -> int:
        """Free the storage of expired sessions, at most `batch` per transaction; how many went
        (0 where the backend drops them itself). Reads never return them either way."""


@dataclass(frozen=True, slots=True)
class NewPlan:
    """A plan to store as version 1; `plan` is its API body (camelCase)."""

    id: str
    tier: str
    plan: dict[str, Any]


@dataclass(frozen=True, slots=True)
class PlanRecord:
    """One stored version of a plan."""

    id: str
    version: int
    session_id: str | None
    owner_id: str | None
    tier: str
    plan: dict[str, Any]
    modifications: str | None
    applied_changes: list[str]
    created_at: datetime


class PlanVersionConflict(Exception):
    """`add_version` was based on a version that is no longer the latest."""


class PlanRepository(Protocol):
    """Durable plans with every version kept; (plan id, version) is unique."""

    async def create(
        self, plans: Sequence[NewPlan], *, session_id: str | None, owner_id: str | None
    ) -> list[PlanRecord]:
        """Store each plan as version 1, all in one transaction."""

    async def add_version(
        self,
        plan_id: str,
        *,
        base_version: int,
        plan: dict[str, Any],
        modifications: str,
        applied_changes: list[str],
    ) -> PlanRecord | None:
        """Store version `base_version + 1`; None for an unknown plan; PlanVersionConflict when
        `base_version` is not the latest any more (someone else refined it meanwhile)."""

    async def get(self, plan_id: str, *, version: int | None = None) -> PlanRecord | None:
        """The latest version (or version `version`), or None."""

    async def history(self, plan_id: str) -> list[PlanRecord]:
        """Every version, oldest first; empty for an unknown plan."""

    async def list_latest(
        self, *, session_id: str | None = None, owner_id: str | None = None, limit: int = 100
    ) -> list[PlanRecord]:
        """Latest versions of the plans matching every given filter, in creation order
        (the plans of one `create` call keep the order they were given in)."""

    async def delete(self, plan_id: str) -> bool:
        """Remove the plan with all its versions; True when it existed."""
