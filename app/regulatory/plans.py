"""Plans: every generated or uploaded plan is stored with server-made ids and kept versions."""

from __future__ import annotations

import re
import secrets
from collections.abc import Sequence
from typing import Any

from app.platform.errors import PlanNotFoundError, PlanVersionNotFoundError
from app.platform.principal import Principal
from app.regulatory.repository import NewPlan, PlanRecord, PlanRepository
from app.regulatory.schemas.analysis import Plan
from app.regulatory.sessions import visible_to

PLAN_LIST_LIMIT = 200


# The seeds name versions `<plan id>_v<n>`.
_VERSION_ID = re.compile(r"^(?P<base>.+)_v(?P<version>[1-9][0-9]{0,6})$")


def new_plan_id() -> str:
    """A fresh plan id, unique across all users (`plan_` + 128 random bits)."""
    return "plan_" + secrets.token_urlsafe(16)


def plan_body(plan: Plan, *, plan_id: str, version: int, session_id: str | None) -> dict[str, Any]:
    """The stored API body of one version: id, version and session are the server's."""
    body = plan.model_copy(
        update={"id": plan_id, "version": version, "session_id": session_id}
    ).to_api()
    return body


class PlanService:
    """Store, read, list and delete plans; another user's plan reads as missing (404)."""

    def __init__(self, repository: PlanRepository) -> None:
        self.repository = repository

    async def create(
        self,
        *,
        plans: Sequence[Plan],
        session_id: str | None,
        principal: Principal | None,
    ) -> list[PlanRecord]:
        """Store each plan as version 1 under a new id (any id the plan carried is ignored)."""
        new = []
        for plan in plans:
            plan_id = new_plan_id()
            new.append(
                NewPlan(
                    id=plan_id,
                    tier=plan.tier,
                    plan=plan_body(plan, plan_id=plan_id, version=1, session_id=session_id),
                )
            )
        return await self.repository.create(
            new, session_id=session_id, owner_id=principal.user_id if principal else None
        )

    async def get_or_raise(
        self, *, plan_id: str, principal: Principal | None, version: int | None = None
    ) -> PlanRecord:
        """The latest (or the given) version; PLAN_NOT_FOUND / PLAN_VERSION_NOT_FOUND."""
        record = await self.repository.get(plan_id, version=version)
        if record is None and version is not None:
            latest = await self.repository.get(plan_id)
            if latest is not None and visible_to(latest.owner_id, principal):
                raise PlanVersionNotFoundError.missing(
                    f"{plan_id}_v{version}",
                    f"Plan '{plan_id}' has no version {version}; the latest is {latest.version}.",
                    latest_version=latest.version,
                )
        if record is None or not visible_to(record.owner_id, principal):
            raise PlanNotFoundError.missing(plan_id, f"Plan '{plan_id}' was not found.")
        return record

    async def get_by_version_id(self, *, plan_id: str, principal: Principal | None) -> PlanRecord:
        """`plan_…_v2` (the seeds' version ids) as version 2 of `plan_…`; an id that is itself
        stored (a random id may end in `_v<digits>`) is that plan's latest version."""
        match = _VERSION_ID.match(plan_id)
        if match is None:
            return await self.get_or_raise(plan_id=plan_id, principal=principal)
        literal = await self.repository.get(plan_id)
        if literal is not None and visible_to(literal.owner_id, principal):
            return literal
        return await self.get_or_raise(
            plan_id=match["base"], principal=principal, version=int(match["version"])
        )

    async def history(self, *, plan_id: str, principal: Principal | None) -> list[PlanRecord]:
        """Every version, oldest first."""
        versions = await self.repository.history(plan_id)
        if not versions or not visible_to(versions[0].owner_id, principal):
            raise PlanNotFoundError.missing(plan_id, f"Plan '{plan_id}' was not found.")
        return versions

    async def list(
        self, *, session_id: str | None, principal: Principal | None
    ) -> list[PlanRecord]:
        """Plans of a session (those the caller may see), or all of the caller's plans."""
        if session_id is not None:
            records = await self.repository.list_latest(
                session_id=session_id, limit=PLAN_LIST_LIMIT
            )
            return [r for r in records if visible_to(r.owner_id, principal)]
        if principal is None:
            return []
        return await self.repository.list_latest(owner_id=principal.user_id, limit=PLAN_LIST_LIMIT)

    async def delete(self, *, plan_id: str, principal: Principal | None) -> None:
        """Remove the plan with all its versions."""
        await self.get_or_raise(plan_id=plan_id, principal=principal)
        if not await self.repository.delete(plan_id):
            raise PlanNotFoundError.missing(plan_id, f"Plan '{plan_id}' was not found.")
