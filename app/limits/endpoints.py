"""`/api/admin`: automatic blocks (list, lift) and per-user quotas (admins only)."""

from __future__ import annotations

import math
from datetime import UTC, datetime
from typing import Annotated

from fastapi import APIRouter, Path, Query, Response

from app.limits.dependencies import LimitsServiceDep
from app.limits.schemas import BlockRead, QuotaRead, QuotaUpdate
from app.limits.service import QuotaState
from app.platform.dependencies import AdminUser
from app.platform.ratelimit.items import RateLimitItem

router = APIRouter(prefix="/api/admin", tags=["admin"])

# `ip:<IPv4 or IPv6>` or `u:<user id>`.
ClientId = Annotated[str, Path(min_length=3, max_length=128, pattern=r"^(ip|u):[A-Za-z0-9_.:%-]+$")]
UserId = Annotated[str, Path(min_length=1, max_length=64)]
_UNITS = {60: "minute", 3600: "hour", 86_400: "day"}


def _limit_text(item: RateLimitItem) -> str:
    unit = _UNITS.get(item.window_s)
    return f"{item.amount}/{unit}" if unit else f"{item.amount}/{item.window_s} seconds"


def _quota_read(state: QuotaState) -> QuotaRead:
    record = state.record
    return QuotaRead(
        user_id=state.user_id,
        custom=record is not None,
        requests_per_minute=None if record is None else record.requests_per_minute,
        requests_per_hour=None if record is None else record.requests_per_hour,
        requests_per_day=None if record is None else record.requests_per_day,
        limits=[_limit_text(item) for item in state.effective],
        updated_by=None if record is None else record.updated_by,
        updated_at=None if record is None else record.updated_at,
    )


@router.get("/blocks", summary="List blocked clients (admin)")
async def list_blocks(
    _admin: AdminUser,
    limits: LimitsServiceDep,
    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
) -> list[BlockRead]:
    """Clients blocked for repeated rate-limit rejections, soonest to be released first."""
    now = datetime.now(UTC)
    return [
        BlockRead(
            client=b.client,
            reason=b.reason,
            blocked_at=b.blocked_at,
            expires_at=b.expires_at,
            level=b.level,
            retry_after_s=max(0, math.ceil((b.expires_at - now).total_seconds())),
        )
        for b in await limits.list_blocks(limit=limit)
    ]


@router.delete("/blocks/{client}", status_code=204, summary="Lift a block (admin)")
async def release_block(client: ClientId, _admin: AdminUser, limits: LimitsServiceDep) -> Response:
    """Release a blocked client at once, on every worker; its repeat count starts over."""
    await limits.release_block(client=client)
    return Response(status_code=204)


@router.get("/quotas/{user_id}", summary="A user's quota (admin)")
async def get_quota(user_id: UserId, _admin: AdminUser, limits: LimitsServiceDep) -> QuotaRead:
    """The user's own limits, or (`custom: false`) their tier's."""
    return _quota_read(await limits.get_quota(user_id=user_id))


@router.put("/quotas/{user_id}", summary="Set a user's quota (admin)")
async def set_quota(
    user_id: UserId, body: QuotaUpdate, admin: AdminUser, limits: LimitsServiceDep
) -> QuotaRead:
    """Replace the user's tier with these limits; every worker applies them within a second."""
    state = await limits.set_quota(
        actor=admin,
        user_id=user_id,
        requests_per_minute=body.requests_per_minute,
        requests_per_hour=body.requests_per_hour,
        requests_per_day=body.requests_per_day,
    )
    return _quota_read(state)


@router.delete("/quotas/{user_id}", status_code=204, summary="Clear a user's quota (admin)")
async def delete_quota(user_id: UserId, _admin: AdminUser, limits: LimitsServiceDep) -> Response:
    """Give the user their tier's limits back."""
    await limits.delete_quota(user_id=user_id)
    return Response(status_code=204)
