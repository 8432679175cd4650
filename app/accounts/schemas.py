"""Request and response bodies of `/api/auth` (snake_case, as OAuth2 clients expect)."""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from app.platform.principal import Role

# Generous caps: the policy (in the service) gives the precise message; these only stop abuse.
_USERNAME_MAX = 256
_PASSWORD_MAX = 1024


class _Request(BaseModel):
    # Unknown fields are refused, so e.g. `"role": "admin"` can never slip into a registration.
    model_config = ConfigDict(extra="forbid", strict=True)


class UserCreate(_Request):
    """A registration."""

    model_config = ConfigDict(
        json_schema_extra={"examples": [{"username": "alice", "password": "correct horse battery"}]}
    )

    username: str = Field(min_length=1, max_length=_USERNAME_MAX)
    password: str = Field(min_length=1, max_length=_PASSWORD_MAX)


class LoginRequest(_Request):
    """Credentials for a login (also accepted as an OAuth2 password form)."""

    model_config = ConfigDict(
        json_schema_extra={"examples": [{"username": "alice", "password": "correct horse battery"}]}
    )

    username: str = Field(min_length=1, max_length=_USERNAME_MAX)
    password: str = Field(min_length=1, max_length=_PASSWORD_MAX)


class TokenRead(BaseModel):
    """An OAuth2 bearer token response."""

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {"access_token": "eyJhbGciOi…", "token_type": "bearer", "expires_in": 3600}
            ]
        }
    )

    access_token: str
    token_type: Literal["bearer"] = "bearer"  # noqa: S105
    expires_in: int = Field(description="Seconds until the token expires.")


class UserRead(BaseModel):
    """An account as clients see it (never the password hash)."""

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "id": "usr_3f2a9c0d1e4b5a6978877665",
                    "username": "alice",
                    "role": "user",
                    "is_active": True,
                    "created_at": "2026-01-15T10:30:00Z",
                }
            ]
        }
    )

    id: str
    username: str
    role: Role
    is_active: bool
    created_at: datetime


class MeRead(UserRead):
    """The caller, and how they authenticated."""

    auth_method: Literal["jwt", "api_key", "service_key"]


class UserUpdate(_Request):
    """What an admin may change about another user."""

    model_config = ConfigDict(json_schema_extra={"examples": [{"role": "admin"}]})

    role: Role | None = None
    is_active: bool | None = None


class ApiKeyCreate(_Request):
    """A new API key for a service client."""

    model_config = ConfigDict(json_schema_extra={"examples": [{"name": "catalogue importer"}]})

    name: str = Field(min_length=1, max_length=100, pattern=r"^[^\x00-\x1f\x7f]+$")


class ApiKeyRead(BaseModel):
    """An API key's metadata; the key itself is shown only when created or rotated."""

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "id": "key_0c1d2e3f4a5b6c7d8e9f0a1b",
                    "name": "catalogue importer",
                    "prefix": "rdk_1a2b3c4d",
                    "created_at": "2026-01-15T10:30:00Z",
                    "rotated_at": None,
                }
            ]
        }
    )

    id: str
    name: str
    prefix: str = Field(description="The visible start of the key, to tell keys apart.")
    created_at: datetime
    rotated_at: datetime | None = None


class ApiKeyCreated(ApiKeyRead):
    """A new (or rotated) key: store `key` now, it cannot be shown again."""

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "id": "key_0c1d2e3f4a5b6c7d8e9f0a1b",
                    "name": "catalogue importer",
                    "prefix": "rdk_1a2b3c4d",
                    "key": "rdk_1a2b3c4d_<43 characters shown once>",
                    "created_at": "2026-01-15T10:30:00Z",
                    "rotated_at": None,
                }
            ]
        }
    )

    key: str = Field(description="Send it as the X-API-Key header. Shown only this once.")
