"""An unhandled exception becomes a 500 problem body holding only the trace id, unless the app
has its own handler for `Exception` (or 500), which then answers as Starlette would call it."""

from __future__ import annotations

import inspect
from typing import Any

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request

from app.platform.errors import AppError
from app.platform.logging import get_logger
from app.platform.middleware.problem import send_problem
from app.platform.middleware.types import Receive, Scope, Send

_log = get_logger("app.errors")


async def send_server_error(scope: Scope, send: Send) -> None:
    """Log the traceback being handled and answer a 500 problem (the response has not started)."""
    _log.exception("unhandled_error", path=scope["path"], method=scope["method"])
    error = AppError("An unexpected error occurred; quote the trace id when reporting it.")
    await send_problem(scope, send, error)


def app_error_handler(scope: Scope) -> Any:
    """The app's own handler for `Exception` or 500 (`app.add_exception_handler`), if any."""
    handlers = getattr(scope.get("app"), "exception_handlers", None) or {}
    return handlers.get(Exception) or handlers.get(500)


async def answer_unhandled(exc: Exception, scope: Scope, receive: Receive, send: Send) -> None:
    """Answer an exception nothing inside handled, before any response started.

    FastAPI hands an app-wide `Exception` handler to its outermost layer, which only sees the
    exceptions the layers inside it let through; the edge answers every one itself (so the
    answer carries the request id and security headers), so it calls that handler here.
    """
    handler = app_error_handler(scope)
    if handler is None:
        await send_server_error(scope, send)
        return
    _log.exception("unhandled_error", path=scope["path"], method=scope["method"])
    request = Request(scope, receive)
    try:
        if inspect.iscoroutinefunction(handler):
            response = await handler(request, exc)
        else:  # Starlette runs a plain function handler in a worker thread
            response = await run_in_threadpool(handler, request, exc)
        await response(scope, receive, send)
    except Exception:
        # The app's handler failed too: the service's own 500 problem, logged once more.
        await send_server_error(scope, send)
