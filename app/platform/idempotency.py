"""The `Idempotency-Key` request header: which values the API accepts (docs/errors.md)."""

from __future__ import annotations

import re

from app.platform.errors import InvalidIdempotencyKeyError

_KEY = re.compile(r"[\x21-\x7e]{1,255}")


def check_key(key: str | None) -> str | None:
    """The key as sent, or None when absent; 400 for an empty, long or non-ASCII key."""
    if key is None:
        return None
    if not _KEY.fullmatch(key):
        raise InvalidIdempotencyKeyError(
            "Idempotency-Key must be 1 to 255 printable ASCII characters without spaces."
        )
    return key
