"""How the regulatory routes reach the regulatory service and who is calling."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Request

from app.platform.dependencies import OptionalUser, SettingsDep
from app.platform.errors import AuthenticationError
from app.platform.principal import Principal
from app.regulatory.service import RegulatoryService

# The name under `app.state` where the lifespan puts this area's service.
STATE_KEY = "regulatory"


async def regulatory_caller(principal: OptionalUser, settings: SettingsDep) -> Principal | None:
    """The caller; with AUTH_REQUIRED=true a user is required (401 otherwise)."""
    if settings.auth_required and principal is None:
        raise AuthenticationError("AUTH_REQUIRED is on: send a bearer token or an X-API-Key.")
    return principal


def get_regulatory(request: Request) -> RegulatoryService:
    """The regulatory service built by the lifespan."""
    service: RegulatoryService = getattr(request.app.state, STATE_KEY)
    return service


RegulatoryCaller = Annotated[Principal | None, Depends(regulatory_caller)]
RegulatoryDep = Annotated[RegulatoryService, Depends(get_regulatory)]
