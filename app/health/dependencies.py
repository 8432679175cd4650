"""How the health routes reach the health service the lifespan built."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Request

from app.health.service import HealthService

# The name under `app.state` where the lifespan puts this area's service.
STATE_KEY = "health"


def get_health(request: Request) -> HealthService:
    """The health service built by the lifespan."""
    service: HealthService = getattr(request.app.state, STATE_KEY)
    return service


HealthDep = Annotated[HealthService, Depends(get_health)]
