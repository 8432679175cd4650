"""`/api/auth`: register, login (OAuth2 password form or JSON), me, users (admin), API keys."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, FastAPI, Path, Query, Request, Response
from pydantic import ValidationError

from app.accounts.dependencies import AuthServiceDep
from app.accounts.repository import ApiKeyRecord, UserRecord
from app.accounts.schemas import (
    ApiKeyCreate,
    ApiKeyCreated,
    ApiKeyRead,
    LoginRequest,
    MeRead,
    TokenRead,
    UserCreate,
    UserRead,
    UserUpdate,
)
from app.platform.dependencies import AdminUser, CurrentUser
from app.platform.errors import (
    UnsupportedMediaTypeError,
    ValidationFailedError,
    validation_details,
)

router = APIRouter(prefix="/api/auth", tags=["auth"])

TOKEN_URL = "/api/auth/login"  # noqa: S105 - a path, not a secret
_NO_STORE = {"Cache-Control": "no-store", "Pragma": "no-cache"}
_FORM_TYPES = ("application/x-www-form-urlencoded", "multipart/form-data")


KeyId = Annotated[str, Path(min_length=1, max_length=64)]


def _user_read(user: UserRecord) -> UserRead:
    return UserRead(
        id=user.id,
        username=user.username,
        role="admin" if user.role == "admin" else "user",
        is_active=user.is_active,
        created_at=user.created_at,
    )


def _key_read(key: ApiKeyRecord) -> ApiKeyRead:
    return ApiKeyRead(
        id=key.id,
        name=key.name,
        prefix=key.prefix,
        created_at=key.created_at,
        rotated_at=key.rotated_at,
    )


def _key_created(key: ApiKeyRecord, secret: str) -> ApiKeyCreated:
    return ApiKeyCreated(**_key_read(key).model_dump(), key=secret)


def _invalid(exc: ValidationError) -> ValidationFailedError:
    # Located under "body" like FastAPI's own errors (a JSON syntax error has no field at all);
    # include_input=False: pydantic's errors carry the raw input, which here is a password.
    errors = [
        {**err, "loc": ("body", *err.get("loc", ()))}
        for err in exc.errors(include_input=False, include_url=False)
    ]
    details = validation_details(errors)
    first = details[0] if details else {"field": "body", "message": "invalid"}
    summary = f"{first['field']}: {first['message']}"
    if len(details) > 1:
        summary += f" (and {len(details) - 1} more)"
    return ValidationFailedError(summary, details=details)


async def _read_login(request: Request) -> LoginRequest:
    """Credentials from an OAuth2 password form (Swagger UI's Authorize) or a JSON body."""
    content_type = request.headers.get("content-type", "").split(";")[0].strip().lower()
    try:
        if content_type in _FORM_TYPES:
            async with request.form() as form:
                grant_type = form.get("grant_type")
                if grant_type not in (None, "", "password"):
                    raise ValidationFailedError(
                        "grant_type: only the 'password' grant is supported",
                        details=[
                            {
                                "field": "grant_type",
                                "message": "only 'password' is supported",
                                "type": "value_error",
                            }
                        ],
                    )
                fields = {k: form.get(k) for k in ("username", "password") if k in form}
                return LoginRequest.model_validate(fields)
        if content_type in ("", "application/json") or content_type.endswith("+json"):
            return LoginRequest.model_validate_json(await request.body())
    except ValidationError as exc:
        raise _invalid(exc) from None
    raise UnsupportedMediaTypeError(
        "Send the credentials as application/x-www-form-urlencoded or application/json."
    )


_LOGIN_BODY: dict[str, Any] = {
    "requestBody": {
        "required": True,
        "content": {
            "application/x-www-form-urlencoded": {
                "schema": {
                    "type": "object",
                    "required": ["username", "password"],
                    "properties": {
                        "grant_type": {"type": "string", "enum": ["password"]},
                        "username": {"type": "string"},
                        "password": {"type": "string", "format": "password"},
                    },
                }
            },
            "application/json": {"schema": LoginRequest.model_json_schema()},
        },
    }
}


@router.post(
    "/register",
    status_code=201,
    response_model=UserRead,
    summary="Create an account",
    responses={
        400: {"description": "Bad username or weak password"},
        409: {"description": "Taken"},
    },
)
async def register(body: UserCreate, auth: AuthServiceDep) -> UserRead:
    """Create a `user`-role account (usernames are case-insensitive)."""
    user = await auth.register(username=body.username, password=body.password)
    return _user_read(user)


@router.post(
    "/login",
    response_model=TokenRead,
    summary="Log in for an access token",
    openapi_extra=_LOGIN_BODY,
    responses={401: {"description": "Wrong username or password"}},
)
async def login(request: Request, response: Response, auth: AuthServiceDep) -> TokenRead:
    """Exchange a username and password (form or JSON) for a bearer token."""
    credentials = await _read_login(request)
    token = await auth.login(username=credentials.username, password=credentials.password)
    response.headers.update(_NO_STORE)
    return TokenRead(access_token=token.access_token, expires_in=token.expires_in)


@router.get("/me", response_model=MeRead, summary="Who am I")
async def me(principal: CurrentUser, auth: AuthServiceDep) -> MeRead:
    """The caller's account and how they authenticated."""
    user = await auth.current_user(principal=principal)
    return MeRead(**_user_read(user).model_dump(), auth_method=principal.auth_method)


@router.get("/users", response_model=list[UserRead], summary="List users (admin)")
async def list_users(
    _admin: AdminUser,
    auth: AuthServiceDep,
    limit: Annotated[int, Query(ge=1, le=500)] = 100,
    offset: Annotated[int, Query(ge=0, le=10_000_000)] = 0,
) -> list[UserRead]:
    """Every account, oldest first (admins only)."""
    return [_user_read(u) for u in await auth.list_users(limit=limit, offset=offset)]


@router.patch("/users/{user_id}", response_model=UserRead, summary="Change a user (admin)")
async def update_user(
    user_id: KeyId, body: UserUpdate, admin: AdminUser, auth: AuthServiceDep
) -> UserRead:
    """Set another user's role or active flag (admins only)."""
    user = await auth.update_user(
        actor=admin, user_id=user_id, role=body.role, is_active=body.is_active
    )
    return _user_read(user)


@router.post(
    "/api-keys", status_code=201, response_model=ApiKeyCreated, summary="Create an API key"
)
async def create_api_key(
    body: ApiKeyCreate, principal: CurrentUser, auth: AuthServiceDep, response: Response
) -> ApiKeyCreated:
    """A new key for a service client; the `key` is shown only in this response."""
    record, secret = await auth.create_api_key(principal=principal, name=body.name)
    response.headers.update(_NO_STORE)
    return _key_created(record, secret)


@router.get("/api-keys", response_model=list[ApiKeyRead], summary="List your API keys")
async def list_api_keys(principal: CurrentUser, auth: AuthServiceDep) -> list[ApiKeyRead]:
    """Your active keys: prefix and metadata, never the key."""
    return [_key_read(k) for k in await auth.list_api_keys(principal=principal)]


@router.delete("/api-keys/{key_id}", status_code=204, summary="Revoke an API key")
async def revoke_api_key(key_id: KeyId, principal: CurrentUser, auth: AuthServiceDep) -> Response:
    """Revoke a key at once (other workers within `AUTH_CACHE_TTL_S`)."""
    await auth.revoke_api_key(principal=principal, key_id=key_id)
    return Response(status_code=204)


@router.post("/api-keys/{key_id}/rotate", response_model=ApiKeyCreated, summary="Rotate an API key")
async def rotate_api_key(
    key_id: KeyId, principal: CurrentUser, auth: AuthServiceDep, response: Response
) -> ApiKeyCreated:
    """A new secret for the same key id and name; the old secret stops working."""
    record, secret = await auth.rotate_api_key(principal=principal, key_id=key_id)
    response.headers.update(_NO_STORE)
    return _key_created(record, secret)


def install_openapi_security(app: FastAPI) -> None:
    """Declare bearer (OAuth2 password flow) and X-API-Key auth for every operation, optional,
    so Swagger UI shows "Authorize" and sends the credentials with each call."""
    build = app.openapi

    def openapi() -> dict[str, Any]:
        if app.openapi_schema:
            return app.openapi_schema
        schema = build()
        schemes = schema.setdefault("components", {}).setdefault("securitySchemes", {})
        schemes["OAuth2Password"] = {
            "type": "oauth2",
            "flows": {"password": {"tokenUrl": TOKEN_URL, "scopes": {}}},
        }
        schemes["ApiKey"] = {"type": "apiKey", "in": "header", "name": "X-API-Key"}
        # `{}` = anonymous is allowed too; routes that need a user answer 401 themselves.
        schema["security"] = [{"OAuth2Password": []}, {"ApiKey": []}, {}]
        app.openapi_schema = schema
        return schema

    app.openapi = openapi  # type: ignore[method-assign]
