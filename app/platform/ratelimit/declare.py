"""`@limit("10/minute")`: a route declares its own limits next to its code."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Literal, TypeVar

from app.platform.ratelimit.items import RateLimitItem, parse_limits

KeyKind = Literal["user", "ip"]
ATTRIBUTE = "__rate_limits__"
F = TypeVar("F", bound=Callable[..., object])


@dataclass(frozen=True, slots=True)
class DeclaredLimits:
    """Limits an endpoint declared; `name` (default: the endpoint's name) names the counters."""

    items: tuple[RateLimitItem, ...]
    key: KeyKind
    name: str | None


def limit(limits: str, *, key: KeyKind = "user", name: str | None = None) -> Callable[[F], F]:
    """Declare limits on an endpoint, e.g. `@limit("10/minute;100/hour")` under `@router.post`.

    `key="user"` counts per authenticated user, else per client IP; `key="ip"` always per IP.
    A `RATE_LIMIT_ROUTES` entry for the same method and path template replaces these limits.
    """
    declared = DeclaredLimits(items=parse_limits(limits), key=key, name=name)

    def decorate(endpoint: F) -> F:
        existing: tuple[DeclaredLimits, ...] = getattr(endpoint, ATTRIBUTE, ())
        setattr(endpoint, ATTRIBUTE, (*existing, declared))
        return endpoint

    return decorate


def declared_limits(endpoint: object) -> tuple[DeclaredLimits, ...]:
    """What `@limit` stored on an endpoint (empty when nothing)."""
    found: tuple[DeclaredLimits, ...] = getattr(endpoint, ATTRIBUTE, ())
    return found
