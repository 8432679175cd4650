"""In-process API keys (tests and tools), indexed by key hash like the SQL table."""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime

from app.accounts.repository import ApiKeyRecord


class MemoryApiKeyRepository:
    """Dicts by id and by hash; no awaits inside a change, so each call is atomic."""

    def __init__(self) -> None:
        self._by_id: dict[str, ApiKeyRecord] = {}
        self._id_by_hash: dict[str, str] = {}

    async def create(self, key: ApiKeyRecord, *, max_active: int) -> bool:
        if key.id in self._by_id or key.key_hash in self._id_by_hash:
            raise ValueError("duplicate API key id or hash")
        active = sum(
            1 for k in self._by_id.values() if k.user_id == key.user_id and k.revoked_at is None
        )
        if active >= max_active:
            return False
        self._by_id[key.id] = key
        self._id_by_hash[key.key_hash] = key.id
        return True

    async def get_by_hash(self, key_hash: str) -> ApiKeyRecord | None:
        key_id = self._id_by_hash.get(key_hash)
        return None if key_id is None else self._by_id[key_id]

    async def list_active(self, user_id: str) -> list[ApiKeyRecord]:
        keys = [k for k in self._by_id.values() if k.user_id == user_id and k.revoked_at is None]
        return sorted(keys, key=lambda k: (k.created_at, k.id))

    def _owned_active(self, key_id: str, user_id: str) -> ApiKeyRecord | None:
        key = self._by_id.get(key_id)
        if key is None or key.user_id != user_id or key.revoked_at is not None:
            return None
        return key

    async def revoke(
        self, key_id: str, *, user_id: str, revoked_at: datetime
    ) -> ApiKeyRecord | None:
        key = self._owned_active(key_id, user_id)
        if key is None:
            return None
        revoked = replace(key, revoked_at=revoked_at)
        self._by_id[key_id] = revoked
        return revoked

    async def rotate(
        self, key_id: str, *, user_id: str, prefix: str, key_hash: str, rotated_at: datetime
    ) -> tuple[ApiKeyRecord, ApiKeyRecord] | None:
        key = self._owned_active(key_id, user_id)
        if key is None:
            return None
        new = replace(key, prefix=prefix, key_hash=key_hash, rotated_at=rotated_at)
        self._by_id[key_id] = new
        del self._id_by_hash[key.key_hash]
        self._id_by_hash[key_hash] = key_id
        return key, new
