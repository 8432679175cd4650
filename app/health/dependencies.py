"""How the health routes reach the health service the lifespan built, and who may read the
monitoring endpoints (`/metrics`, `/health/detailed`, `/api/monitoring/events`): they show
process ids, paths, memory, every route's traffic and recent failures, so outside development
they are closed unless the settings open them to an address range, a scraper's token or an
admin."""

from __future__ import annotations

import hmac
from typing import Annotated

from fastapi import Depends, Request

from app.health.service import HealthService
from app.platform.config import Settings
from app.platform.dependencies import get_optional_principal
from app.platform.errors import MonitoringForbiddenError
from app.platform.middleware.client_ip import resolve_client_ip
from app.platform.networks import Network, address_in, parse_networks
from app.platform.security import hash_api_key

# The name under `app.state` where the lifespan puts this area's service.
STATE_KEY = "health"


def get_health(request: Request) -> HealthService:
    """The health service built by the lifespan."""
    service: HealthService = getattr(request.app.state, STATE_KEY)
    return service


HealthDep = Annotated[HealthService, Depends(get_health)]

# The name under `app.state` where the first monitoring request keeps the parsed settings.
MONITORING_STATE_KEY = "monitoring_access"


class MonitoringAccess:
    """The monitoring settings, parsed once: open, an allowlist, a token digest."""

    def __init__(self, settings: Settings) -> None:
        opened = settings.monitoring_open
        self.open = settings.environment in ("development", "test") if opened is None else opened
        self.allowed: tuple[Network, ...] = parse_networks(settings.monitoring_allowed_ips)
        self.trusted_proxies = parse_networks(settings.trusted_proxies)
        token = settings.monitoring_token
        # Only a digest is kept (hashed like API keys); comparing digests in constant time leaks
        # neither length nor prefix of the token.
        self.token_digest = hash_api_key(token.get_secret_value()) if token else None

    def admits_address(self, request: Request) -> bool:
        """True when the caller's address (behind trusted proxies) is in the allowlist."""
        if not self.allowed:
            return False
        return address_in(resolve_client_ip(request.scope, self.trusted_proxies), self.allowed)

    def admits_token(self, request: Request) -> bool:
        """True when `Authorization: Bearer <MONITORING_TOKEN>` was sent."""
        if self.token_digest is None:
            return False
        scheme, _, credential = request.headers.get("authorization", "").partition(" ")
        if scheme.lower() != "bearer" or not credential:
            return False
        return hmac.compare_digest(hash_api_key(credential.strip()), self.token_digest)


def monitoring_access(request: Request) -> MonitoringAccess:
    """The app's parsed monitoring settings (built on first use)."""
    access: MonitoringAccess | None = getattr(request.app.state, MONITORING_STATE_KEY, None)
    if access is None:
        access = MonitoringAccess(request.app.state.settings)
        setattr(request.app.state, MONITORING_STATE_KEY, access)
    return access


async def require_monitoring_access(request: Request) -> None:
    """403 MONITORING_FORBIDDEN unless open, an allowed address, the scrape token or an admin."""
    access = monitoring_access(request)
    if access.open or access.admits_address(request) or access.admits_token(request):
        return
    # A scraper's token is not a user token: only now is the caller resolved as a user.
    principal = await get_optional_principal(request)
    if principal is not None and principal.is_admin:
        return
    raise MonitoringForbiddenError(
        "Monitoring endpoints need an allowed address, the monitoring token or an admin."
    )
