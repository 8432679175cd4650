"""The accounts area, wired from settings: users and API keys are durable records, always SQL."""

from __future__ import annotations

from app.accounts.adapters.sql.api_keys import SqlApiKeyRepository
from app.accounts.adapters.sql.users import SqlUserRepository
from app.accounts.service import AuthService
from app.platform.config import Settings
from app.platform.storage.connections import Connections


def build_accounts(settings: Settings, connections: Connections) -> AuthService:
    """The account service over the SQL repositories."""
    return AuthService.from_settings(
        settings,
        users=SqlUserRepository(connections.engine),
        api_keys=SqlApiKeyRepository(connections.engine),
    )
