"""Rate limiting as plain ASGI, between CORS and the body limit.

Per request: admin allowlist → exemptions → caller (principal, resolved once and shared with the
route's dependencies) → the route's limits (settings patterns and `@limit` declarations) → one
atomic store call → 429 / 503 problem or the request, with the rate-limit headers either way.
"""

from __future__ import annotations

import json
import math
import random
from collections import deque
from typing import Any
from urllib.parse import parse_qs

from starlette.routing import Match

from app.config import Settings
from app.errors import (
    AppError,
    AuthenticationError,
    IpNotAllowedError,
    RateLimiterUnavailableError,
    RateLimitExceededError,
    problem_bytes,
)
from app.logging import get_logger
from app.metrics import RATE_LIMIT_DECISIONS
from app.middleware.types import ASGIApp, Message, Receive, Scope, Send
from app.principal import Principal
from app.ratelimit.limiter import LimitOutcome, RateLimiter
from app.ratelimit.policy import SAFE_METHODS, RateLimitPolicy, RouteRule
from app.storage.memory.rate_limit import MemoryRateLimitStore

_log = get_logger("app.ratelimit")
# Login bodies are tiny; past this the username limit is skipped (the body limit still applies).
LOGIN_BODY_CAP = 16_384
_USERNAME_FIELDS = ("username", "email", "login")
# Which rules a (method, path) has is fixed once routes are registered: remember recent answers.
ROUTE_CACHE_SIZE = 4096
_MISSING = object()


class RateLimitMiddleware:
    """Apply every limit of DESIGN §6 to HTTP requests and report them in headers."""

    def __init__(
        self,
        app: ASGIApp,
        *,
        settings: Settings,
        limiter: RateLimiter | None = None,
    ) -> None:
        self.app = app
        self.enabled = settings.rate_limit_enabled
        self.policy = RateLimitPolicy.from_settings(settings)
        self.jitter_s = settings.rate_limit_retry_jitter_s
        self.store_retry_s = settings.rate_limit_store_retry_s
        self._settings = settings
        self._limiter = limiter
        self._declared: list[tuple[Any, RouteRule]] | None = None
        self._route_cache: dict[tuple[str, str], list[RouteRule] | None] = {}

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        method: str = scope["method"]
        path: str = scope["path"]
        state = scope.setdefault("state", {})
        client_ip = state.get("client_ip") or (scope.get("client") or ("unknown",))[0]
        if self.policy.admin_allowlist and self.policy.admin_denied(method, path, client_ip):
            RATE_LIMIT_DECISIONS.labels("admin", "ip_denied").inc()
            denied = IpNotAllowedError("This address may not use admin endpoints.")
            await _send_problem(scope, send, denied, [])
            return
        if not self.enabled:
            await self.app(scope, receive, send)
            return
        app = scope.get("app")
        rules = self._rules_for(app, scope, method, path)
        if rules is None:  # exempt
            await self.app(scope, receive, send)
            return
        username = None
        if any(rule.key == "ip_and_username" for rule in rules):
            receive, username = await _read_username(scope, receive)
        principal = await _resolve_principal(scope, state, app)
        checks = self.policy.checks(
            client_ip=client_ip, principal=principal, rules=rules, username=username
        )
        outcome = await self._limiter_for(app).hit(
            checks, route=rules[0].name if rules else "global", write=method not in SAFE_METHODS
        )
        headers = self._headers(outcome)
        if outcome.outcome == "rejected":
            retry = math.ceil(outcome.retry_after_s + random.uniform(0, self.jitter_s))
            headers.append((b"retry-after", str(max(1, retry)).encode()))
            error: AppError = RateLimitExceededError(
                f"Rate limit exceeded; retry in {max(1, retry)} s.",
                details={"retry_after_s": max(1, retry)},
            )
            await _send_problem(scope, send, error, headers)
            return
        if outcome.outcome == "error_closed":
            headers.append((b"retry-after", str(max(1, math.ceil(self.store_retry_s))).encode()))
            error = RateLimiterUnavailableError(
                "The rate limiter cannot reach its store; retry shortly."
            )
            await _send_problem(scope, send, error, headers)
            return
        if not headers:
            await self.app(scope, receive, send)
            return

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                message["headers"] = [*message.get("headers", ()), *headers]
            await send(message)

        await self.app(scope, receive, send_with_headers)

    def _rules_for(self, app: Any, scope: Scope, method: str, path: str) -> list[RouteRule] | None:
        """The route rules of this request, or None when it is exempt (cached per path)."""
        key = (method, path)
        cached = self._route_cache.get(key, _MISSING)
        if cached is not _MISSING:
            return cached  # type: ignore[return-value]
        rules = (
            None if self.policy.is_exempt(method, path) else self._match(app, scope, method, path)
        )
        if len(self._route_cache) >= ROUTE_CACHE_SIZE:
            self._route_cache.clear()  # paths with ids churn; a full reset is O(1) amortised
        self._route_cache[key] = rules
        return rules

    def _match(self, app: Any, scope: Scope, method: str, path: str) -> list[RouteRule]:
        rules: list[RouteRule] = []
        rule = self.policy.match_rule(method, path)
        if rule is not None:
            rules.append(rule)
        if self._declared is None:
            # Routes are complete once the app serves; read the @limit declarations once.
            routes = getattr(getattr(app, "router", None), "routes", ())
            self._declared = self.policy.declared_rules(routes)
        for route, declared in self._declared:
            match, _child = route.matches(scope)
            if match == Match.FULL:
                rules.append(declared)
        return rules

    def _limiter_for(self, app: Any) -> RateLimiter:
        if self._limiter is None:
            resources = getattr(getattr(app, "state", None), "resources", None)
            limiter = getattr(resources, "rate_limiter", None)
            if limiter is None:
                # No lifespan-built limiter (a bare app): count in this process rather than
                # silently not limiting at all.
                _log.warning("rate_limiter_missing_using_memory")
                limiter = RateLimiter(
                    store=MemoryRateLimitStore(),
                    fail_open_reads=self._settings.rate_limit_fail_open,
                    fail_open_writes=self._settings.rate_limit_fail_open_writes,
                )
            self._limiter = limiter
        return self._limiter

    def _headers(self, outcome: LimitOutcome) -> list[tuple[bytes, bytes]]:
        tightest = outcome.tightest()
        if tightest is None or outcome.decision is None:
            return []
        check, result = tightest
        current = ", ".join(
            f'"{c.policy}";r={r.remaining};t={r.reset_s}'
            for c, r in zip(outcome.checks, outcome.decision.results, strict=True)
        )
        return [
            (b"ratelimit-policy", self.policy.policy_header(outcome.checks).encode()),
            (b"ratelimit", current.encode()),
            (b"x-ratelimit-limit", str(check.item.amount).encode()),
            (b"x-ratelimit-remaining", str(result.remaining).encode()),
            (b"x-ratelimit-reset", str(result.reset_s).encode()),
        ]


