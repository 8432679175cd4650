"""Garbage-collector tuning for a serving process (`python -m app serve` only, never tests)."""

from __future__ import annotations

import gc
from collections.abc import Iterator
from contextlib import contextmanager

# gen0 allocations, gen0 passes per gen1 pass, gen1 passes per full pass (CPython: 700, 10, 10).
GC_THRESHOLDS = (50_000, 20, 100)


@contextmanager
def tuned_gc() -> Iterator[None]:
    """Freeze what startup built and space young collections apart; restored on exit."""
    previous = gc.get_threshold()
    # Everything built so far (modules, routes, models, clients) lives as long as the process:
    # moved out of the collector's generations, the full collections that request garbage
    # triggers no longer walk it again and again (docs/decisions/0004-one-edge-layer.md).
    gc.collect()
    gc.freeze()
    # Young collections far apart: every one of them promotes the requests in flight at that
    # moment, and each 25 % growth of the old generation (the auth, token and rate-limit caches
    # fill as callers arrive) then costs a full collection that walks all of it, which measured
    # 15-25 ms per pass, nothing freed, during a flash sale. The garbage a request leaves is
    # almost all freed by reference counting; cycles are still collected, just in larger steps.
    gc.set_threshold(*GC_THRESHOLDS)
    try:
        yield
    finally:
        gc.set_threshold(*previous)
        gc.unfreeze()
