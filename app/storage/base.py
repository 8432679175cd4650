"""Storage Protocols: what services may ask of storage. Each has one adapter per backend
(`memory/`, `sql/`, `redis/`) and one contract test suite run against all of them."""

from __future__ import annotations

from typing import Protocol, runtime_checkable


@runtime_checkable
class Pingable(Protocol):
    """A backend that can say whether it answers (used by health checks)."""

    async def ping(self) -> None:
        """Return when the backend answers; raise otherwise."""


class KeyValueStore(Protocol):
    """Strings by key with optional TTL: the cache, idempotency records and similar state."""

    async def get(self, key: str) -> str | None:
        """The value, or None when missing or expired."""

    async def set(self, key: str, value: str, *, ttl_s: float | None = None) -> None:
        """Store a value, replacing any old one; `ttl_s` None keeps it until deleted."""

    async def set_if_absent(self, key: str, value: str, *, ttl_s: float | None = None) -> bool:
        """Store only when the key is missing or expired; True when stored."""

    async def delete(self, key: str) -> bool:
        """Remove a key; True when it existed."""

    async def delete_prefix(self, prefix: str) -> int:
        """Remove every key starting with `prefix`; the count removed."""

    async def count(self, prefix: str = "") -> int:
        """How many live keys start with `prefix`."""
