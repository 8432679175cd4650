"""Regulatory plan documents: one context, rendered as Markdown, HTML, PDF or DOCX.

Markdown and HTML come from Jinja2 templates (`templates/`); PDF is laid out with reportlab
(the timeline drawn as vector shapes, text in an embedded Korean-capable font) and DOCX with
python-docx (the timeline as a PNG picture). Everything a document says comes from the stored
plan versions and, when present, the session's `concept`, `classification`, `category` and
`purpose` keys.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from functools import cache
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

from markupsafe import Markup
from pydantic import ValidationError

if TYPE_CHECKING:
    from jinja2 import Environment

from app.regulatory.exports.chart import (
    RISK_LABEL,
    TIER_LABEL,
    Lang,
    clean,
    plan_header,
    plan_language,
    schedule,
    timeline_scene,
)
from app.regulatory.exports.svg import render_svg
from app.regulatory.schemas.analysis import (
    Classification,
    ClassificationInput,
    Plan,
    PurposeResponse,
    SuggestedCategory,
)

Format = Literal["md", "html", "pdf", "docx"]
FORMATS: tuple[Format, ...] = ("md", "html", "pdf", "docx")
MEDIA_TYPES: dict[str, str] = {
    "md": "text/markdown; charset=utf-8",
    "html": "text/html; charset=utf-8",
    "pdf": "application/pdf",
    "docx": "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
    "svg": "image/svg+xml",
    "png": "image/png",
}
MAX_HISTORY = 50  # versions listed per plan (the newest); older ones are counted, not listed

LABELS: dict[str, dict[Lang, str]] = {
    "document": {"ko": "인허가 계획서", "en": "Regulatory plan"},
    "session_document": {"ko": "인허가 계획서 (세션 전체)", "en": "Regulatory plans (session)"},
    "device": {"ko": "제품", "en": "Device"},
    "concept": {"ko": "제품 개념", "en": "Concept"},
    "category": {"ko": "품목 분류", "en": "Category"},
    "classification": {"ko": "의료기기 분류", "en": "Classification"},
    "risk_class": {"ko": "MFDS 등급", "en": "MFDS class"},
    "medical_device": {"ko": "의료기기 여부", "en": "Medical device"},
    "yes": {"ko": "예", "en": "yes"},
    "no": {"ko": "아니오", "en": "no"},
    "confidence": {"ko": "신뢰도", "en": "Confidence"},
    "rules_fired": {"ko": "적용된 분류 규칙", "en": "Rules that fired"},
    "jurisdictions": {"ko": "국가별 분류", "en": "By jurisdiction"},
    "reasoning": {"ko": "판단 근거", "en": "Reasoning"},
    "not_recorded": {
        "ko": "이 계획의 세션에 기록되어 있지 않습니다.",
        "en": "Not recorded in this plan's session.",
    },
    "purpose": {"ko": "사용 목적", "en": "Intended purpose"},
    "intended_use": {"ko": "사용 목적", "en": "Intended use"},
    "mechanism": {"ko": "작용 원리", "en": "Mechanism of action"},
    "population": {"ko": "대상 환자군", "en": "Target population"},
    "benefit": {"ko": "임상적 이점", "en": "Clinical benefit"},
    "contraindications": {"ko": "금기·주의", "en": "Contraindications"},
    "plan": {"ko": "계획", "en": "Plan"},
    "tier": {"ko": "경로", "en": "Tier"},
    "duration": {"ko": "전체 기간", "en": "Total duration"},
    "cost": {"ko": "예상 비용", "en": "Estimated cost"},
    "risk": {"ko": "위험도", "en": "Risk level"},
    "version": {"ko": "버전", "en": "Version"},
    "pathways": {"ko": "인허가 경로", "en": "Pathways"},
    "timeline": {"ko": "일정", "en": "Timeline"},
    "phase": {"ko": "단계", "en": "Phase"},
    "weeks": {"ko": "주차", "en": "Weeks"},
    "length": {"ko": "기간", "en": "Duration"},
    "depends_on": {"ko": "선행 단계", "en": "Depends on"},
    "deliverables": {"ko": "산출물", "en": "Deliverables"},
    "critical": {"ko": "주경로", "en": "critical path"},
    "standards": {"ko": "적용 규격", "en": "Standards"},
    "tests": {"ko": "성능평가 시험", "en": "Performance tests"},
    "documentation": {"ko": "제출 문서", "en": "Documentation"},
    "pros": {"ko": "장점", "en": "Pros"},
    "cons": {"ko": "단점", "en": "Cons"},
    "recommendations": {"ko": "권고 사항", "en": "Recommendations"},
    "history": {"ko": "수정 이력", "en": "Refinement history"},
    "created": {"ko": "생성", "en": "Created"},
    "modifications": {"ko": "수정 요청", "en": "Modification request"},
    "applied": {"ko": "반영된 변경", "en": "Applied changes"},
    "initial": {"ko": "최초 생성", "en": "Initial version"},
    "older_versions": {"ko": "이전 버전 {n}개 생략", "en": "{n} older versions not listed"},
    "all_standards": {"ko": "규격 목록", "en": "Standards list"},
    "references": {"ko": "참고 자료", "en": "References"},
    "disclaimer_title": {"ko": "고지 사항", "en": "Disclaimer"},
    "omitted_plans": {
        "ko": "이 세션의 계획 {n}개는 문서 크기 제한으로 생략되었습니다.",
        "en": "{n} more plans of this session are left out to bound the document's size.",
    },
    "no_plans": {"ko": "이 세션에는 계획이 없습니다.", "en": "This session has no plans."},
}
DISCLAIMER: dict[Lang, str] = {
    "ko": (
        "이 문서는 RAiDesk가 규칙 엔진(및 선택적으로 AI 모델)으로 만든 계획 보조 자료이며 "
        "규제 자문이 아닙니다. 기간과 비용은 추정치입니다. 실행 전에 분류와 인허가 경로를 "
        "식품의약품안전처, FDA, 인증기관(Notified Body) 또는 자격을 갖춘 RA 전문가와 확인하십시오."
    ),
    "en": (
        "This document was produced by RAiDesk from its rules engine (and optionally an AI "
        "model) as a planning aid; it is not regulatory advice. Durations and costs are "
        "estimates. Confirm the classification and pathway with the regulator (MFDS, FDA, a "
        "notified body) or a qualified regulatory affairs professional before acting on it."
    ),
}
# General references every plan rests on; each plan's own standards are listed separately.
REFERENCES: dict[Lang, tuple[str, ...]] = {
    "ko": (
        "의료기기법 및 의료기기 허가·신고·심사 등에 관한 규정 (식품의약품안전처 고시)",
        "의료기기 품목 및 품목별 등급에 관한 규정 (식품의약품안전처 고시)",
        "FDA 21 CFR Part 807 Subpart E (510(k)), Part 860 (분류), De Novo 절차",
        "EU MDR (EU) 2017/745, Annex VIII 분류 규칙",
        "IMDRF/SaMD WG/N12 — SaMD 위험 분류 체계",
    ),
    "en": (
        "MFDS Medical Devices Act and the Regulation on Medical Device Approval, Notification "
        "and Review",
        "MFDS Regulation on Medical Device Items and Classes",
        "FDA 21 CFR Part 807 Subpart E (510(k)), Part 860 (classification), De Novo process",
        "EU MDR (EU) 2017/745, Annex VIII classification rules",
        "IMDRF/SaMD WG/N12 — SaMD risk categorisation framework",
    ),
}


# --- context --------------------------------------------------------------------------------
@dataclass(slots=True)
class PlanVersion:
    """One version of a plan as the history lists it."""

    version: int
    created_at: datetime
    modifications: str | None
    applied_changes: list[str]
    plan: dict[str, Any] | None = None


@dataclass(slots=True)
class DocPhase:
    """One timeline row of a document."""

    phase: str
    description: str
    section: str
    start: int
    end: int
    duration: str
    critical: bool
    milestone: bool
    depends_on: list[str]
    deliverables: list[str]


@dataclass(slots=True)
class DocPlan:
    """One plan in a document, with its history up to this version."""

    plan: Plan
    tier: str
    risk: str
    header: str
    total_weeks: int
    phases: list[DocPhase]
    history: list[PlanVersion]
    older_versions: int
    svg: str

    def lists(self) -> list[tuple[str, list[str]]]:
        """The plan's bulleted sections in document order, as (label key, items)."""
        p = self.plan
        return [
            ("standards", p.common_standards.standards),
            ("tests", p.performance_evaluation.tests),
            (
                "documentation",
                p.common_standards.documentation + p.performance_evaluation.documentation,
            ),
            ("pros", p.pros),
            ("cons", p.cons),
            ("recommendations", p.recommendations),
        ]


