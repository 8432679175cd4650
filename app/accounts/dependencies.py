"""How the accounts routes reach the account service the lifespan built."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Request

from app.accounts.service import AuthService

# The name under `app.state` where the lifespan puts this area's service.
STATE_KEY = "accounts"


def get_auth_service(request: Request) -> AuthService:
    """The lifespan-built account service."""
    service: AuthService = getattr(request.app.state, STATE_KEY)
    return service


AuthServiceDep = Annotated[AuthService, Depends(get_auth_service)]
