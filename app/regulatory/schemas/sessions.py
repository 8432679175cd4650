"""Sessions API: camelCase like the rest of the regulatory contract."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic import ConfigDict, Field, model_validator

from app.regulatory.repository import SessionRecord
from app.regulatory.schemas.analysis import CamelModel

_DATA_EXAMPLE: dict[str, Any] = {
    "concept": "CT 영상에서 폐결절을 검출하는 AI 소프트웨어",
    "step": "classify",
}


class SessionCreate(CamelModel):
    """Body of POST /api/sessions (optional)."""

    model_config = ConfigDict(
        extra="forbid", json_schema_extra={"examples": [{"data": _DATA_EXAMPLE}]}
    )

    data: dict[str, Any] = Field(default_factory=dict)


class SessionUpdate(CamelModel):
    """Body of PUT /api/sessions/{id}: `data` is merged (RFC 7386: null removes a key)."""

    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={"examples": [{"data": {"step": "standards", "selectedTier": "normal"}}]},
    )

    data: dict[str, Any]

    @model_validator(mode="before")
    @classmethod
    def _seed_shape(cls, value: Any) -> Any:
        # The seeds PUT the fields themselves (`{"concept": "…"}`); a body without `data` is
        # read as that `data`, so both shapes merge the same way.
        if isinstance(value, dict) and value and "data" not in value:
            return {"data": value}
        return value


class SessionDeleted(CamelModel):
    """DELETE /api/sessions/{id} when the client asks for JSON (the seeds' form)."""

    status: str = "deleted"
    session_id: str = Field(serialization_alias="session_id")


class SessionRead(CamelModel):
    """A session as returned by the API."""

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "id": "sess_9Zt3kq0w7HfR2cXbVnLm4A",
                    "session_id": "sess_9Zt3kq0w7HfR2cXbVnLm4A",
                    "data": _DATA_EXAMPLE,
                    "createdAt": "2026-01-15T10:30:00Z",
                    "updatedAt": "2026-01-15T10:31:00Z",
                    "expiresAt": "2026-01-16T10:31:00Z",
                }
            ]
        }
    )

    id: str
    # The seeds' name for `id`, spelt as they spell it (docs/seed-compatibility.md).
    session_id: str = Field(serialization_alias="session_id")
    data: dict[str, Any]
    created_at: datetime
    updated_at: datetime
    expires_at: datetime

    @classmethod
    def of(cls, record: SessionRecord) -> SessionRead:
        """From a stored record."""
        return cls(
            id=record.id,
            session_id=record.id,
            data=record.data,
            created_at=record.created_at,
            updated_at=record.updated_at,
            expires_at=record.expires_at,
        )


class SessionList(CamelModel):
    """The caller's sessions."""

    items: list[SessionRead]
    count: int
