"""Sessions: a user's working state across tabs and restarts, with a TTL since last write."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Path, Request, Response, status

from app.platform.dependencies import CurrentUser
from app.regulatory.dependencies import RegulatoryCaller, RegulatoryDep
from app.regulatory.schemas.sessions import (
    SessionCreate,
    SessionDeleted,
    SessionList,
    SessionRead,
    SessionUpdate,
)

router = APIRouter(prefix="/api/sessions", tags=["sessions"])

SessionId = Annotated[str, Path(min_length=1, max_length=200)]
_NOT_FOUND: dict[int | str, dict[str, Any]] = {
    404: {"description": "SESSION_NOT_FOUND (unknown, expired or another user's)"}
}


@router.post("", status_code=status.HTTP_201_CREATED, summary="Create a session")
async def create_session(
    service: RegulatoryDep, caller: RegulatoryCaller, body: SessionCreate | None = None
) -> SessionRead:
    """A new session (`sess_…`), owned by the caller when authenticated; the body is optional."""
    data = body.data if body is not None else {}
    return SessionRead.of(await service.sessions.create(data=data, principal=caller))


@router.get("", summary="List my sessions")
async def list_sessions(service: RegulatoryDep, user: CurrentUser) -> SessionList:
    """The authenticated caller's live sessions, most recently updated first."""
    records = await service.sessions.list_mine(principal=user)
    return SessionList(items=[SessionRead.of(r) for r in records], count=len(records))


@router.get("/{session_id}", summary="Get a session", responses=_NOT_FOUND)
async def get_session(
    session_id: SessionId, service: RegulatoryDep, caller: RegulatoryCaller
) -> SessionRead:
    """The session and its data."""
    record = await service.sessions.get_or_raise(session_id=session_id, principal=caller)
    return SessionRead.of(record)


@router.put("/{session_id}", summary="Merge into a session's data", responses=_NOT_FOUND)
async def update_session(
    session_id: SessionId, body: SessionUpdate, service: RegulatoryDep, caller: RegulatoryCaller
) -> SessionRead:
    """Merge `data` into the stored data (RFC 7386: objects merge, null removes a key) and
    restart the TTL."""
    record = await service.sessions.update(session_id=session_id, patch=body.data, principal=caller)
    return SessionRead.of(record)


@router.delete(
    "/{session_id}",
    status_code=status.HTTP_204_NO_CONTENT,
    summary="Delete a session",
    responses={
        **_NOT_FOUND,
        200: {"model": SessionDeleted, "description": "With `Accept: application/json`"},
    },
)
async def delete_session(
    session_id: SessionId, request: Request, service: RegulatoryDep, caller: RegulatoryCaller
) -> Response:
    """Remove the session (its plans stay; they are durable records): an empty 204, or 200 with
    `{"status": "deleted", "session_id": …}` when the client names application/json in Accept."""
    await service.sessions.delete(session_id=session_id, principal=caller)
    if _asks_for_json(request.headers.get("accept", "")):
        body = SessionDeleted(session_id=session_id).model_dump_json(by_alias=True)
        return Response(body, status_code=status.HTTP_200_OK, media_type="application/json")
    return Response(status_code=status.HTTP_204_NO_CONTENT)


def _asks_for_json(accept: str) -> bool:
    # Only an explicit application/json: `*/*` (curl, httpx, fetch's default) keeps the 204.
    return any(part.split(";")[0].strip() == "application/json" for part in accept.split(","))
