"""Server-Sent Events responses: `data: {json}` events with keep-alives, ending `data: [DONE]`;
a client that disconnects cancels the producer at once."""

from __future__ import annotations

import asyncio
import contextlib
import json
from collections.abc import AsyncIterator
from typing import Any

from starlette.responses import StreamingResponse
from starlette.types import Receive, Scope, Send

from app.platform.errors import AppError, error_event
from app.platform.logging import get_logger

_log = get_logger("app.stream")

KEEPALIVE = b": keep-alive\n\n"
DONE = b"data: [DONE]\n\n"


def sse_frame(event: dict[str, Any]) -> bytes:
    """One SSE event: a single `data:` line (JSON never contains a raw newline) + blank line."""
    return (
        b"data: " + json.dumps(event, ensure_ascii=False, separators=(",", ":")).encode() + b"\n\n"
    )


class EventStreamResponse(StreamingResponse):
    """Streams events with keep-alives; a disconnect cancels the producer at once (it does not
    wait for the next write to fail)."""

    media_type = "text/event-stream"

    def __init__(self, events: AsyncIterator[dict[str, Any]], *, keepalive_s: float) -> None:
        self.events = events
        self.keepalive_s = keepalive_s
        super().__init__(
            self._frames(),
            media_type=self.media_type,
            headers={"Cache-Control": "no-cache", "X-Accel-Buffering": "no"},
        )

    async def _frames(self) -> AsyncIterator[bytes]:
        """The body: one frame per event, a keep-alive comment when none came in time, [DONE]."""
        events = self.events
        pending: asyncio.Future[dict[str, Any]] | None = None
        try:
            while True:
                if pending is None:
                    pending = asyncio.ensure_future(anext(events))
                done, _ = await asyncio.wait({pending}, timeout=self.keepalive_s)
                if not done:
                    yield KEEPALIVE
                    continue
                try:
                    event = pending.result()
                except StopAsyncIteration:
                    break
                except Exception:
                    _log.exception("stream_event_failed")
                    yield sse_frame(error_event(AppError("The stream failed.")))
                    break
                finally:
                    pending = None
                yield sse_frame(event)
            yield DONE
        finally:
            if pending is not None and not pending.done():
                pending.cancel()
                with contextlib.suppress(asyncio.CancelledError, Exception):
                    await pending
            with contextlib.suppress(Exception):
                await events.aclose()  # type: ignore[attr-defined]

    async def _produce(self, send: Send) -> None:
        frames = self.body_iterator
        try:
            async for chunk in frames:
                body = chunk.encode(self.charset) if isinstance(chunk, str) else bytes(chunk)
                await send({"type": "http.response.body", "body": body, "more_body": True})
            await send({"type": "http.response.body", "body": b"", "more_body": False})
        finally:
            with contextlib.suppress(Exception):
                await frames.aclose()  # type: ignore[attr-defined]

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        await send(
            {"type": "http.response.start", "status": self.status_code, "headers": self.raw_headers}
        )

        async def watch_disconnect() -> None:
            while (await receive())["type"] != "http.disconnect":
                pass

        producer = asyncio.create_task(self._produce(send))
        watcher = asyncio.create_task(watch_disconnect())
        try:
            done, _ = await asyncio.wait({producer, watcher}, return_when=asyncio.FIRST_COMPLETED)
        finally:
            for task in (producer, watcher):
                if not task.done():
                    task.cancel()
            for task in (producer, watcher):
                with contextlib.suppress(asyncio.CancelledError, OSError, Exception):
                    await task
        # Gone either way: the disconnect message came first, or a write to the closed socket
        # failed (servers on ASGI spec 2.4 raise OSError from send instead).
        gone = (
            producer.done()
            and not producer.cancelled()
            and isinstance(producer.exception(), OSError)
        )
        if watcher in done or gone:
            _log.info("stream_client_disconnected", path=scope.get("path"))
