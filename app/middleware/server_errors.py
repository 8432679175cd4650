"""Turn an unhandled exception into a 500 problem body holding only the trace id."""

from __future__ import annotations

from app.errors import AppError, problem_bytes
from app.logging import get_logger
from app.middleware.types import ASGIApp, Message, Receive, Scope, Send

_log = get_logger("app.errors")


class ServerErrorMiddleware:
    """Innermost guard: log the traceback, answer a problem body if nothing was sent yet."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = False

        async def send_wrapper(message: Message) -> None:
            nonlocal started
            if message["type"] == "http.response.start":
                started = True
            await send(message)

        try:
            await self.app(scope, receive, send_wrapper)
        except Exception:
            _log.exception("unhandled_error", path=scope["path"], method=scope["method"])
            if started:
                raise
            status, body = problem_bytes(
                AppError("An unexpected error occurred; quote the trace id when reporting it."),
                instance=scope["path"],
            )
            await send(
                {
                    "type": "http.response.start",
                    "status": status,
                    "headers": [
                        (b"content-type", b"application/problem+json"),
                        (b"content-length", str(len(body)).encode()),
                    ],
                }
            )
            await send({"type": "http.response.body", "body": body})
