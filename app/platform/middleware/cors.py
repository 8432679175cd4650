"""CORS for the browser frontend: the configured origins, with credentials.

Starlette's CORSMiddleware builds a `Headers` object for every request and a `MutableHeaders`
for every response; here the edge layer's one scan of the raw headers finds `Origin` and the
preflight fields, and requests without `Origin` (every non-browser client) cost nothing.
"""

from __future__ import annotations

from collections.abc import Sequence

from app.platform.errors import HTTPStatusError
from app.platform.middleware.problem import send_problem
from app.platform.middleware.types import Scope, Send

_METHODS = b"DELETE, GET, HEAD, OPTIONS, PATCH, POST, PUT"
_MAX_AGE = b"600"


class CorsPolicy:
    """Allow the configured origins (echoed, with credentials); answer preflights itself."""

    def __init__(self, *, allow_origins: Sequence[str], expose_headers: Sequence[str] = ()) -> None:
        self.allow_any = "*" in allow_origins
        self.allowed = frozenset(o.encode("latin-1") for o in allow_origins if o != "*")
        self.expose = ", ".join(expose_headers).encode("latin-1")

    def origin_allowed(self, origin: bytes) -> bool:
        """Whether a browser page from `origin` may read our responses."""
        return self.allow_any or origin in self.allowed

    def response_headers(self, origin: bytes) -> list[tuple[bytes, bytes]]:
        """The CORS headers of an ordinary response to a request that sent `Origin`."""
        headers = [(b"vary", b"Origin")]
        if self.origin_allowed(origin):
            # With credentials the origin is echoed, never "*" (browsers refuse "*" then).
            headers += [
                (b"access-control-allow-origin", origin),
                (b"access-control-allow-credentials", b"true"),
            ]
            if self.expose:
                headers.append((b"access-control-expose-headers", self.expose))
        return headers

    async def preflight(
        self, scope: Scope, send: Send, origin: bytes, request_headers: bytes | None
    ) -> None:
        """Answer an `OPTIONS` preflight: 200 with the allowances, or a 400 problem."""
        if not self.origin_allowed(origin):
            refused = HTTPStatusError(400, "This origin may not call the API from a browser.")
            await send_problem(scope, send, refused, [(b"vary", b"Origin")])
            return
        body = b"OK"
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
        await send({"type": "http.response.start", "status": 200, "headers": headers})
        await send({"type": "http.response.body", "body": body})
