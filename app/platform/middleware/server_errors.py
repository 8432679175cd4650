"""An unhandled exception becomes a 500 problem body holding only the trace id."""

from __future__ import annotations

from app.platform.errors import AppError
from app.platform.logging import get_logger
from app.platform.middleware.problem import send_problem
from app.platform.middleware.types import Scope, Send

_log = get_logger("app.errors")


async def send_server_error(scope: Scope, send: Send) -> None:
    """Log the traceback being handled and answer a 500 problem (the response has not started)."""
    _log.exception("unhandled_error", path=scope["path"], method=scope["method"])
    error = AppError("An unexpected error occurred; quote the trace id when reporting it.")
    await send_problem(scope, send, error)
