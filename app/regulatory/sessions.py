"""Sessions: a user's regulatory working state (JSON) with a TTL counted from the last write."""

from __future__ import annotations

import json
import secrets
from typing import Any

from app.platform.errors import SessionDataTooLargeError, SessionNotFoundError
from app.platform.logging import get_logger
from app.platform.principal import Principal
from app.regulatory.repository import SessionRecord, SessionStore

_log = get_logger("app.sessions")

SESSION_DATA_MAX_BYTES = 256 * 1024
_MAX_DEPTH = 32


def new_session_id() -> str:
    """A fresh, unguessable session id (`sess_` + 128 random bits)."""
    return "sess_" + secrets.token_urlsafe(16)


def merge_patch(target: Any, patch: Any) -> Any:
    """RFC 7386 JSON merge patch: objects merge key by key, `null` removes a key, anything else
    replaces the old value."""
    if not isinstance(patch, dict):
        return patch
    result = dict(target) if isinstance(target, dict) else {}
    for key, value in patch.items():
        if value is None:
            result.pop(key, None)
        else:
            result[key] = merge_patch(result.get(key), value)
    return result


def _depth(value: Any, level: int = 0) -> int:
    if level > _MAX_DEPTH:
        return level
    if isinstance(value, dict):
        return max((_depth(v, level + 1) for v in value.values()), default=level + 1)
    if isinstance(value, list):
        return max((_depth(v, level + 1) for v in value), default=level + 1)
    return level


def check_session_data(data: dict[str, Any]) -> None:
    """Refuse data that is too big or too deeply nested to keep (413 / 400-style error)."""
    size = len(json.dumps(data, ensure_ascii=False, separators=(",", ":")).encode())
    if size > SESSION_DATA_MAX_BYTES:
        raise SessionDataTooLargeError(
            f"Session data would be {size} bytes; the limit is {SESSION_DATA_MAX_BYTES}.",
            details={"size": size, "limit": SESSION_DATA_MAX_BYTES},
        )
    if _depth(data) > _MAX_DEPTH:
        raise SessionDataTooLargeError(f"Session data is nested deeper than {_MAX_DEPTH} levels.")


def visible_to(owner_id: str | None, principal: Principal | None) -> bool:
    """Anonymous objects are reachable by id; owned ones only by their owner."""
    return owner_id is None or (principal is not None and principal.user_id == owner_id)


class SessionService:
    """Create, read, merge into and delete sessions; another user's session reads as missing."""

    def __init__(self, store: SessionStore, *, ttl_s: float) -> None:
        self.store = store
        self.ttl_s = ttl_s

    async def create(self, *, data: dict[str, Any], principal: Principal | None) -> SessionRecord:
        """Start a session owned by the caller (or anonymous)."""
        check_session_data(data)
        return await self.store.create(
            session_id=new_session_id(),
            owner_id=principal.user_id if principal else None,
            data=data,
            ttl_s=self.ttl_s,
        )

    async def get(self, *, session_id: str, principal: Principal | None) -> SessionRecord | None:
        """The live session if the caller may see it, else None."""
        record = await self.store.get(session_id)
        if record is None or not visible_to(record.owner_id, principal):
            return None
        return record

    async def get_or_raise(self, *, session_id: str, principal: Principal | None) -> SessionRecord:
        """The live session, or SESSION_NOT_FOUND (also for another user's session)."""
        record = await self.get(session_id=session_id, principal=principal)
        if record is None:
            raise SessionNotFoundError.missing(session_id, f"Session '{session_id}' was not found.")
        return record

    async def update(
        self, *, session_id: str, patch: dict[str, Any], principal: Principal | None
    ) -> SessionRecord:
        """Merge `patch` into the session's data (RFC 7386) and restart its TTL."""
        check_session_data(patch)
        await self.get_or_raise(session_id=session_id, principal=principal)

        def mutate(old: dict[str, Any]) -> dict[str, Any]:
            merged = merge_patch(old, patch)
            check_session_data(merged)
            return dict(merged)

        record = await self.store.update(session_id, mutate=mutate, ttl_s=self.ttl_s)
        if record is None:  # expired or deleted between the check and the write
            raise SessionNotFoundError.missing(session_id, f"Session '{session_id}' was not found.")
        return record

    async def delete(self, *, session_id: str, principal: Principal | None) -> None:
        """Remove the session; SESSION_NOT_FOUND when the caller cannot see it."""
        await self.get_or_raise(session_id=session_id, principal=principal)
        if not await self.store.delete(session_id):
            raise SessionNotFoundError.missing(session_id, f"Session '{session_id}' was not found.")

    async def list_mine(self, *, principal: Principal, limit: int = 100) -> list[SessionRecord]:
        """The caller's live sessions, most recently updated first."""
        return await self.store.list_by_owner(principal.user_id, limit=limit)

    async def purge_expired(self) -> int:
        """Free the storage of expired sessions (run periodically by one worker)."""
        purged = await self.store.purge_expired()
        if purged:
            _log.info("sessions_purged", count=purged)
        return purged
