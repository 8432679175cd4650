"""Bodies of `/api/admin/blocks` and `/api/admin/quotas`."""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel, ConfigDict, Field, model_validator

# Beyond any real traffic; only stops nonsense.
_MAX_REQUESTS = 1_000_000_000


class BlockRead(BaseModel):
    """An active automatic block."""

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "client": "ip:203.0.113.7",
                    "reason": "20 rate-limit rejections within 60 s",
                    "blocked_at": "2026-12-05T10:30:00Z",
                    "expires_at": "2026-12-05T10:35:00Z",
                    "level": 1,
                    "retry_after_s": 287,
                }
            ]
        }
    )

    client: str = Field(description="`ip:<address>` for anonymous callers, `u:<user id>` else")
    reason: str
    blocked_at: datetime
    expires_at: datetime
    level: int = Field(description="1 for a first block; each repeat doubles the time")
    retry_after_s: int = Field(description="Seconds until the block ends by itself")


class QuotaUpdate(BaseModel):
    """A user's own limits, replacing their tier; at least one window."""

    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={"examples": [{"requests_per_minute": 30, "requests_per_hour": 500}]},
    )

    requests_per_minute: int | None = Field(default=None, ge=1, le=_MAX_REQUESTS)
    requests_per_hour: int | None = Field(default=None, ge=1, le=_MAX_REQUESTS)
    requests_per_day: int | None = Field(default=None, ge=1, le=_MAX_REQUESTS)

    @model_validator(mode="after")
    def _one_window(self) -> QuotaUpdate:
        if (
            self.requests_per_minute is None
            and self.requests_per_hour is None
            and self.requests_per_day is None
        ):
            raise ValueError("set at least one of requests_per_minute, _hour, _day")
        return self


class QuotaRead(BaseModel):
    """A user's quota (`custom: false` when none is set) and the limits in force for them."""

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "user_id": "usr_01HZX3",
                    "custom": True,
                    "requests_per_minute": 30,
                    "requests_per_hour": 500,
                    "requests_per_day": None,
                    "limits": ["30/minute", "500/hour"],
                    "updated_by": "usr_admin",
                    "updated_at": "2026-12-05T10:30:00Z",
                }
            ]
        }
    )

    user_id: str
    custom: bool = Field(description="true: this quota replaces the user's tier")
    requests_per_minute: int | None = None
    requests_per_hour: int | None = None
    requests_per_day: int | None = None
    limits: list[str] = Field(description="The limits in force for this user (quota or tier)")
    updated_by: str | None = None
    updated_at: datetime | None = None
