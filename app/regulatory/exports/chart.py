"""Timeline charts as a scene of simple shapes, drawn once and rendered as SVG or PNG.

A plan's phases are scheduled as early as their dependencies allow (phase lengths parsed from
their durations), the critical path is the chain that fixes the total, and milestones are the
ends of the submission phases (the plan's `pathways`). Sizes fit A4 width (760 px wide).
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Literal

from app.regulatory.engine.timeline import parse_weeks
from app.regulatory.schemas.analysis import Plan, TimelineItem

Lang = Literal["ko", "en"]
Anchor = Literal["start", "middle", "end"]

WIDTH = 760  # px: A4 (210 mm) at 96 dpi is 794 px, less a small margin
LABEL_W = 250
RIGHT_PAD = 60
MAX_PHASES = 60  # per plan; a stored plan could list thousands, a chart shows these first
MAX_LABEL_EM = 21.0  # label column width in em of the label font

CRITICAL = "#c0392b"
NORMAL = "#4a78b0"
PERFORMANCE = "#3f8f6b"
GRID = "#d9dde3"
INK = "#1f2933"
MUTED = "#5f6b7a"
MILESTONE = "#e08e0b"

_HANGUL = re.compile(r"[\uac00-\ud7a3]")
# Control characters are not allowed in XML 1.0 and mean nothing on a chart.
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f\ufffe\uffff]")

TIER_LABEL: dict[str, dict[Lang, str]] = {
    "fastest": {"ko": "최단", "en": "Fastest"},
    "normal": {"ko": "표준", "en": "Normal"},
    "conservative": {"ko": "보수", "en": "Conservative"},
    "innovative": {"ko": "혁신", "en": "Innovative"},
}
RISK_LABEL: dict[str, dict[Lang, str]] = {
    "low": {"ko": "낮음", "en": "low"},
    "medium": {"ko": "중간", "en": "medium"},
    "high": {"ko": "높음", "en": "high"},
}
WORDS: dict[str, dict[Lang, str]] = {
    "critical": {"ko": "주경로 (전체 기간을 정하는 단계)", "en": "Critical path"},
    "other": {"ko": "기타 단계", "en": "Other phase"},
    "performance": {"ko": "성능평가 단계", "en": "Performance evaluation"},
    "milestone": {"ko": "인허가 마일스톤", "en": "Submission milestone"},
    "dependency": {"ko": "선행 관계", "en": "Dependency"},
    "weeks_axis": {"ko": "주", "en": "wk"},
    "total": {"ko": "전체", "en": "Total"},
    "risk": {"ko": "위험", "en": "risk"},
    "version": {"ko": "버전", "en": "version"},
    "more": {"ko": "외 {n}개 단계 생략", "en": "{n} more phases not shown"},
    "compare": {"ko": "계획 비교: 공통 시간축", "en": "Plan comparison on a common time axis"},
}


def plan_language(plan: Plan) -> Lang:
    """The plan's language: its `language`, else Korean when its title has Hangul."""
    if plan.language is not None:
        return plan.language
    return "ko" if _HANGUL.search(plan.title + plan.description) else "en"


def clean(text: str) -> str:
    """Text safe for XML and one line: control characters dropped, whitespace collapsed."""
    return " ".join(_CONTROL.sub("", text).split())


def em_width(text: str) -> float:
    """Approximate width in em: wide (CJK) characters 1 em, others about half."""
    return sum(1.0 if unicodedata.east_asian_width(c) in "WF" else 0.56 for c in text)


def fit(text: str, max_em: float) -> str:
    """`text` cut with an ellipsis so that it fits `max_em`."""
    text = clean(text)
    if em_width(text) <= max_em:
        return text
    out = ""
    for char in text:
        if em_width(out + char) > max_em - 1:
            break
        out += char
    return out.rstrip() + "…"


# --- scheduling ----------------------------------------------------------------------------
@dataclass(slots=True)
class Bar:
    """One phase placed on the time axis (weeks from the start)."""

    index: int
    phase: str
    section: Literal["common", "performance"]
    start: int
    weeks: int
    duration: str
    deps: list[int] = field(default_factory=list)
    critical: bool = False
    milestone: bool = False

    @property
    def end(self) -> int:
        """Week the phase ends."""
        return self.start + self.weeks