@dataclass(slots=True)
class ClassificationView:
    """What the session recorded of the classification (any part may be missing)."""

    is_medical_device: bool | None = None
    risk_class: str | None = None
    category: str = ""
    confidence: float | None = None
    reasoning: str = ""
    rules_fired: list[str] = field(default_factory=list)
    jurisdictions: list[tuple[str, str]] = field(default_factory=list)


@dataclass(slots=True)
class Document:
    """Everything a plan or session document shows."""

    lang: Lang
    title: str
    subject: str  # "plan_… v3" or "sess_…"
    concept: str
    category: str
    classification: ClassificationView | None
    purpose: PurposeResponse | None
    plans: list[DocPlan]
    standards: list[str]
    references: tuple[str, ...]
    disclaimer: str
    omitted_plans: int = 0

    def label(self, key: str, **values: Any) -> str:
        """A heading or phrase in the document's language."""
        text = LABELS[key][self.lang]
        return text.format(**values) if values else text

    def device_lines(self) -> list[str]:
        """The device section's bullets: concept, category and one line per plan."""
        label = self.label
        lines = [f"{label('concept')}: {self.concept}"] if self.concept else []
        if self.category:
            lines.append(f"{label('category')}: {self.category}")
        lines += [
            f"{label('plan')} {i}: {dp.plan.description}" for i, dp in enumerate(self.plans, 1)
        ]
        return lines

    def classification_facts(self) -> list[str]:
        """The recorded classification as 'label: value' bullets (empty when none)."""
        c, label = self.classification, self.label
        if c is None:
            return []
        facts: list[str] = []
        if c.is_medical_device is not None:
            answer = label("yes") if c.is_medical_device else label("no")
            facts.append(f"{label('medical_device')}: {answer}")
        if c.risk_class:
            facts.append(f"{label('risk_class')}: {c.risk_class}")
        if c.category:
            facts.append(f"{label('category')}: {c.category}")
        if c.confidence is not None:
            facts.append(f"{label('confidence')}: {c.confidence * 100:.0f}%")
        return facts

    def purpose_rows(self) -> list[list[str]]:
        """The recorded purpose as (label, text) table rows (empty when none)."""
        pr, label = self.purpose, self.label
        if pr is None:
            return []
        rows = [
            [label("intended_use"), pr.intended_use],
            [label("mechanism"), pr.mechanism_of_action],
            [label("population"), pr.target_population],
            [label("benefit"), pr.clinical_benefit],
        ]
        if pr.contraindications:
            rows.append([label("contraindications"), "; ".join(pr.contraindications)])
        return rows


