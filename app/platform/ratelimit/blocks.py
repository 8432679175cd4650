"""Automatic blocks of abusive clients: the rule from settings and a block as the store reports it
(a leaf module, like `items`: the stores and the limiter share these types)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from typing import NamedTuple

# Repeat blocks double in length; past this many doublings the cap has long been reached.
MAX_LEVEL = 30


@dataclass(frozen=True, slots=True)
class BlockRule:
    """Block a client after `after` rejections within `window_s`, for `block_s` seconds, doubled
    for each repeat while the previous one is remembered, never longer than `max_block_s`."""

    after: int
    window_s: int
    block_s: int
    max_block_s: int

    def duration_ms(self, level: int) -> int:
        """The length of a client's `level`-th block in a row (1 = first)."""
        doubled: int = self.block_s << (min(max(level, 1), MAX_LEVEL) - 1)
        return min(doubled, max(self.max_block_s, self.block_s)) * 1000

    @property
    def memory_ms(self) -> int:
        """How long after a block ends a repeat offence still counts as one (then it is level 1)."""
        return max(self.max_block_s, self.block_s) * 1000

    def reason(self) -> str:
        """Why a client was blocked, as listed to admins."""
        return f"{self.after} rate-limit rejections within {self.window_s} s"


class BlockCheck(NamedTuple):
    """The block part of one store call: whose block to check, and the rule to place one."""

    client: str
    rule: BlockRule


class BlockRecord(NamedTuple):
    """An active block: `client` is `ip:<address>` or `u:<user id>`; `level` counts repeats."""

    client: str
    reason: str
    blocked_at: datetime
    expires_at: datetime
    level: int

    @classmethod
    def from_ms(
        cls, client: str, reason: str, blocked_at_ms: int, expires_at_ms: int, level: int
    ) -> BlockRecord:
        """A record from the stores' epoch milliseconds."""
        return cls(
            client=client,
            reason=reason,
            blocked_at=datetime.fromtimestamp(blocked_at_ms / 1000, UTC),
            expires_at=datetime.fromtimestamp(expires_at_ms / 1000, UTC),
            level=level,
        )
