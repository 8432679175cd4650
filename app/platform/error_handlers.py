"""Map framework and service exceptions onto the one problem body (docs/errors.md)."""

from __future__ import annotations

import httpx
from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.responses import JSONResponse, RedirectResponse, Response
from starlette.routing import Match

from app.platform.errors import (
    PROBLEM_CONTENT_TYPE,
    AIUnavailableError,
    AppError,
    DatabaseUnavailableError,
    HTTPStatusError,
    MethodNotAllowedError,
    NotFoundError,
    RedisUnavailableError,
    UnsupportedMediaTypeError,
    ValidationFailedError,
    problem_body,
    validation_details,
)
from app.platform.events import PROBLEM_CODE_STATE_KEY
from app.platform.logging import get_logger
from app.platform.storage.errors import (
    REDIS_OUTAGES,
    SQL_DRIVER_ERROR,
    SQL_OUTAGES,
    is_database_outage,
)

_JSON_TYPES = ("application/json", "application/problem+json")
_FORM_TYPES = ("application/x-www-form-urlencoded", "multipart/form-data")


class ProblemResponse(JSONResponse):
    """A JSON response with the RFC 9457 media type."""

    media_type = PROBLEM_CONTENT_TYPE

    def render(self, content: object) -> bytes:
        import json

        return json.dumps(content, ensure_ascii=False, default=str, separators=(",", ":")).encode()


def request_path(request: Request) -> str:
    """The path as `request.url.path` gives it, without building the whole URL."""
    path: str = request.scope["path"]
    return path.replace("?", "%3F").replace("#", "%23").replace("\\", "%5C")


def problem_response(request: Request, error: AppError) -> Response:
    """The problem response for `error` at this request's path."""
    body = problem_body(error, instance=request_path(request))
    # For the edge's monitoring event: it sees the status it sent, not the body's code.
    request.scope.setdefault("state", {})[PROBLEM_CODE_STATE_KEY] = error.code
    return ProblemResponse(body, status_code=body["status"], headers=error.headers or None)


async def _app_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, AppError)
    return problem_response(request, exc)


def _unsupported_media_type(request: Request) -> bool:
    content_type = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if not content_type or request.method in ("GET", "HEAD", "DELETE", "OPTIONS"):
        return False
    return not (
        content_type in _JSON_TYPES or content_type.endswith("+json") or content_type in _FORM_TYPES
    )


async def _validation_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, RequestValidationError)
    errors = exc.errors()
    body_errors = [e for e in errors if e.get("loc", ("",))[0] == "body"]
    if body_errors and _unsupported_media_type(request):
        return problem_response(
            request,
            UnsupportedMediaTypeError(
                f"Send the body as application/json, not {request.headers.get('content-type')}."
            ),
        )
    details = validation_details(errors)
    first = details[0] if details else {"field": "body", "message": "invalid"}
    summary = f"{first['field']}: {first['message']}"
    if len(details) > 1:
        summary += f" (and {len(details) - 1} more)"
    return problem_response(request, ValidationFailedError(summary, details=details))


def _slash_twin(request: Request) -> str | None:
    """The same path with its trailing slash toggled, as a relative URL, if a route takes it.

    Replaces Starlette's `redirect_slashes`, whose absolute Location repeats the request's Host
    header (an attacker's `Host: evil.example` became a redirect to evil.example)."""
    path: str = request.scope["path"]
    if path == "/":
        return None
    twin = path.rstrip("/") if path.endswith("/") else path + "/"
    if not twin.startswith("/") or twin[1:2] in ("/", "\\"):
        return None  # "//host" or "/\\host" would leave this site
    routes = request.app.router.routes
    if any(route.matches(request.scope)[0] != Match.NONE for route in routes):
        return None  # a route answered 404 itself (an unknown id, a missing file): no redirect
    scope = {**request.scope, "path": twin}
    for route in routes:
        match, _child = route.matches(scope)
        if match != Match.NONE:
            query = request.scope.get("query_string", b"").decode("latin-1")
            location: str = request.scope.get("root_path", "") + twin
            return location + ("?" + query if query else "")
    return None


async def _http_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, StarletteHTTPException)
    error: AppError
    if exc.status_code == 404:
        other = _slash_twin(request)
        if other is not None:
            return RedirectResponse(other, status_code=307)
        error = NotFoundError.missing(
            request_path(request), f"No route matches {request.method} {request_path(request)}."
        )
    elif exc.status_code == 405:
        error = MethodNotAllowedError(
            f"{request.method} is not allowed on {request_path(request)}."
        )
    elif exc.status_code == 400 and isinstance(exc.__cause__, RecursionError):
        # FastAPI's JSON parsing ran out of stack: a body nested deeper than the interpreter's
        # recursion limit (how deep that is depends on the stack it is parsed on). It is the
        # same client error as a body the service finds too deeply nested itself.
        error = ValidationFailedError(
            "The JSON body is nested too deeply.",
            details=[{"field": "body", "message": "nested too deeply", "type": "value_error"}],
        )
    else:
        detail = exc.detail if isinstance(exc.detail, str) else None
        error = HTTPStatusError(exc.status_code, detail)
    error.headers.update(exc.headers or {})
    return problem_response(request, error)


_log = get_logger("app.errors")


async def _database_error(request: Request, exc: Exception) -> Response:
    """An unreachable, silent or overloaded database: 503, whichever route met it."""
    if not is_database_outage(exc):
        raise exc  # a bug (constraint, syntax): the 500 path logs it with its traceback
    _log.warning("database_unavailable", error=type(exc).__name__, path=request_path(request))
    return problem_response(
        request, DatabaseUnavailableError("The database did not answer; retry shortly.")
    )


async def _redis_error(request: Request, exc: Exception) -> Response:
    """Redis refused, dropped or did not answer in time: 503, whichever route met it."""
    _log.warning("redis_unavailable", error=type(exc).__name__, path=request_path(request))
    return problem_response(request, RedisUnavailableError("Redis did not answer; retry shortly."))


async def _ai_transport_error(request: Request, exc: Exception) -> Response:
    """A model-server call that escaped the AI service's own translation (a safety net)."""
    _log.warning("ai_unavailable", error=type(exc).__name__, path=request_path(request))
    return problem_response(request, AIUnavailableError("The AI model server did not answer."))


def install_error_handlers(app: FastAPI) -> None:
    """Register the handlers; unhandled exceptions are caught by `ServerErrorMiddleware`.

    Driver exception families are mapped here, once, for every route: a backend outage is a
    503 naming the backend (with `Retry-After`), never a 500 (docs/errors.md)."""
    for family in SQL_OUTAGES:
        app.add_exception_handler(family, _database_error)
    # Statement timeouts arrive as the driver's generic error class (see `_database_outage`).
    app.add_exception_handler(SQL_DRIVER_ERROR, _database_error)
    for family in REDIS_OUTAGES:
        app.add_exception_handler(family, _redis_error)
    # Outbound HTTP is only the model server's (app/regulatory/ai).
    app.add_exception_handler(httpx.TransportError, _ai_transport_error)
    app.add_exception_handler(AppError, _app_error)
    app.add_exception_handler(RequestValidationError, _validation_error)
    app.add_exception_handler(StarletteHTTPException, _http_error)
