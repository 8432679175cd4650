"""Stored plans: create, read (any version), history, list by session, delete."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Path, Query, Response, status

from app.platform.errors import AuthenticationError, ValidationFailedError
from app.regulatory.dependencies import RegulatoryCaller, RegulatoryDep
from app.regulatory.schemas.plans import PlanCreate, PlanHistory, PlanList, PlanRead

router = APIRouter(prefix="/api/plans", tags=["plans"])

PlanId = Annotated[str, Path(min_length=1, max_length=200)]
_NOT_FOUND: dict[int | str, dict[str, Any]] = {
    404: {"description": "PLAN_NOT_FOUND / PLAN_VERSION_NOT_FOUND"}
}


@router.post("", status_code=status.HTTP_201_CREATED, summary="Store a plan")
async def create_plan(
    body: PlanCreate,
    service: RegulatoryDep,
    caller: RegulatoryCaller,
    session_id: Annotated[str | None, Query(min_length=1, max_length=200)] = None,
) -> PlanRead:
    """Store a plan as version 1 under a new server-made id (an `id` in the body is ignored).
    The seeds' form, `?session_id=…` with the bare plan as the body, is accepted too."""
    if session_id is not None and body.session_id not in (None, session_id):
        raise ValidationFailedError(
            "session_id in the query and sessionId in the body differ.",
            details={"query": session_id, "body": body.session_id},
        )
    session_id = body.session_id or session_id
    if session_id is not None:
        await service.sessions.get_or_raise(session_id=session_id, principal=caller)
    records = await service.plans.create(plans=[body.plan], session_id=session_id, principal=caller)
    return PlanRead.of(records[0])


@router.get("", summary="List plans")
async def list_plans(
    service: RegulatoryDep,
    caller: RegulatoryCaller,
    session_id: Annotated[str | None, Query(min_length=1, max_length=200)] = None,
) -> PlanList:
    """Latest versions of a session's plans that the caller may see; without `session_id`,
    the authenticated caller's own plans."""
    if session_id is None and caller is None:
        raise AuthenticationError("Pass session_id, or authenticate to list your own plans.")
    records = await service.plans.list(session_id=session_id, principal=caller)
    return PlanList(items=[PlanRead.of(r) for r in records], count=len(records))


@router.get("/{plan_id}", summary="Get a plan", responses=_NOT_FOUND)
async def get_plan(
    plan_id: PlanId,
    service: RegulatoryDep,
    caller: RegulatoryCaller,
    version: Annotated[int | None, Query(ge=1, le=1_000_000)] = None,
) -> PlanRead:
    """The latest version, or `?version=n`; `{id}_v{n}` (the seeds' version ids) is version n."""
    if version is None:
        record = await service.plans.get_by_version_id(plan_id=plan_id, principal=caller)
    else:
        record = await service.plans.get_or_raise(
            plan_id=plan_id, principal=caller, version=version
        )
    return PlanRead.of(record)


@router.get("/{plan_id}/history", summary="Plan history", responses=_NOT_FOUND)
async def plan_history(
    plan_id: PlanId, service: RegulatoryDep, caller: RegulatoryCaller
) -> PlanHistory:
    """Every version with its modification text, applied changes and timestamp."""
    return PlanHistory.of(await service.plans.history(plan_id=plan_id, principal=caller))


@router.delete(
    "/{plan_id}",
    status_code=status.HTTP_204_NO_CONTENT,
    summary="Delete a plan",
    responses=_NOT_FOUND,
)
async def delete_plan(
    plan_id: PlanId, service: RegulatoryDep, caller: RegulatoryCaller
) -> Response:
    """Remove the plan and all its versions."""
    await service.plans.delete(plan_id=plan_id, principal=caller)
    return Response(status_code=status.HTTP_204_NO_CONTENT)
