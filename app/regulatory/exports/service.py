"""Charts and documents of stored plans: owner-checked lookups, bounded renders, a render cache.

Lookups go through the plan and session services, so another user's plan or session is 404
exactly as for `GET /api/plans/{id}`. Renders run in worker threads (at most
`RENDER_THREADS` at once per event loop) and are cached by what they depend on: the plan id,
its version and the format (plus the session's last write, for documents that show it).
"""

from __future__ import annotations

import asyncio
import json
import weakref
from collections import OrderedDict
from collections.abc import Callable, Hashable
from dataclasses import dataclass
from typing import Any, Literal

import anyio
import anyio.to_thread

from app.platform.errors import PayloadTooLargeError, ServiceUnavailableError
from app.platform.principal import Principal
from app.regulatory.exports.chart import (
    RISK_LABEL,
    TIER_LABEL,
    comparison_scene,
    plan_language,
    schedule,
    timeline_scene,
)
from app.regulatory.exports.documents import (
    MEDIA_TYPES,
    Document,
    Format,
    PlanVersion,
    build_document,
    render_html,
    render_markdown,
)
from app.regulatory.exports.svg import render_svg
from app.regulatory.repository import PlanRecord, SessionRecord
from app.regulatory.schemas.analysis import Plan
from app.regulatory.schemas.exports import ComparedPlan, ComparisonRow, PlanComparison
from app.regulatory.service import RegulatoryService

ChartFormat = Literal["svg", "png"]
RENDER_THREADS = 2  # renders are CPU-bound: more threads than cores only queue inside the GIL
MAX_PLAN_BYTES = 256 * 1024  # a generated plan is ~10 KiB; bigger uploads are not rendered
MAX_SESSION_PLANS = 12  # three rounds of four tiers per session document
CACHE_MAX_BYTES = 64 * 1024 * 1024
CACHE_MAX_ENTRY = 8 * 1024 * 1024


def _render_pdf(doc: Document) -> bytes:
    # reportlab, python-docx and Pillow load on the first export, not in every process start
    # (together ~0.1 s of CPU per worker and per test server).
    from app.regulatory.exports.pdf import render_pdf

    return render_pdf(doc)


def _render_docx(doc: Document) -> bytes:
    from app.regulatory.exports.word import render_docx

    return render_docx(doc)


_RENDERERS: dict[Format, Callable[[Document], bytes]] = {
    "md": render_markdown,
    "html": render_html,
    "pdf": _render_pdf,
    "docx": _render_docx,
}


@dataclass(frozen=True, slots=True)
class Rendered:
    """Bytes to send, their media type, a file name and whether the cache answered."""

    body: bytes
    media_type: str
    filename: str
    cached: bool


class RenderCache:
    """An LRU of rendered bytes bounded in total size (per process)."""

    def __init__(self, *, max_bytes: int, max_entry: int) -> None:
        self.max_bytes = max_bytes
        self.max_entry = max_entry
        self.size = 0
        self._items: OrderedDict[Hashable, bytes] = OrderedDict()

    def get(self, key: Hashable) -> bytes | None:
        """The cached bytes (and mark them recently used), or None."""
        value = self._items.get(key)
        if value is not None:
            self._items.move_to_end(key)
        return value

    def put(self, key: Hashable, value: bytes) -> None:
        """Keep `value` unless it alone is over the entry limit; evict the oldest to fit."""
        if len(value) > self.max_entry:
            return
        old = self._items.pop(key, None)
        if old is not None:
            self.size -= len(old)
        self._items[key] = value
        self.size += len(value)
        while self.size > self.max_bytes:
            _, evicted = self._items.popitem(last=False)
            self.size -= len(evicted)

    def clear(self) -> None:
        """Drop every entry."""
        self._items.clear()
        self.size = 0

    def __len__(self) -> int:
        return len(self._items)


CACHE = RenderCache(max_bytes=CACHE_MAX_BYTES, max_entry=CACHE_MAX_ENTRY)
_LIMITERS: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, anyio.CapacityLimiter] = (
    weakref.WeakKeyDictionary()
)


