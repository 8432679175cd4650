"""Charts and documents of stored plans: timeline SVG/PNG, comparison, plan and session exports."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from fastapi import APIRouter, Path, Query
from fastapi.responses import Response

from app.regulatory.dependencies import RegulatoryCaller, RegulatoryDep
from app.regulatory.exports import service as exports
from app.regulatory.exports.documents import MEDIA_TYPES, Format
from app.regulatory.schemas.exports import PlanCompareRequest, PlanComparison

router = APIRouter(tags=["plans"])

PlanId = Annotated[str, Path(min_length=1, max_length=200)]
SessionId = Annotated[str, Path(min_length=1, max_length=200)]
Version = Annotated[int | None, Query(ge=1, le=1_000_000)]
FormatQuery = Annotated[
    Format,
    Query(
        description="Document format: `md`, `html`, `pdf` or `docx` (anything else is 400).",
        examples=["pdf"],
    ),
]
# Exported HTML and SVG carry their own styles; nothing in them may load or run anything.
EXPORT_CSP = (
    "default-src 'none'; style-src 'unsafe-inline'; frame-ancestors 'none'; base-uri 'none'"
)


def _content(media_type: str, example: str) -> dict[str, Any]:
    return {media_type.split(";")[0]: {"schema": {"type": "string"}, "example": example}}


_PLAN_ERRORS: dict[int | str, dict[str, Any]] = {
    404: {"description": "PLAN_NOT_FOUND / PLAN_VERSION_NOT_FOUND"},
    413: {"description": "PAYLOAD_TOO_LARGE: the stored plan is too big to render"},
}
_SVG = _content(MEDIA_TYPES["svg"], '<svg xmlns="http://www.w3.org/2000/svg" …>…</svg>')
_DOCUMENTS: dict[str, Any] = {
    **_content(MEDIA_TYPES["md"], "# 인허가 계획서: 표준 경로 …"),
    **_content(MEDIA_TYPES["html"], '<!DOCTYPE html><html lang="ko">…'),
    **_content(MEDIA_TYPES["pdf"], "%PDF-1.4 …"),
    **_content(MEDIA_TYPES["docx"], "PK… (Office Open XML)"),
}


def _respond(rendered: exports.Rendered) -> Response:
    """The bytes with their type, a file name, the cache outcome and a no-script CSP."""
    kind = rendered.media_type.split(";")[0]
    disposition = "inline" if kind in ("image/svg+xml", "image/png", "text/html") else "attachment"
    headers = {
        "Content-Disposition": f'{disposition}; filename="{rendered.filename}"',
        "Cache-Status": "raidesk; hit" if rendered.cached else "raidesk; fwd=miss; stored",
        "Content-Security-Policy": EXPORT_CSP,
    }
    return Response(rendered.body, media_type=rendered.media_type, headers=headers)


@router.get(
    "/api/plans/{plan_id}/timeline.svg",
    summary="Plan timeline (SVG)",
    response_class=Response,
    responses={200: {"content": _SVG}, **_PLAN_ERRORS},
)
async def timeline_svg(
    plan_id: PlanId, service: RegulatoryDep, caller: RegulatoryCaller, version: Version = None
) -> Response:
    """The plan's phases as a Gantt chart with critical path, dependencies and milestones."""
    rendered = await exports.plan_timeline(
        service=service, plan_id=plan_id, version=version, principal=caller, fmt="svg"
    )
    return _respond(rendered)


@router.get(
    "/api/plans/{plan_id}/timeline.png",
    summary="Plan timeline (PNG)",
    response_class=Response,
    responses={
        200: {"content": {"image/png": {"schema": {"type": "string", "format": "binary"}}}},
        **_PLAN_ERRORS,
        503: {"description": "SERVICE_UNAVAILABLE: no Korean-capable font is installed"},
    },
)
async def timeline_png(
    plan_id: PlanId, service: RegulatoryDep, caller: RegulatoryCaller, version: Version = None
) -> Response:
    """The same chart as a PNG at twice the SVG's pixel size."""
    rendered = await exports.plan_timeline(
        service=service, plan_id=plan_id, version=version, principal=caller, fmt="png"
    )
    return _respond(rendered)


@router.post(
    "/api/plans/compare",
    summary="Compare plans",
    response_model=PlanComparison,
    responses={200: {"content": _SVG}, **_PLAN_ERRORS},
)
async def compare(
    body: PlanCompareRequest,
    service: RegulatoryDep,
    caller: RegulatoryCaller,
    format: Annotated[
        Literal["json", "svg"],
        Query(description="`json` (table plus `timelineSvg`) or `svg` (the chart alone)."),
    ] = "json",
) -> PlanComparison | Response:
    """2–4 plans side by side (duration, cost, risk, standards, tests, pros/cons) on one axis."""
    comparison = await exports.compare_plans(
        service=service, plan_ids=body.plan_ids, principal=caller
    )
    if format == "svg":
        return Response(
            comparison.timeline_svg,
            media_type=MEDIA_TYPES["svg"],
            headers={"Content-Security-Policy": EXPORT_CSP},
        )
    return comparison


@router.get(
    "/api/plans/{plan_id}/export",
    summary="Export a plan document",
    response_class=Response,
    responses={
        200: {"content": _DOCUMENTS},
        400: {"description": "VALIDATION_ERROR: bad format"},
        **_PLAN_ERRORS,
    },
)
async def export_plan(
    plan_id: PlanId,
    service: RegulatoryDep,
    caller: RegulatoryCaller,
    format: FormatQuery,
    version: Version = None,
) -> Response:
    """A complete plan document: device, classification, purpose, plan, history, references."""
    rendered = await exports.export_plan(
        service=service, plan_id=plan_id, version=version, principal=caller, fmt=format
    )
    return _respond(rendered)


@router.get(
    "/api/sessions/{session_id}/export",
    summary="Export a session document",
    response_class=Response,
    responses={
        200: {"content": _DOCUMENTS},
        400: {"description": "VALIDATION_ERROR: bad format"},
        404: {"description": "SESSION_NOT_FOUND (unknown, expired or another user's)"},
        413: {"description": "PAYLOAD_TOO_LARGE: a plan of the session is too big to render"},
    },
)
async def export_session(
    session_id: SessionId, service: RegulatoryDep, caller: RegulatoryCaller, format: FormatQuery
) -> Response:
    """One document of the session's plans (latest versions) with its recorded classification."""
    rendered = await exports.export_session(
        service=service, session_id=session_id, principal=caller, fmt=format
    )
    return _respond(rendered)