def _text(value: Any) -> str:
    return clean(value) if isinstance(value, str) else ""


def _classification(value: Any) -> ClassificationView | None:
    if not isinstance(value, dict):
        return None
    try:
        full = Classification.model_validate(value)
    except ValidationError:
        try:
            core = ClassificationInput.model_validate(value)
        except ValidationError:
            return None
        return ClassificationView(
            is_medical_device=core.is_medical_device,
            risk_class=core.risk_class,
            category=clean(core.category),
            confidence=core.confidence,
            reasoning=clean(core.reasoning),
        )
    return ClassificationView(
        is_medical_device=full.is_medical_device,
        risk_class=full.risk_class,
        category=clean(full.category),
        confidence=full.confidence,
        reasoning=clean(full.reasoning),
        rules_fired=[clean(r) for r in full.rules_fired],
        jurisdictions=[
            (
                clean(j.framework or key),
                " · ".join(clean(x) for x in (j.device_class, j.pathway, j.rule) if x),
            )
            for key, j in full.jurisdictions.items()
        ],
    )


def _purpose(value: Any) -> PurposeResponse | None:
    if not isinstance(value, dict):
        return None
    try:
        return PurposeResponse.model_validate(value)
    except ValidationError:
        return None


def _category(value: Any) -> str:
    if isinstance(value, str):
        return clean(value)
    if isinstance(value, dict):
        try:
            category = SuggestedCategory.model_validate(value)
        except ValidationError:
            return ""
        return " — ".join(clean(x) for x in (category.name, category.regulatory_path) if x)
    return ""


