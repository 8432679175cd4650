"""Refuse request bodies over the configured size with a 413 problem, without buffering them."""

from __future__ import annotations

from app.platform.errors import PayloadTooLargeError
from app.platform.middleware.problem import send_problem
from app.platform.middleware.types import ASGIApp, Message, Receive, Scope, Send


class BodyLimitMiddleware:
    """413 when the streamed body exceeds `max_bytes`. The edge layer sends only requests that
    have a body here, after its one header scan has refused a declared length over the limit."""

    def __init__(self, app: ASGIApp, *, max_bytes: int) -> None:
        self.app = app
        self.max_bytes = max_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        received = 0
        tripped = False
        response_started = False

        async def limited_receive() -> Message:
            nonlocal received, tripped
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > self.max_bytes:
                    tripped = True
                    # Stop the app from reading further; what it answers is replaced below.
                    return {"type": "http.disconnect"}
            return message

        async def guarded_send(message: Message) -> None:
            nonlocal response_started
            if tripped:
                if message["type"] == "http.response.start" and not response_started:
                    response_started = True
                    await send_payload_too_large(scope, send, self.max_bytes)
                return
            if message["type"] == "http.response.start":
                response_started = True
            await send(message)

        await self.app(scope, limited_receive, guarded_send)
        if tripped and not response_started:
            await send_payload_too_large(scope, send, self.max_bytes)


async def send_payload_too_large(scope: Scope, send: Send, max_bytes: int) -> None:
    """Answer 413 and close the connection (the unread body cannot be skipped safely)."""
    error = PayloadTooLargeError(f"The request body exceeds {max_bytes} bytes.")
    await send_problem(scope, send, error, [(b"connection", b"close")])
