"""Request ids: an incoming `X-Request-ID` is kept only when it is sane, else a new one is made."""

from __future__ import annotations

import re

from app.platform.ids import RandomHex
from app.platform.logging import mask_text

# Printable, short, no spaces: anything else could forge log lines or blow up headers.
_SANE_ID = re.compile(rb"^[A-Za-z0-9._:\-]{1,128}$")


# 128 random bits as 32 hex digits: the shape of a UUID's hex, a third of its cost, no syscall each.
new_request_id = RandomHex(size=16)


def sane_request_id(value: bytes) -> str | None:
    """The incoming id as text when it is safe to log and echo, else None.

    Safe means short printable characters with no quotes, and nothing the log masking would
    hide (a client pasting its token as an id): then the access log can write it as is."""
    if not _SANE_ID.match(value):
        return None
    text = value.decode("ascii")
    return text if mask_text(text) == text else None
