"""Request context: the request id (incoming if sane, else new; echoed; bound for logs and
errors) and the client address (proxy-aware), resolved once for every later layer."""

from __future__ import annotations

import os
import re

from app.context import request_id_var
from app.middleware.client_ip import Network, resolve_client_ip
from app.middleware.types import ASGIApp, Message, Receive, Scope, Send

# Printable, short, no spaces: anything else could forge log lines or blow up headers.
_SANE_ID = re.compile(rb"^[A-Za-z0-9._:\-]{1,128}$")


class RequestContextMiddleware:
    """Bind `X-Request-ID` (incoming if sane, else a new UUID) and the client IP to the request."""

    def __init__(
        self,
        app: ASGIApp,
        *,
        header: str = "X-Request-ID",
        trusted_proxies: tuple[Network, ...] = (),
    ) -> None:
        self.app = app
        self.trusted_proxies = trusted_proxies
        self.header = header
        self._header_raw = header.lower().encode("latin-1")

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        request_id = None
        for name, value in scope["headers"]:
            if name == self._header_raw:
                if _SANE_ID.match(value):
                    request_id = value.decode("ascii")
                break
        if request_id is None:
            # 128 random bits as 32 hex digits: the shape of a UUID's hex, a fifth of its cost.
            request_id = os.urandom(16).hex()
        state = scope.setdefault("state", {})
        state["request_id"] = request_id
        state["client_ip"] = resolve_client_ip(scope, self.trusted_proxies)
        token = request_id_var.set(request_id)

        async def send_with_id(message: Message) -> None:
            if message["type"] == "http.response.start":
                # No route sets this header itself, so appending is enough (and cheaper
                # than MutableHeaders, which scans and rebuilds the list).
                headers = message.setdefault("headers", [])
                if not isinstance(headers, list):
                    headers = message["headers"] = list(headers)
                headers.append((self._header_raw, request_id.encode("ascii")))
            await send(message)

        try:
            await self.app(scope, receive, send_with_id)
        finally:
            request_id_var.reset(token)
