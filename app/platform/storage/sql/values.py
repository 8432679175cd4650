"""How Python values go into and come out of SQL columns, the same way in every table."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any


def aware(value: datetime) -> datetime:
    """A stored time as UTC: SQLite hands back naive datetimes, and every stored time is UTC."""
    return value if value.tzinfo is not None else value.replace(tzinfo=UTC)


def maybe_aware(value: datetime | None) -> datetime | None:
    """`aware` for a nullable column."""
    return None if value is None else aware(value)


def utc(value: datetime) -> datetime:
    """A time to store, in UTC: SQLite keeps the wall-clock time and drops the offset, so a
    non-UTC time would be read back wrong and compare wrongly against other stored times."""
    return value.astimezone(UTC)


def dumps(value: Any) -> str:
    """JSON text for a column: compact, and non-ASCII text kept as it is."""
    return json.dumps(value, ensure_ascii=False, separators=(",", ":"))
