"""`Annotated` dependency aliases every area shares: the app's settings and the caller.

Each area's own `dependencies` module gives its routers that area's services."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Request

from app.platform.config import Settings
from app.platform.errors import AuthenticationError, PermissionDeniedError
from app.platform.principal import Principal, PrincipalResolver


def get_app_settings(request: Request) -> Settings:
    """The settings this app was built with."""
    settings: Settings = request.app.state.settings
    return settings


SettingsDep = Annotated[Settings, Depends(get_app_settings)]


async def get_optional_principal(request: Request) -> Principal | None:
    """The caller if credentials were sent (resolved once per request, shared with middleware)."""
    state = request.scope.setdefault("state", {})
    if "principal" in state:
        cached: Principal | None = state["principal"]
        return cached
    resolver: PrincipalResolver | None = getattr(request.app.state, "principal_resolver", None)
    principal = await resolver(request.scope) if resolver is not None else None
    state["principal"] = principal
    return principal


# The two below call the one above directly rather than through `Depends`: each dependency
# FastAPI solves costs ~8 us per request, and these guard every authenticated route.
async def get_current_principal(request: Request) -> Principal:
    """The caller; 401 when no credentials were sent."""
    principal = await get_optional_principal(request)
    if principal is None:
        raise AuthenticationError("Send a bearer token or an X-API-Key header.")
    return principal


async def get_admin_principal(request: Request) -> Principal:
    """The caller, who must be an admin; 403 otherwise."""
    principal = await get_current_principal(request)
    if not principal.is_admin:
        raise PermissionDeniedError("This action needs the admin role.")
    return principal


OptionalUser = Annotated[Principal | None, Depends(get_optional_principal)]
CurrentUser = Annotated[Principal, Depends(get_current_principal)]
AdminUser = Annotated[Principal, Depends(get_admin_principal)]
