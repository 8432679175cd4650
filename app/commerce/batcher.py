"""Group commit: concurrent purchases share one SQL transaction, each waits for its own result.

A single writer task drains a queue. While one transaction commits, new rows pile up and go
into the next one together, so under load the commit cost is shared by a whole batch and at
low load a row is written at once (no fixed delay unless a window is configured). If a batch
fails, its rows are retried one by one, so a bad row fails alone and the others still commit.
"""

from __future__ import annotations

import asyncio
import contextlib
import contextvars
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from typing import Generic, TypeVar

from app.commerce.metrics import BATCH_SIZE
from app.platform.logging import get_logger
from app.platform.metrics import METRICS_BUFFER

T = TypeVar("T")
R = TypeVar("R")

_log = get_logger("app.commerce.batcher")


class BatchDeadlineExceeded(Exception):
    """The row's deadline passed before a transaction could take it; it was not written."""


class BatcherClosed(Exception):
    """The batcher is shutting down and accepts no more rows."""


@dataclass
class _Item(Generic[T, R]):
    value: T
    future: asyncio.Future[R]
    deadline: float | None = None


@dataclass
class GroupCommitter(Generic[T, R]):
    """Feed `write_many` batches of at most `max_batch` items (one transaction per call)."""

    write_many: Callable[[Sequence[T]], Awaitable[Sequence[R]]]
    max_batch: int = 128
    window_s: float = 0.0
    name: str = "purchases"
    # None in the queue tells the writer to stop after writing what came before it.
    _queue: asyncio.Queue[_Item[T, R] | None] | None = field(default=None, init=False)
    _worker: asyncio.Task[None] | None = field(default=None, init=False)
    _closed: bool = field(default=False, init=False)

    def _ensure_worker(self) -> asyncio.Queue[_Item[T, R] | None]:
        if self._queue is None:
            self._queue = asyncio.Queue()
        if self._worker is None or self._worker.done():
            # A fresh context: the writer serves many requests, so it must not keep the request id
            # (log lines) or the trace (spans) of the one that happened to start it.
            self._worker = asyncio.get_running_loop().create_task(
                self._run(), context=contextvars.Context()
            )
        return self._queue

    async def submit(self, value: T, *, deadline: float | None = None) -> R:
        """Queue one item and wait until its transaction committed (or failed)."""
        if self._closed:
            raise BatcherClosed("the service is shutting down")
        queue = self._ensure_worker()
        future: asyncio.Future[R] = asyncio.get_running_loop().create_future()
        queue.put_nowait(_Item(value, future, deadline))
        return await future

    async def _run(self) -> None:
        assert self._queue is not None
        queue = self._queue
        loop = asyncio.get_running_loop()
        while True:
            first = await queue.get()
            if first is None:
                return
            batch = [first]
            stop = self._drain_into(batch)
            if not stop and self.window_s > 0 and len(batch) < self.max_batch:
                until = loop.time() + self.window_s
                while not stop and len(batch) < self.max_batch:
                    remaining = until - loop.time()
                    if remaining <= 0:
                        break
                    try:
                        item = await asyncio.wait_for(queue.get(), remaining)
                    except TimeoutError:
                        break
                    if item is None:
                        stop = True
                        break
                    batch.append(item)
                    stop = self._drain_into(batch)
            await self._write(batch)
            if stop:
                return

    def _drain_into(self, batch: list[_Item[T, R]]) -> bool:
        """Move queued items into `batch`; True when the stop marker was reached."""
        assert self._queue is not None
        while len(batch) < self.max_batch:
            try:
                item = self._queue.get_nowait()
            except asyncio.QueueEmpty:
                return False
            if item is None:
                return True
            batch.append(item)
        return False

    async def _write(self, batch: list[_Item[T, R]]) -> None:
        now = asyncio.get_running_loop().time()
        live: list[_Item[T, R]] = []
        for item in batch:
            if item.future.done():
                continue
            if item.deadline is not None and now >= item.deadline:
                item.future.set_exception(BatchDeadlineExceeded())
                continue
            live.append(item)
        if not live:
            return
        METRICS_BUFFER.observe(BATCH_SIZE, (self.name,), len(live))
        try:
            results = await self.write_many([i.value for i in live])
        except Exception as exc:
            if len(live) == 1:
                _set_exception(live[0], exc)
                return
            _log.warning("batch_failed_retrying_singly", batch=self.name, size=len(live))
            for item in live:
                try:
                    (result,) = await self.write_many([item.value])
                except Exception as single_exc:
                    _set_exception(item, single_exc)
                else:
                    _set_result(item, result)
            return
        for item, result in zip(live, results, strict=True):
            _set_result(item, result)

    async def aclose(self, *, timeout_s: float = 10.0) -> None:
        """Write what is queued, then stop the writer (cancelled after `timeout_s`)."""
        self._closed = True
        if self._queue is None or self._worker is None or self._worker.done():
            return
        self._queue.put_nowait(None)
        try:
            await asyncio.wait_for(asyncio.shield(self._worker), timeout_s)
        except (TimeoutError, Exception):
            self._worker.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await self._worker
        while not self._queue.empty():
            item = self._queue.get_nowait()
            if item is not None and not item.future.done():
                item.future.set_exception(BatcherClosed("the service is shutting down"))


def _set_result(item: _Item[T, R], result: R) -> None:
    if not item.future.done():
        item.future.set_result(result)


def _set_exception(item: _Item[T, R], exc: BaseException) -> None:
    if not item.future.done():
        item.future.set_exception(exc)
