"""Which limits apply to a request: tiers, per-route rules, exemptions and the admin allowlist,
all built once from settings (docs/rate-limits.md lists the defaults)."""

from __future__ import annotations

import hashlib
import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal

from app.platform.config import Settings
from app.platform.networks import Network, address_in, parse_networks
from app.platform.principal import Principal
from app.platform.ratelimit.items import LimitCheck, RateLimitItem, parse_limits
from app.platform.ratelimit.patterns import PathPattern, compile_pattern, compile_patterns

RuleKey = Literal["user", "ip", "ip_and_username"]
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS", "TRACE"})

# Where each configurable route limit applies. Stream variants share the counters of their
# plain endpoint, so switching to SSE does not double anyone's quota.
BUILTIN_ROUTES: dict[str, tuple[tuple[str, ...], RuleKey]] = {
    "classify": (
        ("POST /api/classify", "POST /api/classify/stream", "POST /api/stream/classify"),
        "user",
    ),
    "purpose": (("POST /api/purpose", "POST /api/stream/purpose"), "user"),
    "standards": (("POST /api/standards", "POST /api/stream/standards"), "user"),
    "refine": (("POST /api/refine", "POST /api/stream/refine"), "user"),
    # `/purchase/{id}` and `/login` are the seeds' aliases (app/compat.py): same limits.
    "purchase": (
        ("POST /api/purchase*", "POST /api/products/{product_id}/purchase", "POST /purchase/*"),
        "user",
    ),
    "inventory": (("/api/inventory", "/api/inventory/*"), "user"),
    "batch": (("POST /api/batch/jobs", "POST /api/batch/jobs/upload"), "user"),
    "login": (("POST /api/auth/login", "POST /api/auth/token", "POST /login"), "ip_and_username"),
}


def _slug(text: str) -> str:
    return re.sub(r"[^a-z0-9]+", "-", text.lower()).strip("-") or "route"


# eq=False: rules are built once per app and used as cache keys per request; identity hashing
# is O(1) where a field-wise hash would walk every pattern and item each time.
@dataclass(frozen=True, slots=True, eq=False)
class RouteRule:
    """Limits of one route family; `name` names its counters, metrics label and header policy."""

    name: str
    patterns: tuple[PathPattern, ...]
    items: tuple[RateLimitItem, ...]
    key: RuleKey

    def matches(self, method: str, path: str) -> bool:
        """Whether the request is one of this rule's routes."""
        return any(p.matches(method, path) for p in self.patterns)


def username_identity(username: str) -> str:
    """A fixed-length counter identity for a login name (no raw names in Redis keys)."""
    normalized = username.strip().casefold().encode()
    return "un:" + hashlib.sha256(normalized).hexdigest()[:32]


def counter_key(scope: str, identity: str, window_s: int) -> str:
    """The counter's key: the identity's first part (`ip:…`, `u:…`, `un:…`) is a Redis Cluster
    hash tag, so every counter of one request lands in one slot (one script call)."""
    tag, _, rest = identity.partition("|")
    return f"{{{tag}}}:{scope}:{rest + ':' if rest else ''}{window_s}"


def block_client(checks: Sequence[LimitCheck]) -> str | None:
    """Whom a request's rejections count towards a block: the identity its counters share (a
    user `u:<id>`, or an address `ip:<address>`, also for a login carrying a token, which is
    counted by address). Being their hash tag, the block's keys share the counters' slot."""
    if not checks:
        return None
    return checks[0].key[1:].partition("}")[0]


def _check(scope: str, identity: str, item: RateLimitItem) -> LimitCheck:
    return LimitCheck(
        key=counter_key(scope, identity, item.window_s),
        item=item,
        policy=f"{scope}-{item.window_s}s",
    )


def checks_for(scope: str, identity: str, items: Sequence[RateLimitItem]) -> list[LimitCheck]:
    """The checks for `items` counted under `scope` for one identity (e.g. "ip:1.2.3.4")."""
    return [_check(scope, identity, item) for item in items]


def _sf_string(text: str) -> str:
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"') + '"'


