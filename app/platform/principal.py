"""Who is calling: the authenticated user behind a request (JWT or API key)."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Literal

from starlette.types import Scope

Role = Literal["user", "admin"]


@dataclass(frozen=True, slots=True)
class Principal:
    """An authenticated caller."""

    user_id: str
    username: str
    role: Role
    auth_method: Literal["jwt", "api_key"]

    @property
    def is_admin(self) -> bool:
        """Whether the caller holds the admin role."""
        return self.role == "admin"


# Resolves the caller from the request's headers: None when no credentials were sent,
# AuthenticationError (401) when credentials were sent but are bad. Set by the accounts area.
PrincipalResolver = Callable[[Scope], Awaitable[Principal | None]]
