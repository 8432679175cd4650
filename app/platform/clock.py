"""The wall clock: aware UTC times, and text for hot paths (the access log and problem bodies
stamp every line and answer)."""

from __future__ import annotations

import time
from datetime import UTC, datetime

_last: tuple[int, str] = (-1, "")


def utc_second_text(second: int) -> str:
    """`second` (Unix time) as `2026-11-22T05:03:17` in UTC; formatted once per second."""
    global _last
    if _last[0] != second:
        _last = (second, time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(second)))
    return _last[1]


def utc_now() -> datetime:
    """The current time in UTC."""
    return datetime.now(UTC)
