"""Idempotency-Key (docs/commerce.md): same key + same user + same body → the first response
replayed; a different body → 422; the first request still running → 409; kept 24 h.

Under the Lua strategy the record lives in Redis and is checked inside the purchase script;
the SQL and lock strategies keep it in the KeyValueStore with the same record format. In every
strategy the purchases table's unique (product, user, key) is the last guard: a key whose record
was lost (Redis restarted empty) still cannot buy twice.
"""

from __future__ import annotations

import functools
import hashlib
import json

from app.platform.errors import (
    IdempotencyInFlightError,
    IdempotencyKeyReusedError,
)
from app.platform.idempotency import check_key
from app.platform.storage.base import KeyValueStore

__all__ = ["KvIdempotency", "check_key", "fingerprint"]


@functools.lru_cache(maxsize=4096)
def fingerprint(*, product_id: int, quantity: int) -> str:
    """What makes two purchase requests 'the same body' (hex; product and quantity)."""
    canonical = json.dumps({"product_id": product_id, "quantity": quantity}, sort_keys=True)
    return hashlib.sha256(canonical.encode()).hexdigest()[:32]


def key_digest(*, user_id: str, key: str) -> str:
    """The storage name of one user's key: bounded length, no caller-chosen characters."""
    return hashlib.sha256(f"{user_id}\x00{key}".encode()).hexdigest()[:40]


class KvIdempotency:
    """Records `P|<fingerprint>|` while in flight and `D|<fingerprint>|<response>` when done."""

    def __init__(self, kv: KeyValueStore, *, ttl_s: float, in_flight_ttl_s: float) -> None:
        self._kv = kv
        self._ttl_s = ttl_s
        self._in_flight_ttl_s = in_flight_ttl_s

    @staticmethod
    def _key(product_id: int, digest: str) -> str:
        return f"idem:purchase:{product_id}:{digest}"

    async def begin(self, *, product_id: int, digest: str, fingerprint: str) -> str | None:
        """Claim the key (None), or return the stored response JSON to replay."""
        key = self._key(product_id, digest)
        for _ in range(3):
            if await self._kv.set_if_absent(key, f"P|{fingerprint}|", ttl_s=self._in_flight_ttl_s):
                return None
            current = await self._kv.get(key)
            if current is None:
                continue  # expired between the two calls: try to claim again
            state, stored_fp, rest = current.split("|", 2)
            if stored_fp != fingerprint:
                raise IdempotencyKeyReusedError(
                    "This Idempotency-Key was already used with a different request body."
                )
            if state == "P":
                raise IdempotencyInFlightError(
                    "The first request with this Idempotency-Key is still being processed.",
                    headers={"Retry-After": "1"},
                )
            return rest
        raise IdempotencyInFlightError(headers={"Retry-After": "1"})

    async def complete(
        self, *, product_id: int, digest: str, fingerprint: str, response_json: str
    ) -> None:
        """Remember the response for replays."""
        await self._kv.set(
            self._key(product_id, digest), f"D|{fingerprint}|{response_json}", ttl_s=self._ttl_s
        )

    async def abandon(self, *, product_id: int, digest: str) -> None:
        """Forget an in-flight claim after a failure, so the buyer may retry with the same key."""
        await self._kv.delete(self._key(product_id, digest))
