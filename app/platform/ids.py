"""Random ids for hot paths: request ids and purchase ids, drawn from the OS's CSPRNG in batches."""

from __future__ import annotations

import os


class RandomHex:
    """Unguessable hex ids of `size` bytes, drawn `batch` at a time: one getrandom() call and one
    hex conversion per batch instead of one each per id; taking an id is a list pop. A forked
    child starts a fresh draw (never its parent's)."""

    def __init__(self, *, size: int, batch: int = 512) -> None:
        self.size = size
        self.batch = batch
        self._ready: list[str] = []
        os.register_at_fork(after_in_child=self._reset)

    def _reset(self) -> None:
        self._ready = []

    def _refill(self) -> None:
        digits = os.urandom(self.size * self.batch).hex()
        width = 2 * self.size
        self._ready = [digits[i : i + width] for i in range(0, len(digits), width)]

    def take(self) -> str:
        """The next id: `2 * size` lowercase hex digits."""
        try:
            return self._ready.pop()
        except IndexError:
            self._refill()
            return self._ready.pop()

    __call__ = take
