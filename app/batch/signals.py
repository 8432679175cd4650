"""In-process wake-ups for progress streams: a job's stream wakes as soon as this process records
something for the job, instead of at its next look at the database."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Iterator


class JobSignals:
    """The progress streams of each job in this process, each with its own flag."""

    def __init__(self) -> None:
        self._subscribers: dict[str, set[asyncio.Event]] = {}

    def notify(self, job_id: str) -> None:
        """Something about the job changed here: raise the flag of every stream following it."""
        for flag in self._subscribers.get(job_id, ()):
            flag.set()

    @contextlib.contextmanager
    def subscribe(self, job_id: str) -> Iterator[asyncio.Event]:
        """A flag raised at every `notify` of the job while the block runs. Clear it before
        reading the job, then wait on it: a change made in between is not missed."""
        flag = asyncio.Event()
        self._subscribers.setdefault(job_id, set()).add(flag)
        try:
            yield flag
        finally:
            flags = self._subscribers.get(job_id)
            if flags is not None:
                flags.discard(flag)
                if not flags:
                    del self._subscribers[job_id]
