"""Rate limiting for HTTP requests: the gate the edge layer runs after CORS and before the body
limit, and the same gate as a stand-alone ASGI layer for apps without the edge."""

from __future__ import annotations

import asyncio
import json
import math
import random
from collections import deque
from collections.abc import Awaitable, Callable
from typing import Any
from urllib.parse import parse_qs

from app.platform.config import Settings
from app.platform.errors import (
    AppError,
    AuthenticationError,
    ClientBlockedError,
    IpNotAllowedError,
    RateLimiterUnavailableError,
    RateLimitExceededError,
)
from app.platform.logging import get_logger
from app.platform.metrics import METRICS_BUFFER, RATE_LIMIT_DECISIONS
from app.platform.middleware.problem import send_problem
from app.platform.middleware.types import Message, Receive, Scope, Send
from app.platform.principal import Principal
from app.platform.ratelimit.blocks import BlockCheck
from app.platform.ratelimit.items import LimitCheck, RateLimitItem
from app.platform.ratelimit.limiter import LimitOutcome, RateLimiter
from app.platform.ratelimit.policy import SAFE_METHODS, RateLimitPolicy, RouteRule, block_client
from app.platform.ratelimit.stores.memory import MemoryRateLimitStore

_log = get_logger("app.ratelimit")
# Login bodies are tiny; past this the username limit is skipped (the body limit still applies).
LOGIN_BODY_CAP = 16_384
_USERNAME_FIELDS = ("username", "email", "login")
# Which rules a (method, path) has is fixed once routes are registered: remember recent answers.
ROUTE_CACHE_SIZE = 4096
_MISSING = object()


# Identity → checks (and their policy header) memo: the same callers come back again and again.
PLAN_CACHE_SIZE = 8192


