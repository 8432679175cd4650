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
    auth_method: Literal["jwt", "api_key", "service_key"]

    @property
    def is_admin(self) -> bool:
        """Whether the caller holds the admin role."""
        return self.role == "admin"


@dataclass(frozen=True, slots=True)
class Credentials:
    """What a request sent to prove who it is: a bearer token, an API key, both or neither."""

    bearer: str | None = None
    api_key: str | None = None


def credentials_from_scope(scope: Scope) -> Credentials:
    """`Authorization: Bearer` and `X-API-Key` of an ASGI request; other schemes are not ours."""
    authorization: str | None = None
    api_key: str | None = None
    for name, value in scope.get("headers") or ():
        if name == b"authorization":
            authorization = value.decode("latin-1")
        elif name == b"x-api-key":
            api_key = value.decode("latin-1").strip()
    bearer: str | None = None
    if authorization is not None:
        scheme, _, token = authorization.strip().partition(" ")
        # Other schemes (e.g. Basic added by a proxy) are not ours: treated as absent.
        if scheme.lower() == "bearer":
            bearer = token.strip()
    return Credentials(bearer=bearer, api_key=api_key)


# Who sent these credentials: None when none were sent, AuthenticationError (401) when they
# are bad. The accounts area provides it; the lifespan wires it with `scope_resolver`.
CredentialsResolver = Callable[[Credentials], Awaitable[Principal | None]]
# The same, from the request's headers: what routes and the rate limiter call.
PrincipalResolver = Callable[[Scope], Awaitable[Principal | None]]


def scope_resolver(resolve: CredentialsResolver) -> PrincipalResolver:
    """A resolver that reads the credentials out of the request and asks `resolve`."""

    def resolver(scope: Scope) -> Awaitable[Principal | None]:
        return resolve(credentials_from_scope(scope))

    return resolver
