"""Run a flush later on the running event loop, or at once when there is none."""

from __future__ import annotations

import asyncio
from collections.abc import Callable


def flush_later(delay_s: float, flush: Callable[[], None]) -> bool:
    """Schedule `flush` in `delay_s`; without a running loop call it now. True if scheduled."""
    try:
        loop = asyncio.get_running_loop()
    except RuntimeError:
        flush()
        return False
    loop.call_later(delay_s, flush)
    return True
