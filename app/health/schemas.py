"""Response bodies of the monitoring routes."""

from __future__ import annotations

from datetime import UTC, datetime

from pydantic import BaseModel, ConfigDict, Field

from app.platform.events import MonitoringEvent


class MonitoringEventRead(BaseModel):
    """One recorded event: a problem answer, a rate-limit rejection, a failed login or a block."""

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "id": "1764921600123-0",
                    "type": "rate_limited",
                    "trace_id": "a1b2c3d4e5f60718",
                    "method": "POST",
                    "path": "/api/purchases",
                    "status": 429,
                    "code": "RATE_LIMIT_EXCEEDED",
                    "user_id": "usr_5f2c0e9d1a7b4c3e8f6a1b2c",
                    "client": "203.0.113.7",
                    "detail": None,
                    "created_at": "2026-12-05T08:00:00.123000Z",
                }
            ]
        }
    )

    id: str = Field(description="Time-ordered id given by the store (a stream id with Redis).")
    type: str = Field(
        description="server_error | backend_unavailable | rate_limited | login_failed | "
        "authentication_failed | forbidden | sold_out | client_error | blocked"
    )
    trace_id: str | None = Field(description="The request id; `trace_id` of the problem body.")
    method: str | None
    path: str | None
    status: int | None
    code: str | None = Field(description="The problem's `code` (docs/errors.md).")
    user_id: str | None = Field(description="The authenticated caller, when there was one.")
    client: str | None = Field(description="The client address (behind trusted proxies).")
    detail: str | None = Field(description="A block's reason; empty for problems.")
    created_at: datetime

    @classmethod
    def of(cls, event: MonitoringEvent) -> MonitoringEventRead:
        """The body of one recorded event."""
        return cls(
            id=event.id,
            type=event.type,
            trace_id=event.trace_id,
            method=event.method,
            path=event.path,
            status=event.status,
            code=event.code,
            user_id=event.user_id,
            client=event.client,
            detail=event.detail,
            created_at=datetime.fromtimestamp(event.created_at, UTC),
        )


class MonitoringEventList(BaseModel):
    """Matching events, newest first (at most `limit`)."""

    items: list[MonitoringEventRead]
    count: int