@dataclass(slots=True)
class Schedule:
    """A plan's phases on a time axis."""

    bars: list[Bar]
    total: int
    hidden: int  # phases beyond MAX_PHASES


def schedule(plan: Plan) -> Schedule:
    """Phases started as early as their dependencies allow; critical path and milestones."""
    items: list[tuple[TimelineItem, Literal["common", "performance"]]] = [
        (item, "common") for item in plan.common_standards.timeline
    ]
    items += [(item, "performance") for item in plan.performance_evaluation.timeline]
    hidden = max(0, len(items) - MAX_PHASES)
    items = items[:MAX_PHASES]
    by_name: dict[str, int] = {}
    for i, (item, _) in enumerate(items):
        by_name.setdefault(item.phase, i)
    bars = [
        Bar(
            index=i,
            phase=item.phase,
            section=section,
            start=0,
            weeks=parse_weeks(item.duration) or 0,
            duration=clean(item.duration),
            deps=sorted({by_name[d] for d in item.dependencies or [] if by_name.get(d, i) != i}),
        )
        for i, (item, section) in enumerate(items)
    ]
    done: dict[int, int] = {}
    visiting: set[int] = set()

    def end(i: int) -> int:
        if i in done:
            return done[i]
        if i in visiting:  # a hand-written cycle: break it rather than loop
            return 0
        visiting.add(i)
        bars[i].start = max((end(d) for d in bars[i].deps), default=0)
        visiting.discard(i)
        done[i] = bars[i].end
        return done[i]

    total = max((end(i) for i in range(len(bars))), default=0)
    _mark_critical(bars, total)
    pathways = set(plan.pathways)
    for bar in bars:
        bar.milestone = bar.phase in pathways
    return Schedule(bars=bars, total=total, hidden=hidden)


def _mark_critical(bars: list[Bar], total: int) -> None:
    """Walk back from every phase that ends at the total through the deps that fix starts."""
    stack = [b.index for b in bars if b.end == total and total > 0]
    while stack:
        bar = bars[stack.pop()]
        if bar.critical:
            continue
        bar.critical = True
        stack.extend(d for d in bar.deps if bars[d].end == bar.start)


# --- scene ---------------------------------------------------------------------------------
@dataclass(frozen=True, slots=True)
class Rect:
    x: float
    y: float
    w: float
    h: float
    fill: str
    cls: str = ""
    tooltip: str = ""


@dataclass(frozen=True, slots=True)
class Line:
    points: tuple[tuple[float, float], ...]
    stroke: str
    width: float = 1.0
    dashed: bool = False
    cls: str = ""


@dataclass(frozen=True, slots=True)
class Polygon:
    points: tuple[tuple[float, float], ...]
    fill: str
    cls: str = ""


@dataclass(frozen=True, slots=True)
class Text:
    x: float
    y: float
    text: str
    size: float = 11
    fill: str = INK
    anchor: Anchor = "start"
    bold: bool = False
    cls: str = ""


Shape = Rect | Line | Polygon | Text


@dataclass(slots=True)
class Scene:
    """Shapes in drawing order on a WIDTH × height canvas, with a title and a description."""

    height: float
    title: str
    description: str
    lang: Lang
    shapes: list[Shape] = field(default_factory=list)


def _tick_step(total: int) -> int:
    """Weeks between axis ticks: at most about 12 ticks."""
    for step in (1, 2, 4, 8, 13, 26, 52, 104):
        if total / step <= 12:
            return step
    return 208


def _axis(scene: Scene, *, top: float, bottom: float, total: int, scale: float) -> None:
    unit = WORDS["weeks_axis"][scene.lang]
    step = _tick_step(total)
    week = 0
    while week <= total:
        x = LABEL_W + week * scale
        scene.shapes.append(Line(((x, top), (x, bottom)), GRID, 1, cls="grid"))
        label = f"{week}{unit}" if scene.lang == "ko" else f"{week} {unit}"
        scene.shapes.append(Text(x, top - 4, label, 9, MUTED, "middle", cls="tick"))
        week += step


