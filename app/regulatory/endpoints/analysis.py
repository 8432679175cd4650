"""Regulatory endpoints of the frontend contract: classify, purpose, standards, refine."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Query
from fastapi.responses import JSONResponse

from app.regulatory.cache import cache_status_header
from app.regulatory.dependencies import RegulatoryCaller, RegulatoryDep
from app.regulatory.schemas.analysis import (
    ClassifyRequest,
    ClassifyResponse,
    PurposeRequest,
    PurposeResponse,
    RefineRequest,
    RefineResponse,
    StandardsRequest,
    StandardsResponse,
)
from app.regulatory.service import Answer

router = APIRouter(prefix="/api", tags=["regulatory"])

_ERRORS: dict[int | str, dict[str, Any]] = {
    400: {"description": "Validation error (problem body)"},
    503: {"description": "AI_UNAVAILABLE: the model server could not be used"},
}


def answer_response(answer: Answer) -> JSONResponse:
    """The body plus provenance, with an RFC 9211 Cache-Status header."""
    return JSONResponse(
        answer.api_body(), headers={"Cache-Status": cache_status_header(answer.cache)}
    )


@router.post(
    "/classify",
    response_model=ClassifyResponse,
    summary="Classify a device concept",
    responses=_ERRORS,
)
async def classify(
    body: ClassifyRequest, service: RegulatoryDep, _caller: RegulatoryCaller
) -> JSONResponse:
    """Medical device or not, MFDS risk class, reasoning, confidence and suggested categories."""
    return answer_response(await service.classify(req=body))


@router.post(
    "/purpose",
    response_model=PurposeResponse,
    summary="Intended purpose",
    responses=_ERRORS,
)
async def purpose(
    body: PurposeRequest, service: RegulatoryDep, _caller: RegulatoryCaller
) -> JSONResponse:
    """Intended use, mechanism, population, benefit; answers from `category` when `concept` is
    only a confirmation such as "네"."""
    return answer_response(await service.purpose(req=body))


@router.post(
    "/standards",
    response_model=StandardsResponse,
    summary="Four regulatory plans",
    responses={**_ERRORS, 404: {"description": "SESSION_NOT_FOUND"}},
)
async def standards(
    body: StandardsRequest,
    service: RegulatoryDep,
    caller: RegulatoryCaller,
    session_id: Annotated[str | None, Query(min_length=1, max_length=200)] = None,
) -> JSONResponse:
    """Plans for the fastest, normal, conservative and innovative tiers, each stored under a new
    id (version 1) so that `/api/refine` can find it; `session_id` (query) or `sessionId`
    (body) links them to a session."""
    answer = await service.standards(req=body, principal=caller, session_id=session_id)
    return answer_response(answer)


@router.post(
    "/refine",
    response_model=RefineResponse,
    summary="Refine a stored plan",
    responses={**_ERRORS, 404: {"description": "PLAN_NOT_FOUND"}},
)
async def refine(
    body: RefineRequest, service: RegulatoryDep, caller: RegulatoryCaller
) -> JSONResponse:
    """Load the plan by `planId` (never from `context`), apply `modifications`, store it as the
    next version; the answer has the same id and `version` + 1."""
    return answer_response(await service.refine(req=body, principal=caller))