class RateLimitGate:
    """Apply every limit (docs/rate-limits.md) to one HTTP request; used by the edge layer. Per
    request: admin allowlist → exemptions → caller (principal, resolved once and shared with the
    route's dependencies) → the route's limits → one atomic store call → a 429 / 503 problem, or
    the rate-limit headers for the response."""

    def __init__(
        self,
        *,
        settings: Settings,
        limiter: RateLimiter | None = None,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
    ) -> None:
        self.enabled = settings.rate_limit_enabled
        self.login_slowdown_s = settings.login_slowdown_s
        self._sleep = sleep
        self.policy = RateLimitPolicy.from_settings(settings)
        self.jitter_s = settings.rate_limit_retry_jitter_s
        self.store_retry_s = settings.rate_limit_store_retry_s
        self._settings = settings
        self._limiter = limiter
        # (method, path) → its rules and whether one is keyed by username; None when exempt.
        self._route_cache: dict[tuple[str, str], tuple[tuple[RouteRule, ...], bool] | None] = {}
        self._plans: dict[
            tuple[Any, ...], tuple[tuple[LimitCheck, ...], bytes, BlockCheck | None]
        ] = {}
        # The app's principal resolver, read once like the limiter: the lifespan sets both
        # before the first request is served, and a missing attribute costs an exception.
        self._resolver: Any = _MISSING

    async def admit(
        self, scope: Scope, receive: Receive, send: Send, client_ip: str | None = None
    ) -> tuple[Receive, list[tuple[bytes, bytes]]] | None:
        """None when the request was answered here (403 / 429 / 503); else the `receive` the
        app must use and the headers to add to its response. `client_ip`: the caller's address
        as the edge resolved it (trusted proxies); by default the peer's."""
        method: str = scope["method"]
        path: str = scope["path"]
        state = scope.setdefault("state", {})
        if client_ip is None:
            client_ip = (scope.get("client") or ("unknown",))[0]
        if self.policy.admin_allowlist and self.policy.admin_denied(method, path, client_ip):
            METRICS_BUFFER.count(RATE_LIMIT_DECISIONS, ("admin", "ip_denied"))
            denied = IpNotAllowedError("This address may not use admin endpoints.")
            await send_problem(scope, send, denied, [])
            return None
        if not self.enabled:
            return receive, []
        app = scope.get("app")
        route_limits = self._rules_for(method, path)
        if route_limits is None:  # exempt
            return receive, []
        rules, needs_username = route_limits
        username = None
        if needs_username:
            receive, username = await _read_username(scope, receive)
        if self._resolver is _MISSING:
            self._resolver = getattr(getattr(app, "state", None), "principal_resolver", None)
        principal = await _resolve_principal(state, self._resolver, scope)
        limiter = self._limiter_for(app)
        quota = None
        if principal is not None and limiter.quotas is not None:
            # A dict lookup; a query at most every RATE_LIMIT_QUOTA_CACHE_S per worker.
            quota = await limiter.quotas.get(principal.user_id)
        checks, policy_header, block = self._plan(
            limiter, rules, client_ip, principal, username, quota
        )
        outcome = await limiter.hit(
            checks,
            route=rules[0].name if rules else "global",
            write=method not in SAFE_METHODS,
            block=block,
        )
        headers = self._headers(outcome, policy_header)
        if outcome.outcome == "blocked":
            # The block's own time left, exactly: no jitter (the block ends when it ends).
            wait = max(1, math.ceil(outcome.retry_after_s))
            headers.append((b"retry-after", str(wait).encode()))
            blocked: AppError = ClientBlockedError(
                f"Too many requests were refused; this client is blocked for {wait} s.",
                details={"retry_after_s": wait},
            )
            await send_problem(scope, send, blocked, headers)
            return None
        if outcome.outcome == "rejected":
            retry = math.ceil(outcome.retry_after_s + random.uniform(0, self.jitter_s))
            headers.append((b"retry-after", str(max(1, retry)).encode()))
            error: AppError = RateLimitExceededError(
                f"Rate limit exceeded; retry in {max(1, retry)} s.",
                details={"retry_after_s": max(1, retry)},
            )
            # The seeds' 429 body: `remaining` per window (`{"minute": 0, …}`).
            error.extra_members = {"remaining": _remaining_by_window(outcome)}  # type: ignore[attr-defined]
            await send_problem(scope, send, error, headers)
            return None
        if outcome.outcome == "error_closed":
            headers.append((b"retry-after", str(max(1, math.ceil(self.store_retry_s))).encode()))
            error = RateLimiterUnavailableError(
                "The rate limiter cannot reach its store; retry shortly."
            )
            await send_problem(scope, send, error, headers)
            return None
        if username and self.login_slowdown_s > 0:
            await self._slow_down(app, rules, username)
        return receive, headers

    async def _slow_down(self, app: Any, rules: tuple[RouteRule, ...], username: str) -> None:
        """Past a username's own budget (all addresses together) the attempt waits; it is never
        refused, so nobody can lock an owner out by guessing from elsewhere."""
        rule = next((r for r in rules if r.key == "ip_and_username"), None)
        if rule is None or not self.policy.login_username:
            return
        checks = self.policy.slowdown_checks(rule, username)
        outcome = await self._limiter_for(app).hit(checks, route=f"{rule.name}-user", write=True)
        if outcome.outcome == "rejected":
            await self._sleep(self.login_slowdown_s)

    def _plan(
        self,
        limiter: RateLimiter,
        rules: tuple[RouteRule, ...],
        client_ip: str,
        principal: Principal | None,
        username: str | None,
        quota: tuple[RateLimitItem, ...] | None,
    ) -> tuple[tuple[LimitCheck, ...], bytes, BlockCheck | None]:
        """The checks of this caller on these routes, their `RateLimit-Policy`, and the block
        check of the client (memoised)."""
        key = (
            rules,
            client_ip,
            None if principal is None else principal.user_id,
            principal is not None and principal.is_admin,
            username,
            quota,
        )
        plan = self._plans.get(key)
        if plan is None:
            checks = tuple(
                self.policy.checks(
                    client_ip=client_ip,
                    principal=principal,
                    rules=rules,
                    username=username,
                    quota=quota,
                )
            )
            # Blocked: whom the request is counted under (a user by id, an anonymous caller by
            # address). Never an admin, who must stay able to lift blocks (their limits apply).
            is_admin = principal is not None and principal.is_admin
            client = None if is_admin else block_client(checks)
            plan = (checks, self.policy.policy_header(checks).encode(), limiter.block_check(client))
            if len(self._plans) >= PLAN_CACHE_SIZE:
                self._plans.clear()  # one-off callers churn; a reset is O(1) amortised
            self._plans[key] = plan
        return plan

    def _rules_for(self, method: str, path: str) -> tuple[tuple[RouteRule, ...], bool] | None:
        """The route rules of this request and whether one needs the login's username, or None
        when it is exempt (cached per path)."""
        key = (method, path)
        cached = self._route_cache.get(key, _MISSING)
        if cached is not _MISSING:
            return cached  # type: ignore[return-value]
        rules: tuple[tuple[RouteRule, ...], bool] | None = None
        if not self.policy.is_exempt(method, path):
            matched = self._match(method, path)
            rules = (matched, any(rule.key == "ip_and_username" for rule in matched))
        if len(self._route_cache) >= ROUTE_CACHE_SIZE:
            self._route_cache.clear()  # paths with ids churn; a full reset is O(1) amortised
        self._route_cache[key] = rules
        return rules

    def _match(self, method: str, path: str) -> tuple[RouteRule, ...]:
        rule = self.policy.match_rule(method, path)
        return (rule,) if rule is not None else ()

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

    @staticmethod
    def _headers(outcome: LimitOutcome, policy_header: bytes) -> list[tuple[bytes, bytes]]:
        """`RateLimit-Policy`, `RateLimit` (every window) and `X-RateLimit-*` (the tightest
        window: `LimitOutcome.tightest`, inlined with `WindowResult.reset_s` into this one pass
        because it runs for every limited response)."""
        decision = outcome.decision
        if decision is None or not outcome.checks or not decision.results:
            return []  # no store answer, no limits, or a blocked client (nothing was read)
        allowed = decision.allowed
        parts = []
        best_limit = best_remaining = best_reset = best_key = -1  # best_limit < 0: none yet
        windows: dict[tuple[bytes, bytes], tuple[int, int]] = {}
        for check, result in zip(outcome.checks, decision.results, strict=True):
            remaining = result.remaining
            names = _SEED_HEADERS.get(check.item.window_s)
            if names is not None:
                seen = windows.get(names)
                if seen is None or remaining < seen[1]:
                    windows[names] = (check.item.amount, remaining)
            ms = result.retry_ms if remaining <= 0 else result.rollover_ms
            reset = -(-ms // 1000) if ms > 0 else 0
            parts.append(f'"{check.policy}";r={remaining};t={reset}')
            # Rejected: the longest wait wins; allowed: the least left, then the later rollover.
            if allowed:
                beats = (
                    best_limit < 0
                    or remaining < best_remaining
                    or (remaining == best_remaining and result.rollover_ms > best_key)
                )
                key = result.rollover_ms
            else:
                beats = best_limit < 0 or result.retry_ms > best_key
                key = result.retry_ms
            if beats:
                best_limit, best_remaining, best_reset, best_key = (
                    check.item.amount,
                    remaining,
                    reset,
                    key,
                )
        headers = [
            (b"ratelimit-policy", policy_header),
            (b"ratelimit", ", ".join(parts).encode()),
            (b"x-ratelimit-limit", b"%d" % best_limit),
            (b"x-ratelimit-remaining", b"%d" % best_remaining),
            (b"x-ratelimit-reset", b"%d" % best_reset),
        ]
        # The seeds' per-window headers (X-RateLimit-Limit-Minute, -Remaining-Minute, hour, day):
        # the tightest check of each window of exactly that length, gathered in the loop above.
        for (limit_name, remaining_name), (limit, left) in windows.items():
            headers.append((limit_name, b"%d" % limit))
            headers.append((remaining_name, b"%d" % max(0, left)))
        return headers


# Window lengths the seeds name, by the suffix of their headers.
_SEED_WINDOWS: dict[int, bytes] = {60: b"minute", 3600: b"hour", 86400: b"day"}
_SEED_HEADERS: dict[int, tuple[bytes, bytes]] = {
    window: (b"x-ratelimit-limit-" + name, b"x-ratelimit-remaining-" + name)
    for window, name in _SEED_WINDOWS.items()
}


def _by_window(outcome: LimitOutcome) -> dict[bytes, tuple[int, int]]:
    """(limit, remaining) of the tightest check per seed-named window."""
    found: dict[bytes, tuple[int, int]] = {}
    decision = outcome.decision
    if decision is None:
        return found
    for check, result in zip(outcome.checks, decision.results, strict=True):
        name = _SEED_WINDOWS.get(check.item.window_s)
        if name is None:
            continue
        left = max(0, result.remaining)
        prev = found.get(name)
        if prev is None or left < prev[1]:
            found[name] = (check.item.amount, left)
    return found


def _remaining_by_window(outcome: LimitOutcome) -> dict[str, int]:
    """`{"minute": n, …}` for the 429 body, as the seeds read it."""
    return {name.decode(): left for name, (_limit, left) in _by_window(outcome).items()}


async def _resolve_principal(
    state: dict[str, Any], resolver: Any, scope: Scope
) -> Principal | None:
    """The caller, cached in scope state like `app.deps.get_optional_principal` does."""
    if "principal" in state:
        cached: Principal | None = state["principal"]
        return cached
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