async def _in_thread(func: Callable[[], bytes]) -> bytes:
    """Run a render in a worker thread, at most RENDER_THREADS at once on this loop."""
    loop = asyncio.get_running_loop()
    limiter = _LIMITERS.get(loop)
    if limiter is None:
        limiter = _LIMITERS[loop] = anyio.CapacityLimiter(RENDER_THREADS)
    return await anyio.to_thread.run_sync(func, limiter=limiter)


async def _cached(key: Hashable, render: Callable[[], bytes]) -> tuple[bytes, bool]:
    body = CACHE.get(key)
    if body is not None:
        return body, True
    body = await _in_thread(render)
    CACHE.put(key, body)
    return body, False


def _check_size(record: PlanRecord) -> None:
    size = len(json.dumps(record.plan, ensure_ascii=False).encode())
    if size > MAX_PLAN_BYTES:
        raise PayloadTooLargeError(
            f"Plan '{record.id}' is {size} bytes; charts and documents are made for plans of "
            f"at most {MAX_PLAN_BYTES} bytes.",
            details={"size": size, "limit": MAX_PLAN_BYTES},
        )


def _plan(record: PlanRecord) -> Plan:
    return Plan.model_validate(
        {**record.plan, "id": record.id, "version": record.version, "sessionId": record.session_id}
    )


def _versions(records: list[PlanRecord], upto: int) -> list[PlanVersion]:
    return [
        PlanVersion(
            version=r.version,
            created_at=r.created_at,
            modifications=r.modifications,
            applied_changes=list(r.applied_changes),
        )
        for r in records
        if r.version <= upto
    ]


async def plan_timeline(
    *,
    service: RegulatoryService,
    plan_id: str,
    version: int | None,
    principal: Principal | None,
    fmt: ChartFormat,
) -> Rendered:
    """The plan's Gantt chart as SVG or PNG."""
    record = await service.plans.get_or_raise(plan_id=plan_id, principal=principal, version=version)
    _check_size(record)
    plan = _plan(record)

    def render() -> bytes:
        scene = timeline_scene(plan)
        if fmt == "svg":
            return render_svg(scene).encode()
        from app.regulatory.exports.png import NoFontError, render_png

        try:
            return render_png(scene)
        except NoFontError as exc:
            raise ServiceUnavailableError(str(exc)) from exc

    body, cached = await _cached(("timeline", record.id, record.version, fmt), render)
    name = f"{record.id}-v{record.version}-timeline.{fmt}"
    return Rendered(body, MEDIA_TYPES[fmt], name, cached)


def _row(key: str, label: dict[str, str], lang: str, values: list[Any]) -> ComparisonRow:
    return ComparisonRow(key=key, label=label[lang], values=values)


