"""The one ASGI layer in front of the routes (docs/decisions/0004-one-edge-layer.md).

In order, per HTTP request: request id and client address (bound for logs and errors) → CORS
preflight → declared body size → rate limits → the app (with a streamed body limit when there
is a body) → on the way out: request id, security, CORS and rate-limit headers on whatever
answered, a 500 problem for an unhandled exception, then one note in the request log (from
which the metrics and the access line are made every 100 ms). FastAPI's own outer layers
(`ServerErrorMiddleware` and the rest) stay in front of it, as FastAPI builds them.

Each concern lives in its own module (`request_context`, `cors`, `rate_limit`, `body_limit`,
`security_headers`, `server_errors`, `observability`); this class only sequences them. Seven
stacked layers cost a coroutine, a closure and a `send` wrapper call per response message each;
one pass over the request and one wrapper keep the stack near the bare route's speed.
"""

from __future__ import annotations

from time import perf_counter

from app.platform.config import Settings
from app.platform.context import request_id_var
from app.platform.errors import InvalidHostError
from app.platform.events import PROBLEM_CODE_STATE_KEY
from app.platform.logging import get_logger
from app.platform.metrics import METRICS_BUFFER
from app.platform.middleware.body_limit import BodyLimitMiddleware, send_payload_too_large
from app.platform.middleware.client_ip import parse_networks, resolve_client_ip
from app.platform.middleware.cors import CorsPolicy
from app.platform.middleware.hosts import HostPolicy
from app.platform.middleware.observability import RequestLog, route_template
from app.platform.middleware.problem import send_problem
from app.platform.middleware.rate_limit import RateLimitGate
from app.platform.middleware.request_context import new_request_id, sane_request_id
from app.platform.middleware.security_headers import (
    DOCS_PATHS,
    SECURITY_HEADER_NAMES,
    security_headers,
)
from app.platform.middleware.server_errors import answer_unhandled
from app.platform.middleware.types import ASGIApp, Message, Receive, Scope, Send

_log = get_logger("app.errors")

# Response headers a browser script may read (CORS `Access-Control-Expose-Headers`).
EXPOSED_HEADERS = (
    "X-Request-ID",
    "Retry-After",
    "RateLimit",
    "RateLimit-Policy",
    "X-RateLimit-Limit",
    "X-RateLimit-Remaining",
    "X-RateLimit-Reset",
    # The seeds' per-window forms (docs/rate-limits.md).
    *(
        f"X-RateLimit-{kind}-{window}"
        for window in ("Minute", "Hour", "Day")
        for kind in ("Limit", "Remaining")
    ),
    "Idempotent-Replayed",
    "Cache-Status",
)

# Request headers the edge reads, by field number (one dict lookup per header).
# The batch area's file upload (BATCH_UPLOAD_MAX_BYTES); a path, not an import: the platform
# does not depend on the areas.
UPLOAD_PATH = "/api/batch/jobs/upload"
_RID, _ORIGIN, _AC_METHOD, _AC_HEADERS, _LENGTH, _CHUNKED, _HOST = range(7)


