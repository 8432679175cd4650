"""Refuse request bodies over the configured size with a 413 problem, without buffering them,
and bodies that take longer than the configured time to arrive with a 408 problem."""

from __future__ import annotations

import asyncio
from time import monotonic

from app.platform.errors import PayloadTooLargeError, RequestTimeoutError
from app.platform.middleware.problem import send_problem
from app.platform.middleware.types import ASGIApp, Message, Receive, Scope, Send


class BodyLimitMiddleware:
    """413 when the streamed body exceeds `max_bytes`. The edge layer sends only requests that
    have a body here, after its one header scan has refused a declared length over the limit."""

    def __init__(
        self, app: ASGIApp, *, max_bytes: int, read_timeout_s: float | None = None
    ) -> None:
        self.app = app
        self.max_bytes = max_bytes
        self.read_timeout_s = read_timeout_s

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        received = 0
        tripped: str | None = None  # "size" or "time": the app's answer is replaced
        response_started = False
        body_done = False
        deadline: float | None = None

        async def limited_receive() -> Message:
            nonlocal received, tripped, body_done, deadline
            if body_done or self.read_timeout_s is None:
                message = await receive()  # e.g. waiting for a disconnect: no deadline
            else:
                if deadline is None:
                    deadline = monotonic() + self.read_timeout_s
                try:
                    message = await asyncio.wait_for(receive(), max(0.0, deadline - monotonic()))
                except TimeoutError:
                    tripped = "time"
                    return {"type": "http.disconnect"}
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if not message.get("more_body", False):
                    body_done = True
                if received > self.max_bytes:
                    tripped = "size"
                    # Stop the app from reading further; what it answers is replaced below.
                    return {"type": "http.disconnect"}
            return message

        async def refuse() -> None:
            if tripped == "size":
                await send_payload_too_large(scope, send, self.max_bytes)
            else:
                await send_request_timeout(scope, send)

        async def guarded_send(message: Message) -> None:
            nonlocal response_started
            if tripped:
                if message["type"] == "http.response.start" and not response_started:
                    response_started = True
                    await refuse()
                return
            if message["type"] == "http.response.start":
                response_started = True
            await send(message)

        await self.app(scope, limited_receive, guarded_send)
        if tripped and not response_started:
            await refuse()


async def send_request_timeout(scope: Scope, send: Send) -> None:
    """Answer 408 and close the connection (the rest of the body is not worth waiting for)."""
    error = RequestTimeoutError("The request body did not arrive in time.")
    await send_problem(scope, send, error, [(b"connection", b"close")])


async def send_payload_too_large(scope: Scope, send: Send, max_bytes: int) -> None:
    """Answer 413 and close the connection (the unread body cannot be skipped safely)."""
    error = PayloadTooLargeError(f"The request body exceeds {max_bytes} bytes.")
    await send_problem(scope, send, error, [(b"connection", b"close")])
