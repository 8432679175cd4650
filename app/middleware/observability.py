"""Access log and HTTP metrics in one pass over the request (one layer, one clock read pair).

The route label is the matched route template (`/api/sessions/{session_id}`), never the raw
path, so neither the log nor Prometheus grows a label per id.
"""

from __future__ import annotations

import time
from typing import Any

from app.logging import access_log
from app.metrics import HTTP_DURATION, HTTP_IN_FLIGHT, HTTP_REQUESTS
from app.middleware.types import ASGIApp, Message, Receive, Scope, Send

_UNMATCHED = "<unmatched>"


def route_template(scope: Scope) -> str:
    """The path template of the route that served the request."""
    route = scope.get("route")
    path = getattr(route, "path_format", None) or getattr(route, "path", None)
    if path:
        return str(path)
    # Plain Starlette routes (docs, openapi) set only the endpoint; they have no parameters,
    # so their path is already the template.
    if "endpoint" in scope and not scope.get("path_params"):
        return str(scope["path"])
    return _UNMATCHED


def client_address(scope: Scope) -> str | None:
    """The client IP chosen by the proxy-aware client middleware, else the peer."""
    state = scope.get("state") or {}
    if "client_ip" in state:
        return str(state["client_ip"])
    client = scope.get("client")
    return client[0] if client else None


class ObservabilityMiddleware:
    """Write one structured access-log line and the request metrics per HTTP request."""

    def __init__(self, app: ASGIApp, *, metrics: bool = True, skip_paths: tuple[str, ...] = ()):
        self.app = app
        self.metrics = metrics
        self.skip_paths = frozenset(skip_paths)
        # Bound metric children by label values: `labels()` costs more than the update itself.
        self._counters: dict[tuple[str, str, int], Any] = {}
        self._histograms: dict[tuple[str, str], Any] = {}

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        start = time.perf_counter()
        status = 500
        if self.metrics:
            HTTP_IN_FLIGHT.inc()

        async def send_wrapper(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
            await send(message)

        try:
            await self.app(scope, receive, send_wrapper)
        finally:
            elapsed = time.perf_counter() - start
            route = route_template(scope)
            method = scope["method"]
            if self.metrics:
                HTTP_IN_FLIGHT.dec()
                counter = self._counters.get((method, route, status))
                if counter is None:
                    counter = HTTP_REQUESTS.labels(method, route, str(status))
                    self._counters[(method, route, status)] = counter
                counter.inc()
                histogram = self._histograms.get((method, route))
                if histogram is None:
                    histogram = self._histograms[(method, route)] = HTTP_DURATION.labels(
                        method, route
                    )
                histogram.observe(elapsed)
            if scope["path"] not in self.skip_paths:
                access_log.write(
                    method=method,
                    path=scope["path"],
                    route=route,
                    status_code=status,
                    duration_ms=round(elapsed * 1000, 3),
                    client=client_address(scope),
                )
