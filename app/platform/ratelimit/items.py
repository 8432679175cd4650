"""Limit values ("10/minute"), the checks a request makes, and the store's answer per check.

A leaf module (no FastAPI, no storage imports) so that storage adapters, the service and the
middleware can all share these types.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import NamedTuple

_UNITS: dict[str, int] = {
    "s": 1,
    "sec": 1,
    "second": 1,
    "m": 60,
    "min": 60,
    "minute": 60,
    "h": 3600,
    "hr": 3600,
    "hour": 3600,
    "d": 86_400,
    "day": 86_400,
}
# "10/minute", "10 per minute", "100/2 hours", "5 / 30 s"
_LIMIT_RE = re.compile(
    r"^\s*(?P<amount>\d+)\s*(?:/|\s+per\s+)\s*(?P<count>\d+)?\s*(?P<unit>[a-z]+?)s?\s*$",
    re.IGNORECASE,
)
_LONGEST_WINDOW_S = 31 * 86_400


@dataclass(frozen=True, slots=True)
class RateLimitItem:
    """`amount` requests per sliding window of `window_s` seconds."""

    amount: int
    window_s: int

    @property
    def window_ms(self) -> int:
        """The window in milliseconds (the unit the stores count in)."""
        return self.window_s * 1000

    def __str__(self) -> str:
        return f"{self.amount}/{self.window_s}s"


def parse_limit(text: str) -> RateLimitItem:
    """Parse one limit such as "10/minute", "10 per minute" or "100/2 hours"."""
    match = _LIMIT_RE.match(text)
    if match is None:
        raise ValueError(f"{text!r} is not a rate limit like '10/minute'")
    unit = match["unit"].lower()
    if unit not in _UNITS:
        raise ValueError(f"{text!r}: unknown unit {unit!r} (use second, minute, hour or day)")
    amount = int(match["amount"])
    window_s = int(match["count"] or 1) * _UNITS[unit]
    if amount < 1:
        raise ValueError(f"{text!r}: the amount must be at least 1")
    if not 1 <= window_s <= _LONGEST_WINDOW_S:
        raise ValueError(f"{text!r}: the window must be between 1 second and 31 days")
    return RateLimitItem(amount=amount, window_s=window_s)


def parse_limits(text: str | Sequence[str]) -> tuple[RateLimitItem, ...]:
    """Parse "10/minute;100/hour" (`;` or `,` separated, or a list); empty means no limit."""
    parts = text if not isinstance(text, str) else re.split(r"[;,]", text)
    items = tuple(parse_limit(part) for part in parts if part.strip())
    windows = [item.window_s for item in items]
    if len(set(windows)) != len(windows):
        raise ValueError(f"{text!r}: two limits share one window")
    return items


@dataclass(frozen=True, slots=True)
class LimitCheck:
    """One limit to check for a request: the counter key, the limit, and the policy's name."""

    key: str
    item: RateLimitItem
    policy: str


class WindowResult(NamedTuple):
    """A store's answer for one check, after the request was (or was not) counted."""

    # NamedTuples (here and below): every request builds them, at a third of a dataclass's cost.

    allowed: bool
    remaining: int
    # Milliseconds until one more request of the same cost would pass (0 = it would now).
    retry_ms: int
    # Milliseconds until the current fixed bucket of the window rolls over.
    rollover_ms: int

    @property
    def reset_s(self) -> int:
        """Seconds for `X-RateLimit-Reset` / `t=`: when quota is back if none is left, else rollover."""
        ms = self.retry_ms if self.remaining <= 0 else self.rollover_ms
        return max(0, -(-ms // 1000))


# StoreDecision.block_state: no block involved / refused because the client is blocked (nothing
# counted, no results) / this request's rejection placed a block.
NOT_BLOCKED, ALREADY_BLOCKED, NEWLY_BLOCKED = 0, 1, 2


class StoreDecision(NamedTuple):
    """All checks of one request: allowed only if every one passed; then all were counted."""

    allowed: bool
    results: tuple[WindowResult, ...]
    # With a block check (docs/rate-limits.md "Blocks"): NOT_BLOCKED, ALREADY_BLOCKED or
    # NEWLY_BLOCKED, the block's milliseconds left, and its level (repeat count).
    block_state: int = NOT_BLOCKED
    block_ms: int = 0
    block_level: int = 0
