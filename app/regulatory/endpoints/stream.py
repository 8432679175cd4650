"""Server-Sent Events versions of the regulatory endpoints.

Each event is one `data:` line holding a JSON object (`type`: status | token | result | plan |
done | error), followed by a blank line; the stream ends with `data: [DONE]`. While waiting,
`: keep-alive` comments go out every SSE_KEEPALIVE_S. A client that disconnects cancels the
work, which closes the request to the model server.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Query

from app.platform.dependencies import SettingsDep
from app.platform.sse import EventStreamResponse
from app.regulatory.ai.base import TokenSink
from app.regulatory.dependencies import RegulatoryCaller, RegulatoryDep
from app.regulatory.schemas.analysis import (
    ClassifyRequest,
    PurposeRequest,
    RefineRequest,
    StandardsRequest,
)

router = APIRouter(tags=["stream"])

_SSE_DOC: dict[int | str, dict[str, Any]] = {
    200: {
        "description": "text/event-stream of `data: {json}` events, then `data: [DONE]`",
        "content": {"text/event-stream": {}},
    },
    400: {"description": "Validation error (problem body, before the stream starts)"},
}


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
