"""Server-Sent Events versions of the regulatory endpoints.

Each event is one `data:` line holding a JSON object (`type`: status | token | result | plan |
done | error), followed by a blank line; the stream ends with `data: [DONE]`. While waiting,
`: keep-alive` comments go out every SSE_KEEPALIVE_S. A client that disconnects cancels the
work, which closes the request to the model server.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
from collections.abc import AsyncIterator
from typing import Annotated, Any

from fastapi import APIRouter, Query
from starlette.responses import StreamingResponse
from starlette.types import Receive, Scope, Send

from app.deps import SettingsDep
from app.platform.errors import AppError
from app.platform.logging import get_logger
from app.regulatory.ai.base import TokenSink
from app.regulatory.endpoints.analysis import RegulatoryCaller, RegulatoryDep
from app.regulatory.schemas.analysis import (
    ClassifyRequest,
    PurposeRequest,
    RefineRequest,
    StandardsRequest,
)
from app.regulatory.service import error_event

router = APIRouter(tags=["stream"])
_log = get_logger("app.stream")

KEEPALIVE = b": keep-alive\n\n"
DONE = b"data: [DONE]\n\n"
_SSE_DOC: dict[int | str, dict[str, Any]] = {
    200: {
        "description": "text/event-stream of `data: {json}` events, then `data: [DONE]`",
        "content": {"text/event-stream": {}},
    },
    400: {"description": "Validation error (problem body, before the stream starts)"},
}


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


def _stream(
    service: RegulatoryDep, settings: SettingsDep, endpoint: str, run: Any
) -> EventStreamResponse:
    return EventStreamResponse(service.stream(endpoint, run), keepalive_s=settings.sse_keepalive_s)  # type: ignore[arg-type]


@router.post("/api/stream/classify", summary="Classify (SSE)", responses=_SSE_DOC)
# The frontend's older path: the very same endpoint, not a copy of it.
@router.post("/api/classify/stream", summary="Classify (SSE, alias)", responses=_SSE_DOC)
async def stream_classify(
    body: ClassifyRequest, service: RegulatoryDep, settings: SettingsDep, _caller: RegulatoryCaller
) -> EventStreamResponse:
    """status → token* → result → done, then [DONE]."""

    async def run(sink: TokenSink) -> Any:
        return await service.classify(req=body, on_token=sink)

    return _stream(service, settings, "classify", run)


@router.post("/api/stream/purpose", summary="Intended purpose (SSE)", responses=_SSE_DOC)
async def stream_purpose(
    body: PurposeRequest, service: RegulatoryDep, settings: SettingsDep, _caller: RegulatoryCaller
) -> EventStreamResponse:
    """status → token* → result → done, then [DONE]."""

    async def run(sink: TokenSink) -> Any:
        return await service.purpose(req=body, on_token=sink)

    return _stream(service, settings, "purpose", run)


@router.post("/api/stream/standards", summary="Four plans (SSE)", responses=_SSE_DOC)
async def stream_standards(
    body: StandardsRequest,
    service: RegulatoryDep,
    settings: SettingsDep,
    caller: RegulatoryCaller,
    session_id: Annotated[str | None, Query(min_length=1, max_length=200)] = None,
) -> EventStreamResponse:
    """status → token* → plan × 4 (each already stored) → done, then [DONE]."""

    async def run(sink: TokenSink) -> Any:
        return await service.standards(
            req=body, principal=caller, session_id=session_id, on_token=sink
        )

    return _stream(service, settings, "standards", run)


@router.post("/api/stream/refine", summary="Refine a plan (SSE)", responses=_SSE_DOC)
async def stream_refine(
    body: RefineRequest, service: RegulatoryDep, settings: SettingsDep, caller: RegulatoryCaller
) -> EventStreamResponse:
    """status → token* → result {plan, appliedChanges} → done, then [DONE]."""

    async def run(sink: TokenSink) -> Any:
        return await service.refine(req=body, principal=caller, on_token=sink)

    return _stream(service, settings, "refine", run)
