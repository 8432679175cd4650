"""The OpenAPI document tells the truth about errors: every status an operation can send, each
with the RFC 9457 problem schema, and 400 (not FastAPI's 422) for validation errors.

Done once, centrally, on the generated document (routes declare only their success and any
route-specific description): which statuses an operation can send follows from what it is —
its inputs, its dependencies (caller, admin), its path and its method — by the rules below.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any

from fastapi import FastAPI
from fastapi.routing import APIRoute

from app.platform.dependencies import (
    get_admin_principal,
    get_current_principal,
    get_optional_principal,
)

PROBLEM_REF = {"$ref": "#/components/schemas/Problem"}
PROBLEM_SCHEMA: dict[str, Any] = {
    "title": "Problem",
    "description": "RFC 9457 problem details with this service's extension members "
    "(docs/errors.md).",
    "type": "object",
    "required": ["type", "title", "status", "detail", "code", "error_code"],
    "properties": {
        "type": {"type": "string"},
        "title": {"type": "string"},
        "status": {"type": "integer"},
        "detail": {"type": "string"},
        "instance": {"type": "string"},
        "error": {"type": "string"},
        "code": {"type": "string", "description": "Stable symbolic code, e.g. SESSION_NOT_FOUND"},
        "error_code": {"type": "string", "description": "Numbered code, e.g. ERR_1002"},
        "message": {"type": "string"},
        "details": {},
        "trace_id": {"type": ["string", "null"]},
        "timestamp": {"type": "string"},
    },
}

DESCRIPTIONS = {
    400: "Invalid input (VALIDATION_ERROR lists every field) or a rule of the operation",
    401: "No, bad, expired or revoked credentials, or the account is gone",
    403: "The caller's role, credential kind or address may not do this",
    404: "No such resource (or not the caller's)",
    408: "The body did not arrive within BODY_READ_TIMEOUT_S",
    409: "Conflicts with the current state",
    502: "The AI model answered, but not with valid output (AI_INVALID_OUTPUT)",
    413: "Body larger than MAX_BODY_BYTES (or a stored value past its limit)",
    415: "Body not sent as application/json",
    429: "A rate limit is used up (see Retry-After)",
    503: "A backend (database, Redis, AI model) is unavailable; retry after Retry-After",
}

# Operations that can answer 409 besides those declaring it themselves, with the reason.
CONFLICTS: dict[tuple[str, str], str] = {
    ("POST", "/api/auth/register"): "USERNAME_TAKEN",
    ("POST", "/api/auth/api-keys"): "API_KEY_LIMIT_REACHED",
    ("PATCH", "/api/auth/users/{user_id}"): "SELF_MODIFICATION",
    ("POST", "/api/purchase/{product_id}"): "PURCHASE_LIMIT_REACHED, SALE_NOT_ACTIVE, ...",
    ("POST", "/api/inventory/{product_id}/restock"): "LOCK_TIMEOUT",
    ("POST", "/api/refine"): "PLAN_VERSION_CONFLICT",
    ("POST", "/api/stream/refine"): "PLAN_VERSION_CONFLICT",
}
# Operations that ask the AI model (AI_PROVIDER=ollama|openai) and may get unusable output.
AI_PATHS = frozenset(
    {
        "/api/classify",
        "/api/purpose",
        "/api/standards",
        "/api/refine",
        "/api/classify/stream",
        "/api/stream/classify",
        "/api/stream/purpose",
        "/api/stream/standards",
        "/api/stream/refine",
    }
)
# Paths that touch no backend and have no limits: probes, metrics, the root.
PLAIN_PATHS = ("/", "/ping", "/health", "/health/live", "/metrics")


def _calls(route: APIRoute) -> set[Callable[..., Any]]:
    found: set[Callable[..., Any]] = set()
    stack = list(route.dependant.dependencies)
    while stack:
        dependant = stack.pop()
        if dependant.call is not None:
            found.add(dependant.call)
        stack.extend(dependant.dependencies)
    return found


def error_statuses(route: APIRoute, method: str, operation: dict[str, Any]) -> set[int]:
    """Every error status this operation can send, by the rules of this module."""
    path = route.path_format
    if path in PLAIN_PATHS:
        return set()
    statuses = {503}
    calls = _calls(route)
    has_body = "requestBody" in operation
    if operation.get("parameters") or has_body:
        statuses.add(400)
    if calls & {get_optional_principal, get_current_principal, get_admin_principal}:
        statuses.add(401)
    if get_admin_principal in calls or "/api-keys" in path:
        statuses.add(403)  # admins only; keys are managed with a bearer token only
    names = [p.get("name", "") for p in operation.get("parameters") or ()]
    if "{" in path or any(name.endswith("_id") for name in names):
        statuses.add(404)  # an id in the path or the query may name nothing (or not yours)
    if has_body:
        statuses |= {408, 413, 415}
    if (method, path) in CONFLICTS:
        statuses.add(409)
    if path in AI_PATHS:
        statuses.add(502)
    if path.startswith("/api"):
        statuses.add(429)  # every /api route counts against the caller's tier
    else:
        statuses.discard(503)
    return statuses


def _problem_response(description: str) -> dict[str, Any]:
    return {
        "description": description,
        "content": {"application/problem+json": {"schema": PROBLEM_REF}},
    }


def document_errors(schema: dict[str, Any], routes: Iterable[Any]) -> dict[str, Any]:
    """Rewrite `schema` in place: 400 for 422, every error status with the problem schema."""
    components = schema.setdefault("components", {}).setdefault("schemas", {})
    components["Problem"] = PROBLEM_SCHEMA
    for route in _api_routes(routes):
        operations = schema.get("paths", {}).get(route.path_format, {})
        for method in sorted(route.methods or ()):
            operation = operations.get(method.lower())
            if operation is None:
                continue
            responses = operation.setdefault("responses", {})
            responses.pop("422", None)
            for status in error_statuses(route, method, operation) | {
                int(code) for code in responses if code.isdigit() and int(code) >= 400
            }:
                declared = responses.get(str(status), {})
                description = declared.get("description") or DESCRIPTIONS.get(status, "Error")
                responses[str(status)] = _problem_response(description)
    for unused in ("HTTPValidationError", "ValidationError"):
        components.pop(unused, None)
    return schema


def _api_routes(routes: Iterable[Any]) -> list[APIRoute]:
    return [r for r in routes if isinstance(r, APIRoute) and r.include_in_schema]


def install_openapi_errors(app: FastAPI, routes: Iterable[Any]) -> None:
    """Post-process the generated document once (wraps whatever `app.openapi` is now).

    `routes`: the routers' own routes (the app keeps included routers as opaque entries)."""
    build = app.openapi
    routes = list(routes)

    def openapi() -> dict[str, Any]:
        if app.openapi_schema:
            return app.openapi_schema
        app.openapi_schema = document_errors(build(), routes)
        return app.openapi_schema

    app.openapi = openapi  # type: ignore[method-assign]