def _legend(scene: Scene, y: float, *, arrows: bool = True) -> None:
    lang = scene.lang
    x = 10.0
    entries: list[tuple[str, str, str]] = [
        ("rect", CRITICAL, WORDS["critical"][lang]),
        ("rect", NORMAL, WORDS["other"][lang]),
        ("rect", PERFORMANCE, WORDS["performance"][lang]),
        ("diamond", MILESTONE, WORDS["milestone"][lang]),
    ]
    if arrows:
        entries.append(("line", MUTED, WORDS["dependency"][lang]))
    for kind, colour, label in entries:
        if kind == "rect":
            scene.shapes.append(Rect(x, y - 8, 14, 9, colour, cls="legend"))
        elif kind == "diamond":
            scene.shapes.append(Polygon(_diamond(x + 7, y - 3.5, 5), colour, cls="legend"))
        else:
            scene.shapes.append(Line(((x, y - 3.5), (x + 14, y - 3.5)), colour, 1, cls="legend"))
        scene.shapes.append(Text(x + 18, y, label, 9, INK, cls="legend"))
        x += 18 + em_width(label) * 9 + 14


def _diamond(cx: float, cy: float, r: float) -> tuple[tuple[float, float], ...]:
    return ((cx, cy - r), (cx + r, cy), (cx, cy + r), (cx - r, cy))


def _bars(
    scene: Scene,
    sched: Schedule,
    *,
    top: float,
    row: float,
    bar_h: float,
    font: float,
    scale: float,
    arrows: bool,
) -> float:
    """Draw one plan's rows from `top`; the y below the last row."""
    y_of = {bar.index: top + i * row for i, bar in enumerate(sched.bars)}
    lang = scene.lang
    if arrows:  # drawn first so that bars and labels sit on top of them
        for bar in sched.bars:
            for dep in bar.deps:
                source = sched.bars[dep]
                x1, y1 = LABEL_W + source.end * scale, y_of[dep] + bar_h / 2
                x2, y2 = LABEL_W + bar.start * scale, y_of[bar.index] + bar_h / 2
                elbow = max(x1, x2 - 7)
                points = ((x1, y1), (elbow, y1), (elbow, y2), (x2 - 4, y2))
                scene.shapes.append(Line(points, MUTED, 0.8, cls="dependency"))
                scene.shapes.append(
                    Polygon(((x2, y2), (x2 - 4, y2 - 2.5), (x2 - 4, y2 + 2.5)), MUTED, cls="arrow")
                )
    for bar in sched.bars:
        y = y_of[bar.index]
        label = fit(bar.phase, (LABEL_W - 16) / font)
        scene.shapes.append(Text(8, y + bar_h - 1, label, font, INK, cls="phase"))
        colour = (
            CRITICAL if bar.critical else PERFORMANCE if bar.section == "performance" else NORMAL
        )
        x = LABEL_W + bar.start * scale
        w = max(bar.weeks * scale, 2.0)
        cls = "bar critical" if bar.critical else "bar"
        tip = f"{clean(bar.phase)}: {bar.duration} ({bar.start}–{bar.end})"
        scene.shapes.append(Rect(x, y, w, bar_h, colour, cls=cls, tooltip=tip))
        gap = bar_h / 2 + 5 if bar.milestone else 3
        scene.shapes.append(
            Text(x + w + gap, y + bar_h - 1, fit(bar.duration, 8), font - 1, MUTED, cls="duration")
        )
        if bar.milestone:
            scene.shapes.append(
                Polygon(_diamond(x + w, y + bar_h / 2, bar_h / 2 + 2), MILESTONE, cls="milestone")
            )
    bottom = top + len(sched.bars) * row
    if sched.hidden:
        text = WORDS["more"][lang].format(n=sched.hidden)
        scene.shapes.append(Text(8, bottom + font, text, font - 1, MUTED, cls="more"))
        bottom += row
    return bottom