async def _resolve_principal(scope: Scope, state: dict[str, Any], app: Any) -> Principal | None:
    """The caller, cached in scope state like `app.deps.get_optional_principal` does."""
    if "principal" in state:
        cached: Principal | None = state["principal"]
        return cached
    resolver = getattr(getattr(app, "state", None), "principal_resolver", None)
    if resolver is None:
        return None
    try:
        principal: Principal | None = await resolver(scope)
    except AuthenticationError:
        # Bad credentials count as anonymous here; not cached, so the route still answers 401.
        return None
    except Exception as exc:
        _log.warning("rate_limit_principal_failed", error=type(exc).__name__)
        return None
    state["principal"] = principal
    return principal


async def _read_username(scope: Scope, receive: Receive) -> tuple[Receive, str | None]:
    """Buffer a (small) login body to read its username, and replay it to the app unchanged."""
    messages: deque[Message] = deque()
    body = b""
    complete = False
    while True:
        message = await receive()
        messages.append(message)
        if message["type"] != "http.request":
            break
        body += message.get("body", b"")
        if not message.get("more_body", False):
            complete = True
            break
        if len(body) > LOGIN_BODY_CAP:
            break

    async def replay() -> Message:
        if messages:
            return messages.popleft()
        return await receive()

    username = _username_from(scope, body) if complete and len(body) <= LOGIN_BODY_CAP else None
    return replay, username


def _username_from(scope: Scope, body: bytes) -> str | None:
    content_type = ""
    for name, value in scope["headers"]:
        if name == b"content-type":
            content_type = value.decode("latin-1").split(";")[0].strip().lower()
            break
    try:
        if content_type == "application/x-www-form-urlencoded":
            form = parse_qs(body.decode("utf-8"), max_num_fields=50)
            values = {k: v[0] for k, v in form.items() if v}
        else:
            parsed = json.loads(body)
            values = parsed if isinstance(parsed, dict) else {}
    except (ValueError, UnicodeDecodeError):
        return None
    for field in _USERNAME_FIELDS:
        value = values.get(field)
        if isinstance(value, str) and value.strip():
            return value[:256]
    return None


async def _send_problem(
    scope: Scope, send: Send, error: AppError, headers: list[tuple[bytes, bytes]]
) -> None:
    status, body = problem_bytes(error, instance=scope["path"])
    await send(
        {
            "type": "http.response.start",
            "status": status,
            "headers": [
                (b"content-type", b"application/problem+json"),
                (b"content-length", str(len(body)).encode()),
                *headers,
            ],
        }
    )
    await send({"type": "http.response.body", "body": body})