async def compare_plans(
    *, service: RegulatoryService, plan_ids: list[str], principal: Principal | None
) -> PlanComparison:
    """Two to four plans side by side, and their timelines on one time axis."""
    records = [
        await service.plans.get_or_raise(plan_id=plan_id, principal=principal)
        for plan_id in plan_ids
    ]
    for record in records:
        _check_size(record)
    plans = [_plan(r) for r in records]
    lang = plan_language(plans[0])
    key = ("compare", tuple((r.id, r.version) for r in records), "svg")
    svg, _ = await _cached(key, lambda: render_svg(comparison_scene(plans)).encode())
    weeks = [schedule(p).total for p in plans]
    rows = [
        _row(
            "tier",
            {"ko": "경로", "en": "Tier"},
            lang,
            [TIER_LABEL.get(p.tier, {}).get(lang, p.tier) for p in plans],
        ),
        _row(
            "totalDuration",
            {"ko": "전체 기간", "en": "Total duration"},
            lang,
            [p.total_duration for p in plans],
        ),
        _row("totalWeeks", {"ko": "주경로 기간(주)", "en": "Critical path (weeks)"}, lang, weeks),
        _row(
            "estimatedCost",
            {"ko": "예상 비용", "en": "Estimated cost"},
            lang,
            [p.estimated_cost for p in plans],
        ),
        _row(
            "riskLevel", {"ko": "위험도", "en": "Risk level"}, lang, [p.risk_level for p in plans]
        ),
        _row(
            "riskLabel",
            {"ko": "위험도 (표시)", "en": "Risk (label)"},
            lang,
            [RISK_LABEL.get(p.risk_level, {}).get(lang, p.risk_level) for p in plans],
        ),
        _row(
            "pathways", {"ko": "인허가 경로", "en": "Pathways"}, lang, [p.pathways for p in plans]
        ),
        _row(
            "phases",
            {"ko": "단계 수", "en": "Phases"},
            lang,
            [
                len(p.common_standards.timeline) + len(p.performance_evaluation.timeline)
                for p in plans
            ],
        ),
        _row(
            "standards",
            {"ko": "적용 규격", "en": "Standards"},
            lang,
            [p.common_standards.standards for p in plans],
        ),
        _row(
            "tests",
            {"ko": "성능평가 시험", "en": "Performance tests"},
            lang,
            [p.performance_evaluation.tests for p in plans],
        ),
        _row("pros", {"ko": "장점", "en": "Pros"}, lang, [p.pros for p in plans]),
        _row("cons", {"ko": "단점", "en": "Cons"}, lang, [p.cons for p in plans]),
    ]
    return PlanComparison(
        language=lang,
        plans=[
            ComparedPlan(
                id=r.id, version=r.version, tier=p.tier, title=p.title, language=plan_language(p)
            )
            for r, p in zip(records, plans, strict=True)
        ],
        rows=rows,
        timeline_svg=svg.decode(),
    )


async def _session_data(
    service: RegulatoryService, session_id: str | None, principal: Principal | None
) -> SessionRecord | None:
    if session_id is None:
        return None
    return await service.sessions.get(session_id=session_id, principal=principal)


async def export_plan(
    *,
    service: RegulatoryService,
    plan_id: str,
    version: int | None,
    principal: Principal | None,
    fmt: Format,
) -> Rendered:
    """The plan document (with its history up to this version) in one format."""
    record = await service.plans.get_or_raise(plan_id=plan_id, principal=principal, version=version)
    _check_size(record)
    history = await service.plans.history(plan_id=plan_id, principal=principal)
    session = await _session_data(service, record.session_id, principal)
    # The document shows the session's classification and purpose: a later write changes it.
    stamp = session.updated_at.isoformat() if session is not None else ""
    key = ("plan", record.id, record.version, fmt, stamp)
    plan = _plan(record)
    versions = _versions(history, record.version)
    data = dict(session.data) if session is not None else None

    def render() -> bytes:
        doc = build_document(
            plans=[(plan, versions)],
            session_data=data,
            subject=f"{record.id} · v{record.version}",
            session=False,
        )
        return _RENDERERS[fmt](doc)

    body, cached = await _cached(key, render)
    return Rendered(body, MEDIA_TYPES[fmt], f"{record.id}-v{record.version}.{fmt}", cached)


async def export_session(
    *, service: RegulatoryService, session_id: str, principal: Principal | None, fmt: Format
) -> Rendered:
    """A document of the session's plans (latest versions) and its records, in one format."""
    session = await service.sessions.get_or_raise(session_id=session_id, principal=principal)
    records = await service.plans.list(session_id=session_id, principal=principal)
    shown = records[:MAX_SESSION_PLANS]
    for record in shown:
        _check_size(record)
    histories = [await service.plans.history(plan_id=r.id, principal=principal) for r in shown]
    key = (
        "session",
        session.id,
        session.updated_at.isoformat(),
        tuple((r.id, r.version) for r in shown),
        len(records),
        fmt,
    )
    plans = [(_plan(r), _versions(h, r.version)) for r, h in zip(shown, histories, strict=True)]
    data = dict(session.data)

    def render() -> bytes:
        doc = build_document(
            plans=plans,
            session_data=data,
            subject=session.id,
            session=True,
            omitted_plans=len(records) - len(shown),
        )
        return _RENDERERS[fmt](doc)

    body, cached = await _cached(key, render)
    return Rendered(body, MEDIA_TYPES[fmt], f"{session.id}.{fmt}", cached)
