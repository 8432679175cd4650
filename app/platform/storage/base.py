"""The platform's store Protocols: key-value state and locks. Each product area keeps its own
in `app/<area>/repository.py`; each Protocol has one adapter per backend and one contract test
suite run against all of them."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Protocol, runtime_checkable


@runtime_checkable
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


@dataclass(frozen=True, slots=True)
class Lease:
    """Proof of holding a lock: the random `token` releases/extends it; `fencing_token` grows
    with every grant of the same lock name, so a store can refuse writes from a stale holder."""

    name: str
    token: str = field(repr=False)  # a credential: kept out of reprs and so out of logs
    fencing_token: int
    ttl_ms: int


def check_lock_args(name: str, ttl_ms: int) -> None:
    """Refuse a lock without a TTL (a crashed holder would block it forever) or without a name."""
    if not name:
        raise ValueError("a lock needs a non-empty name")
    if isinstance(ttl_ms, bool) or not isinstance(ttl_ms, int) or ttl_ms <= 0:
        raise ValueError(f"a lock needs a positive integer ttl_ms, got {ttl_ms!r}")


class LockStore(Protocol):
    """Named mutual-exclusion leases with a mandatory TTL (SET NX PX + compare-and-delete)."""

    async def try_acquire(self, name: str, *, ttl_ms: int) -> Lease | None:
        """Take the lock if free (or expired); None when someone else holds it."""

    async def release(self, lease: Lease) -> bool:
        """Free the lock only if `lease` still holds it; True when it did."""

    async def extend(self, lease: Lease, *, ttl_ms: int) -> bool:
        """Reset the TTL to `ttl_ms` only if `lease` still holds it; True when it did."""
