"""CORS for the browser frontend, as plain ASGI.

Starlette's CORSMiddleware builds a `Headers` object for every request and a `MutableHeaders`
for every response, which made it one of the costlier layers on a bare route; this one scans
the raw headers once and touches nothing when there is no `Origin`.
"""

from __future__ import annotations

from collections.abc import Sequence

from app.errors import HTTPStatusError, problem_bytes
from app.middleware.types import ASGIApp, Message, Receive, Scope, Send

_METHODS = b"DELETE, GET, HEAD, OPTIONS, PATCH, POST, PUT"
_MAX_AGE = b"600"


class CorsMiddleware:
    """Allow the configured origins (with credentials); answer preflights without the app."""

    def __init__(
        self,
        app: ASGIApp,
        *,
        allow_origins: Sequence[str],
        expose_headers: Sequence[str] = (),
    ) -> None:
        self.app = app
        self.allow_any = "*" in allow_origins
        self.allowed = frozenset(o.encode("latin-1") for o in allow_origins if o != "*")
        self.expose = ", ".join(expose_headers).encode("latin-1")

    def _origin_allowed(self, origin: bytes) -> bool:
        return self.allow_any or origin in self.allowed

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        origin = None
        request_method = None
        request_headers = None
        for name, value in scope["headers"]:
            if name == b"origin":
                origin = value
            elif name == b"access-control-request-method":
                request_method = value
            elif name == b"access-control-request-headers":
                request_headers = value
        if origin is None:
            await self.app(scope, receive, send)
            return
        if scope["method"] == "OPTIONS" and request_method is not None:
            await self._preflight(scope, send, origin, request_headers)
            return
        allowed = self._origin_allowed(origin)
        extra = [(b"vary", b"Origin")]
        if allowed:
            # With credentials the origin is echoed, never "*" (browsers refuse "*" then).
            extra += [
                (b"access-control-allow-origin", origin),
                (b"access-control-allow-credentials", b"true"),
            ]
            if self.expose:
                extra.append((b"access-control-expose-headers", self.expose))

        async def send_with_cors(message: Message) -> None:
            if message["type"] == "http.response.start":
                message["headers"] = [*message.get("headers", ()), *extra]
            await send(message)

        await self.app(scope, receive, send_with_cors)

    async def _preflight(
        self, scope: Scope, send: Send, origin: bytes, request_headers: bytes | None
    ) -> None:
        if not self._origin_allowed(origin):
            status, body = problem_bytes(
                HTTPStatusError(400, "This origin may not call the API from a browser."),
                instance=scope["path"],
            )
            headers = [(b"content-type", b"application/problem+json"), (b"vary", b"Origin")]
        else:
            status, body = 200, b"OK"
            headers = [
                (b"content-type", b"text/plain; charset=utf-8"),
                (b"access-control-allow-origin", origin),
                (b"access-control-allow-credentials", b"true"),
                (b"access-control-allow-methods", _METHODS),
                (b"access-control-max-age", _MAX_AGE),
                (b"vary", b"Origin"),
            ]
            if request_headers:
                headers.append((b"access-control-allow-headers", request_headers))
        headers.append((b"content-length", str(len(body)).encode()))
        await send({"type": "http.response.start", "status": status, "headers": headers})
        await send({"type": "http.response.body", "body": body})