class RateLimitPolicy:
    """Everything the middleware asks per request, answered from precompiled settings."""

    def __init__(
        self,
        *,
        anonymous: tuple[RateLimitItem, ...],
        authenticated: tuple[RateLimitItem, ...],
        admin: tuple[RateLimitItem, ...],
        rules: Sequence[RouteRule],
        exempt: tuple[PathPattern, ...],
        admin_paths: tuple[PathPattern, ...] = (),
        admin_allowlist: tuple[Network, ...] = (),
        login_address: tuple[RateLimitItem, ...] = (),
        login_username: tuple[RateLimitItem, ...] = (),
    ) -> None:
        self.anonymous = anonymous
        self.authenticated = authenticated
        self.admin = admin
        self.rules = tuple(rules)
        self.exempt = exempt
        self.admin_paths = admin_paths
        self.admin_allowlist = admin_allowlist
        self._policy_headers: dict[tuple[tuple[str, int], ...], str] = {}
        # Logins: the route rule's limits count per (address, username); these count per
        # address (every username), and per username only as a slowdown, never a rejection.
        self.login_address = login_address
        self.login_username = login_username

    @classmethod
    def from_settings(cls, settings: Settings) -> RateLimitPolicy:
        """Compile the policy from `RATE_LIMIT_*` and `ADMIN_*` settings."""
        rules: list[RouteRule] = []
        for name, (patterns, key) in BUILTIN_ROUTES.items():
            items = parse_limits(getattr(settings, f"rate_limit_{name}"))
            if items:
                rules.append(RouteRule(name, compile_patterns(patterns), items, key))
        for pattern_text, limits in settings.rate_limit_routes.items():
            pattern = compile_pattern(pattern_text)
            items = parse_limits(limits)
            if items:
                # Listed first: an explicit entry wins over a built-in family on the same path.
                rules.insert(0, RouteRule(_slug(pattern_text), (pattern,), items, "user"))
        return cls(
            anonymous=parse_limits(settings.rate_limit_default),
            authenticated=parse_limits(settings.rate_limit_authenticated),
            admin=parse_limits(settings.rate_limit_admin),
            rules=rules,
            exempt=compile_patterns(settings.rate_limit_exempt_paths),
            admin_paths=compile_patterns(settings.admin_paths),
            admin_allowlist=parse_networks(settings.admin_ip_allowlist),
            login_address=parse_limits(settings.rate_limit_login_address),
            login_username=parse_limits(settings.rate_limit_login_username),
        )

    def is_exempt(self, method: str, path: str) -> bool:
        """Health, metrics and docs are never limited."""
        return any(p.matches(method, path) for p in self.exempt)

    def admin_denied(self, method: str, path: str, client_ip: str) -> bool:
        """True when an allowlist is set, the path is an admin path and the IP is not on it."""
        if not self.admin_allowlist or not any(p.matches(method, path) for p in self.admin_paths):
            return False
        return not address_in(client_ip, self.admin_allowlist)

    def match_rule(self, method: str, path: str) -> RouteRule | None:
        """The configured route rule for this request, if any."""
        for rule in self.rules:
            if rule.matches(method, path):
                return rule
        return None

    def checks(
        self,
        *,
        client_ip: str,
        principal: Principal | None,
        rules: Sequence[RouteRule] = (),
        username: str | None = None,
        quota: tuple[RateLimitItem, ...] | None = None,
    ) -> list[LimitCheck]:
        """Every limit this request must pass: its routes' limits, then its caller's tier (or
        the caller's own `quota`, set by an admin, in its place).

        All of them count under one identity, the caller's account or, when there is none or
        a route counts by address (logins), its address: so the counters share one hash tag.
        A token sent to a login route is therefore counted as its address (the `global` tier).
        """
        ip_identity = f"ip:{client_ip}"
        by_address = principal is None or any(rule.key != "user" for rule in rules)
        user_identity = None if by_address or principal is None else f"u:{principal.user_id}"
        checks: list[LimitCheck] = []
        for rule in rules:
            if rule.key == "ip_and_username":
                # A rejection here hits only this address: guesses from elsewhere can never
                # lock the owner out (the username's own count only slows logins down).
                if username:
                    identity = f"{ip_identity}|{username_identity(username)}"
                    checks += checks_for(rule.name, identity, rule.items)
                checks += checks_for(f"{rule.name}-ip", ip_identity, self.login_address)
            elif rule.key == "user" and user_identity is not None:
                checks += checks_for(rule.name, user_identity, rule.items)
            else:
                checks += checks_for(rule.name, ip_identity, rule.items)
        if user_identity is None or principal is None:
            checks += checks_for("global", ip_identity, self.anonymous)
        else:
            # A quota counts under the tier's own keys: a window both share keeps its count
            # when an admin sets or lifts the quota.
            scope = "admin" if principal.is_admin else "user"
            tier = self.admin if principal.is_admin else self.authenticated
            items = tier if quota is None else quota
            checks += checks_for(scope, user_identity, items)
        if len({c.key for c in checks}) != len(checks):
            # Two rules sharing a name and window would count one request twice in one key.
            unique = {c.key: c for c in reversed(checks)}
            checks = [c for c in checks if unique.get(c.key) is c]
        return checks

    def slowdown_checks(self, rule: RouteRule, username: str) -> list[LimitCheck]:
        """The per-username counts of a login: past them an attempt waits, never fails."""
        identity = username_identity(username)
        return checks_for(f"{rule.name}-user", identity, self.login_username)

    def policy_header(self, checks: Sequence[LimitCheck]) -> str:
        """`RateLimit-Policy` for this set of checks (cached: the sets are few)."""
        # The amount belongs in the key: a per-user quota gives one policy name other amounts.
        key = tuple((c.policy, c.item.amount) for c in checks)
        header = self._policy_headers.get(key)
        if header is None:
            header = ", ".join(
                f"{_sf_string(c.policy)};q={c.item.amount};w={c.item.window_s}" for c in checks
            )
            if len(self._policy_headers) < 1024:
                self._policy_headers[key] = header
        return header
