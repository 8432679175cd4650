"""How the admin routes reach the limits service the lifespan built."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Request

from app.limits.service import LimitsService

# The name under `app.state` where the lifespan puts this area's service.
STATE_KEY = "limits"


def get_limits_service(request: Request) -> LimitsService:
    """The lifespan-built limits service."""
    service: LimitsService = getattr(request.app.state, STATE_KEY)
    return service


LimitsServiceDep = Annotated[LimitsService, Depends(get_limits_service)]