class EdgeMiddleware:
    """Request context, CORS, body limit, rate limits, security headers, error guard, metrics
    and access log for every HTTP request, in one layer."""

    def __init__(
        self, app: ASGIApp, *, settings: Settings, gate: RateLimitGate | None = None
    ) -> None:
        self.app = app
        self.with_body_limit = BodyLimitMiddleware(
            app, max_bytes=settings.max_body_bytes, read_timeout_s=settings.body_read_timeout_s
        )
        self.max_body_bytes = settings.max_body_bytes
        # Routes that take files: their own, larger limit instead of MAX_BODY_BYTES.
        self.large_bodies = {
            UPLOAD_PATH: (
                # No read deadline: a file of BATCH_UPLOAD_MAX_BYTES on a slow link may
                # legitimately take longer than BODY_READ_TIMEOUT_S (docs/operations.md).
                BodyLimitMiddleware(app, max_bytes=settings.batch_upload_max_bytes),
                settings.batch_upload_max_bytes,
            )
        }
        self.request_id_header = settings.request_id_header.lower().encode("latin-1")
        self.trusted_proxies = parse_networks(settings.trusted_proxies)
        self.cors = CorsPolicy(allow_origins=settings.cors_origins, expose_headers=EXPOSED_HEADERS)
        hosts = HostPolicy(settings.allowed_hosts)
        self.hosts = None if hosts.any else hosts  # "*": no check at all
        if gate is None and (settings.rate_limit_enabled or settings.admin_ip_allowlist):
            gate = RateLimitGate(settings=settings)
        # None when rate limiting is off: benchmarks then compare against no limiter at all.
        self.gate = gate
        self.metrics = settings.metrics_enabled
        self.requests = RequestLog(metrics=settings.metrics_enabled)
        self.api_headers = security_headers("/", "http")
        self._fields = {
            self.request_id_header: _RID,
            b"origin": _ORIGIN,
            b"access-control-request-method": _AC_METHOD,
            b"access-control-request-headers": _AC_HEADERS,
            b"content-length": _LENGTH,
            b"transfer-encoding": _CHUNKED,
        }
        if self.hosts is not None:
            self._fields[b"host"] = _HOST

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        start = perf_counter()
        request_id: str | None = None
        seen_id = False
        origin: bytes | None = None
        preflight_method: bytes | None = None
        preflight_headers: bytes | None = None
        length: bytes | None = None
        host: bytes | None = None
        chunked = False
        fields = self._fields
        for name, value in scope["headers"]:
            field = fields.get(name)
            if field is None:
                continue
            if field == _RID:
                if not seen_id:  # the first one counts, as with Content-Length
                    seen_id = True
                    request_id = sane_request_id(value)
            elif field == _ORIGIN:
                origin = value
            elif field == _AC_METHOD:
                preflight_method = value
            elif field == _AC_HEADERS:
                preflight_headers = value
            elif field == _LENGTH:
                if length is None:
                    length = value
            elif field == _HOST:
                host = value
            else:
                chunked = True
        if request_id is None:
            request_id = new_request_id()
        path: str = scope["path"]
        method: str = scope["method"]
        if self.trusted_proxies:
            client_ip = resolve_client_ip(scope, self.trusted_proxies)
        else:  # no proxy to believe: the peer is the client (resolve_client_ip's first answer)
            peer = scope.get("client")
            client_ip = peer[0] if peer else "unknown"
        # Logs, problem bodies and routes read the id from here (app.platform.context).
        token = request_id_var.set(request_id)
        if self.metrics:
            METRICS_BUFFER.in_flight += 1

        scheme = scope.get("scheme")
        if scheme == "http" and not path.startswith(DOCS_PATHS):
            security = self.api_headers  # nearly every request: skip the lookup
        else:
            security = security_headers(path, scheme)
        extra: list[tuple[bytes, bytes]] = [(self.request_id_header, request_id.encode("ascii"))]
        preflight = origin is not None and preflight_method is not None and method == "OPTIONS"
        if origin is not None and not preflight:
            extra += self.cors.response_headers(origin)
        status = 500
        started = False

        async def send_with_headers(message: Message) -> None:
            nonlocal status, started
            if message["type"] == "http.response.start":
                started = True
                status = message["status"]
                raw = message.get("headers") or ()
                for name, _ in raw:
                    if name in SECURITY_HEADER_NAMES:
                        # The route set one of them itself (e.g. a stricter CSP): its value wins.
                        present = {name for name, _ in raw}
                        kept = [h for h in security if h[0] not in present]
                        message["headers"] = [*raw, *kept, *extra]
                        break
                else:
                    message["headers"] = [*raw, *security, *extra]
            await send(message)

        try:
            if preflight and origin is not None:
                await self.cors.preflight(scope, send_with_headers, origin, preflight_headers)
                return
            if self.hosts is not None and not self.hosts.allows(path, host):
                await send_problem(scope, send_with_headers, InvalidHostError())
                return
            declared = None if length is None else _declared_length(length)
            with_body_limit, max_body_bytes = self.large_bodies.get(
                path, (self.with_body_limit, self.max_body_bytes)
            )
            if declared is not None and (declared < 0 or declared > max_body_bytes):
                await send_payload_too_large(scope, send_with_headers, max_body_bytes)
                return
            if self.gate is not None:
                admitted = await self.gate.admit(scope, receive, send_with_headers, client_ip)
                if admitted is None:  # answered (429 / 503 / 403)
                    return
                receive, limit_headers = admitted
                extra += limit_headers
            # HTTP/1.1 without Content-Length or Transfer-Encoding has no body: nothing to count.
            if chunked or (declared is not None and declared > 0):
                await with_body_limit(scope, receive, send_with_headers)
            else:
                await self.app(scope, receive, send_with_headers)
        except Exception as exc:
            if started:
                _log.exception("unhandled_error", path=path, method=method)
                raise
            await answer_unhandled(exc, scope, receive, send_with_headers)
        finally:
            ended = perf_counter()
            if self.metrics:
                METRICS_BUFFER.in_flight -= 1
            if status >= 400 and started:
                _record_problem(scope, method, path, status, request_id, client_ip)
            self.requests.note(
                (
                    method,
                    path,
                    route_template(scope),
                    status,
                    ended - start,
                    ended,
                    client_ip,
                    request_id,
                )
            )
            request_id_var.reset(token)


def _record_problem(
    scope: Scope, method: str, path: str, status: int, request_id: str, client_ip: str
) -> None:
    """Hand an answered problem to the app's monitoring event log (app/platform/events.py)."""
    events = getattr(getattr(scope.get("app"), "state", None), "events", None)
    if events is None:  # an app without the lifespan's recorder (bare apps, tools)
        return
    state = scope.get("state") or {}
    principal = state.get("principal")
    try:
        events.record_problem(
            status=status,
            code=state.get(PROBLEM_CODE_STATE_KEY),
            method=method,
            path=path,
            trace_id=request_id,
            user_id=getattr(principal, "user_id", None),
            client=client_ip,
        )
    except Exception:  # recording must never turn an answered request into a failure
        _log.exception("monitoring_event_not_recorded", path=path)


def _declared_length(value: bytes) -> int:
    """The Content-Length as a number; -1 when it is not one (refused like an oversized body)."""
    try:
        return int(value)
    except ValueError:
        return -1