def _doc_plan(plan: Plan, history: Sequence[PlanVersion], lang: Lang) -> DocPlan:
    sched = schedule(plan)
    names = [b.phase for b in sched.bars]
    items = [*plan.common_standards.timeline, *plan.performance_evaluation.timeline]
    section = {
        "common": {"ko": "공통", "en": "common"},
        "performance": {"ko": "성능평가", "en": "performance"},
    }
    phases = [
        DocPhase(
            phase=clean(bar.phase),
            description=clean(items[bar.index].description),
            section=section[bar.section][lang],
            start=bar.start,
            end=bar.end,
            duration=bar.duration,
            critical=bar.critical,
            milestone=bar.milestone,
            depends_on=[clean(names[d]) for d in bar.deps],
            deliverables=[clean(d) for d in items[bar.index].deliverables],
        )
        for bar in sched.bars
    ]
    shown = list(history)[-MAX_HISTORY:]
    return DocPlan(
        plan=plan,
        tier=TIER_LABEL.get(plan.tier, {}).get(lang, plan.tier),
        risk=RISK_LABEL.get(plan.risk_level, {}).get(lang, plan.risk_level),
        header=plan_header(plan, lang, sched.total),
        total_weeks=sched.total,
        phases=phases,
        history=shown,
        older_versions=len(history) - len(shown),
        svg=render_svg(timeline_scene(plan)),
    )


def build_document(
    *,
    plans: Sequence[tuple[Plan, Sequence[PlanVersion]]],
    session_data: dict[str, Any] | None,
    subject: str,
    session: bool,
    omitted_plans: int = 0,
) -> Document:
    """The document's context: the plans (each with its history) and the session's records."""
    data = session_data or {}
    lang: Lang = plan_language(plans[0][0]) if plans else "ko"
    if not plans and isinstance(data.get("language"), str) and data["language"] in ("ko", "en"):
        lang = data["language"]
    purpose = _purpose(data.get("purpose")) or _purpose(data.get("intendedPurpose"))
    doc_plans = [_doc_plan(plan, history, lang) for plan, history in plans]
    classification = _classification(data.get("classification"))
    device = plans[0][0].device if plans else None
    if classification is None and device is not None:
        # Without a session record, the plan's own device (as it was classified) is shown.
        classification = ClassificationView(
            is_medical_device=device.is_medical_device,
            risk_class=device.risk_class,
            category=clean(device.name),
            reasoning=clean(plans[0][0].classification_reason or ""),
        )
    standards = sorted({clean(s) for p, _ in plans for s in p.common_standards.standards if s})
    key = "session_document" if session else "document"
    title = LABELS[key][lang]
    if not session and plans:
        title = f"{title}: {clean(plans[0][0].title)}"
    return Document(
        lang=lang,
        title=title,
        subject=subject,
        concept=_text(data.get("concept")),
        category=_category(data.get("category"))
        or (
            clean(f"{device.name} ({device.code})" if device.code else device.name)
            if device
            else ""
        ),
        classification=classification,
        purpose=purpose,
        plans=doc_plans,
        standards=standards,
        references=REFERENCES[lang],
        disclaimer=DISCLAIMER[lang],
        omitted_plans=omitted_plans,
    )


# --- Markdown and HTML ----------------------------------------------------------------------
def _md_cell(value: Any) -> str:
    """Text safe in one Markdown table cell."""
    return clean(str(value)).replace("\\", "\\\\").replace("|", "\\|")


def _md_text(value: Any) -> str:
    """Free text on one Markdown line: characters that start markup are escaped."""
    text = clean(str(value))
    for char in "\\`*_[]<>#|":
        text = text.replace(char, "\\" + char)
    return text


@cache
def _templates() -> Environment:
    """The template environment, built on the first render (Jinja2 costs ~70 ms to import)."""
    from jinja2 import Environment, FileSystemLoader, select_autoescape

    env = Environment(
        loader=FileSystemLoader(Path(__file__).parent / "templates"),
        autoescape=select_autoescape(enabled_extensions=("html",), default=False),
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=True,
    )
    env.filters["cell"] = _md_cell
    env.filters["mdtext"] = _md_text
    return env


def _inline_svg(svg: str) -> Markup:
    """Our own SVG (every text in it escaped when built) without its XML declaration."""
    return Markup(svg.split("?>", 1)[1].strip() if svg.startswith("<?xml") else svg)  # noqa: S704


def render_markdown(doc: Document) -> bytes:
    """The document as Markdown (UTF-8)."""
    return _templates().get_template("document.md").render(doc=doc).encode()


def render_html(doc: Document) -> bytes:
    """The document as one self-contained HTML page with the timelines inline (UTF-8)."""
    return (
        _templates().get_template("document.html").render(doc=doc, inline_svg=_inline_svg).encode()
    )
