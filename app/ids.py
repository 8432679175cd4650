"""Random ids for hot paths: request ids and purchase ids, drawn from the OS's CSPRNG in batches."""

from __future__ import annotations

import os


class RandomHex:
    """Unguessable hex ids of `size` bytes, drawn `batch` at a time: one getrandom() call per
    batch instead of one per id. A forked child starts a fresh draw (never its parent's)."""

    def __init__(self, *, size: int, batch: int = 512) -> None:
        self.size = size
        self.batch = batch
        self._pool = b""
        self._next = 0
        os.register_at_fork(after_in_child=self._reset)

    def _reset(self) -> None:
        self._pool, self._next = b"", 0

    def __call__(self) -> str:
        """The next id: `2 * size` lowercase hex digits."""
        start = self._next
        if start + self.size > len(self._pool):
            self._pool, start = os.urandom(self.size * self.batch), 0
        self._next = start + self.size
        return self._pool[start : start + self.size].hex()