def plan_header(plan: Plan, lang: Lang, total: int) -> str:
    """Tier · total · risk · version, in the plan's language."""
    tier = TIER_LABEL.get(plan.tier, {}).get(lang, plan.tier)
    risk = RISK_LABEL.get(plan.risk_level, {}).get(lang, plan.risk_level)
    parts = [tier, clean(plan.total_duration), f"{WORDS['risk'][lang]} {risk}"]
    if plan.version is not None:
        parts.append(f"{WORDS['version'][lang]} {plan.version}")
    return " · ".join(parts)


def timeline_scene(plan: Plan) -> Scene:
    """One plan as a Gantt chart."""
    lang = plan_language(plan)
    sched = schedule(plan)
    total = max(sched.total, 1)
    scale = (WIDTH - LABEL_W - RIGHT_PAD) / total
    row, bar_h = 22.0, 12.0
    top = 74.0
    height = top + (len(sched.bars) + (1 if sched.hidden else 0)) * row + 40
    scene = Scene(
        height=height,
        title=clean(plan.title),
        description=f"{plan_header(plan, lang, sched.total)}",
        lang=lang,
    )
    scene.shapes.append(
        Text(8, 20, fit(plan.title, WIDTH / 14 - 2), 14, INK, bold=True, cls="title")
    )
    scene.shapes.append(
        Text(8, 38, plan_header(plan, lang, sched.total), 10, MUTED, cls="subtitle")
    )
    bottom = top + len(sched.bars) * row
    _axis(scene, top=top - 8, bottom=bottom, total=total, scale=scale)
    end = _bars(scene, sched, top=top, row=row, bar_h=bar_h, font=10, scale=scale, arrows=True)
    finish_x = LABEL_W + sched.total * scale
    scene.shapes.append(
        Line(((finish_x, top - 8), (finish_x, bottom)), CRITICAL, 1, True, "finish")
    )
    _legend(scene, end + 24)
    return scene


def comparison_scene(plans: Sequence[Plan]) -> Scene:
    """Several plans' timelines stacked on one time axis."""
    lang = plan_language(plans[0])
    scheds = [schedule(p) for p in plans]
    total = max(max((s.total for s in scheds), default=1), 1)
    scale = (WIDTH - LABEL_W - RIGHT_PAD) / total
    row, bar_h, font = 14.0, 8.0, 8.5
    top = 60.0
    y = top
    scene = Scene(height=0, title=WORDS["compare"][lang], description="", lang=lang)
    scene.shapes.append(Text(8, 20, WORDS["compare"][lang], 14, INK, bold=True, cls="title"))
    blocks: list[tuple[Plan, Schedule, float]] = []
    for plan, sched in zip(plans, scheds, strict=True):
        blocks.append((plan, sched, y))
        y += 34 + (len(sched.bars) + (1 if sched.hidden else 0)) * row + 10
    _axis(scene, top=top - 8, bottom=y - 10, total=total, scale=scale)
    for plan, sched, block_top in blocks:
        header = f"{fit(plan.title, 40)} — {plan_header(plan, lang, sched.total)}"
        scene.shapes.append(Rect(0, block_top, WIDTH, 30, "#f3f5f8", cls="plan-band"))
        scene.shapes.append(Text(8, block_top + 19, header, 10.5, INK, bold=True, cls="plan"))
        finish_x = LABEL_W + sched.total * scale
        block_bottom = block_top + 34 + len(sched.bars) * row
        scene.shapes.append(
            Line(
                ((finish_x, block_top + 30), (finish_x, block_bottom)), CRITICAL, 1, True, "finish"
            )
        )
        _bars(
            scene,
            sched,
            top=block_top + 34,
            row=row,
            bar_h=bar_h,
            font=font,
            scale=scale,
            arrows=False,
        )
    _legend(scene, y + 14, arrows=False)
    scene.height = y + 30
    scene.description = "; ".join(
        f"{clean(p.title)}: {s.total}" for p, s in zip(plans, scheds, strict=True)
    )
    return scene
