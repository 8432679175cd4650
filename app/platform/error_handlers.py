"""Map framework and service exceptions onto the one problem body (docs/errors.md)."""

from __future__ import annotations

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.responses import JSONResponse, Response

from app.platform.errors import (
    PROBLEM_CONTENT_TYPE,
    AppError,
    HTTPStatusError,
    MethodNotAllowedError,
    NotFoundError,
    UnsupportedMediaTypeError,
    ValidationFailedError,
    problem_body,
    validation_details,
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


async def _http_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, StarletteHTTPException)
    error: AppError
    if exc.status_code == 404:
        error = NotFoundError(f"No route matches {request.method} {request_path(request)}.")
    elif exc.status_code == 405:
        error = MethodNotAllowedError(
            f"{request.method} is not allowed on {request_path(request)}."
        )
    else:
        detail = exc.detail if isinstance(exc.detail, str) else None
        error = HTTPStatusError(exc.status_code, detail)
    error.headers.update(exc.headers or {})
    return problem_response(request, error)


def install_error_handlers(app: FastAPI) -> None:
    """Register the handlers; unhandled exceptions are caught by `ServerErrorMiddleware`."""
    app.add_exception_handler(AppError, _app_error)
    app.add_exception_handler(RequestValidationError, _validation_error)
    app.add_exception_handler(StarletteHTTPException, _http_error)
