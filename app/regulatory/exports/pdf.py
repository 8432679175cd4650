"""The plan document as PDF (reportlab): A4, an embedded Korean-capable TrueType font, vector
timelines.

Without an installed TrueType Korean font the text falls back to reportlab's built-in CID font
`HYGothic-Medium`, which PDF readers supply themselves (not embedded).
"""

from __future__ import annotations

import io
from functools import lru_cache
from typing import Any
from xml.sax.saxutils import escape

from reportlab.graphics.shapes import Drawing, PolyLine, String
from reportlab.graphics.shapes import Polygon as RLPolygon
from reportlab.graphics.shapes import Rect as RLRect
from reportlab.lib import colors
from reportlab.lib.pagesizes import A4
from reportlab.lib.styles import ParagraphStyle
from reportlab.lib.units import mm
from reportlab.pdfbase import pdfmetrics
from reportlab.pdfbase.cidfonts import UnicodeCIDFont
from reportlab.pdfbase.ttfonts import TTFont
from reportlab.pdfgen.canvas import Canvas
from reportlab.platypus import (
    Flowable,
    KeepTogether,
    ListFlowable,
    ListItem,
    PageBreak,
    Paragraph,
    SimpleDocTemplate,
    Spacer,
    Table,
    TableStyle,
)

from app.regulatory.exports.chart import Line, Polygon, Rect, Scene, Text, timeline_scene
from app.regulatory.exports.documents import DocPlan, Document
from app.regulatory.exports.fonts import korean_font

MARGIN = 16 * mm
FRAME_W = A4[0] - 2 * MARGIN


@lru_cache(maxsize=1)
def fonts() -> tuple[str, str]:
    """Names of the registered (regular, bold) fonts; registers them once per process."""
    font = korean_font(truetype_only=True)
    if font is None:
        pdfmetrics.registerFont(UnicodeCIDFont("HYGothic-Medium"))
        return "HYGothic-Medium", "HYGothic-Medium"
    pdfmetrics.registerFont(TTFont("RaideskKorean", str(font.path)))
    pdfmetrics.registerFont(TTFont("RaideskKorean-Bold", str(font.bold_path)))
    return "RaideskKorean", "RaideskKorean-Bold"


def _styles(lang: str) -> dict[str, ParagraphStyle]:
    regular, bold = fonts()
    wrap = "CJK" if lang == "ko" else None  # Korean may break inside long unspaced runs
    base = ParagraphStyle("body", fontName=regular, fontSize=9.5, leading=13.5, wordWrap=wrap)
    return {
        "body": base,
        "small": ParagraphStyle("small", parent=base, fontSize=8, leading=10.5),
        "muted": ParagraphStyle(
            "muted", parent=base, fontSize=8.5, textColor=colors.HexColor("#5f6b7a")
        ),
        "h1": ParagraphStyle(
            "h1", parent=base, fontName=bold, fontSize=16, leading=21, spaceAfter=4
        ),
        "h2": ParagraphStyle(
            "h2",
            parent=base,
            fontName=bold,
            fontSize=12.5,
            leading=17,
            spaceBefore=10,
            spaceAfter=4,
        ),
        "h3": ParagraphStyle(
            "h3", parent=base, fontName=bold, fontSize=10.5, leading=14, spaceBefore=6, spaceAfter=2
        ),
        "cell": ParagraphStyle("cell", parent=base, fontSize=7.5, leading=9.5),
        "head": ParagraphStyle("head", parent=base, fontName=bold, fontSize=7.5, leading=9.5),
        "note": ParagraphStyle(
            "note",
            parent=base,
            fontSize=8.5,
            backColor=colors.HexColor("#fff8e6"),
            borderColor=colors.HexColor("#e08e0b"),
            borderWidth=0.6,
            borderPadding=5,
        ),
    }


def chart_drawing(scene: Scene, width: float = FRAME_W) -> Drawing:
    """The chart as reportlab vector shapes scaled to `width` (points)."""
    regular, bold = fonts()
    s = width / 760
    h = scene.height

    def y(v: float) -> float:
        return (h - v) * s

    drawing = Drawing(width, h * s)
    for shape in scene.shapes:
        if isinstance(shape, Rect):
            rect = RLRect(shape.x * s, y(shape.y + shape.h), shape.w * s, shape.h * s)
            rect.fillColor = colors.HexColor(shape.fill)
            rect.strokeColor = None
            drawing.add(rect)
        elif isinstance(shape, Line):
            points = [c for x, yy in shape.points for c in (x * s, y(yy))]
            line = PolyLine(points, strokeColor=colors.HexColor(shape.stroke))
            line.strokeWidth = shape.width * s
            if shape.dashed:
                line.strokeDashArray = [3, 2]
            drawing.add(line)
        elif isinstance(shape, Polygon):
            points = [c for x, yy in shape.points for c in (x * s, y(yy))]
            drawing.add(RLPolygon(points, fillColor=colors.HexColor(shape.fill), strokeColor=None))
        elif isinstance(shape, Text):
            drawing.add(
                String(
                    shape.x * s,
                    y(shape.y),
                    shape.text,
                    fontName=bold if shape.bold else regular,
                    fontSize=shape.size * s,
                    fillColor=colors.HexColor(shape.fill),
                    textAnchor=shape.anchor,
                )
            )
    return drawing


def _p(text: str, style: ParagraphStyle) -> Paragraph:
    return Paragraph(escape(text), style)


def _bullets(items: list[str], style: ParagraphStyle) -> ListFlowable:
    flowables: list[Any] = [ListItem(_p(item, style), leftIndent=10) for item in items]
    return ListFlowable(
        flowables,
        bulletType="bullet",
        start="•",
        leftIndent=10,
        bulletFontName=style.fontName,
    )


def _table(
    rows: list[list[str]],
    widths: list[float],
    st: dict[str, ParagraphStyle],
    header: bool = True,
    critical_rows: tuple[int, ...] = (),
) -> Table:
    data = [
        [_p(cell, st["head"] if header and i == 0 else st["cell"]) for cell in row]
        for i, row in enumerate(rows)
    ]
    table = Table(data, colWidths=widths, repeatRows=1 if header else 0)
    style: list[Any] = [
        ("GRID", (0, 0), (-1, -1), 0.4, colors.HexColor("#c5cbd3")),
        ("VALIGN", (0, 0), (-1, -1), "TOP"),
    ]
    if header:
        style.append(("BACKGROUND", (0, 0), (-1, 0), colors.HexColor("#f3f5f8")))
    for row in critical_rows:
        style.append(("LINEBEFORE", (0, row), (0, row), 2.5, colors.HexColor("#c0392b")))
    table.setStyle(TableStyle(style))
    return table


def _plan(doc: Document, dp: DocPlan, index: int, st: dict[str, ParagraphStyle]) -> list[Flowable]:
    p = dp.plan
    label = doc.label
    number = f" {index}" if len(doc.plans) > 1 else ""
    out: list[Flowable] = [
        _p(f"{label('plan')}{number}: {p.title}", st["h2"]),
        _p(p.description, st["body"]),
        Spacer(1, 4),
        _table(
            [
                [label("tier"), label("duration"), label("cost"), label("risk"), label("version")],
                [dp.tier, p.total_duration, p.estimated_cost or "—", dp.risk, str(p.version or 1)],
            ],
            [FRAME_W * w for w in (0.16, 0.26, 0.3, 0.14, 0.14)],
            st,
        ),
    ]
    if p.pathways:
        out += [Spacer(1, 4), _p(f"{label('pathways')}: {'; '.join(p.pathways)}", st["body"])]
    out += [_p(label("timeline"), st["h3"]), chart_drawing(timeline_scene(p)), Spacer(1, 4)]
    rows = [
        [
            label("phase"),
            label("weeks"),
            label("length"),
            label("depends_on"),
            label("deliverables"),
        ]
    ]
    critical: list[int] = []
    for i, ph in enumerate(dp.phases, start=1):
        name = f"{ph.phase} ({label('critical')})" if ph.critical else ph.phase
        rows.append(
            [
                name,
                f"{ph.start}–{ph.end}",
                ph.duration,
                "; ".join(ph.depends_on),
                "; ".join(ph.deliverables),
            ]
        )
        if ph.critical:
            critical.append(i)
    out.append(
        _table(
            rows,
            [FRAME_W * w for w in (0.3, 0.1, 0.1, 0.22, 0.28)],
            st,
            critical_rows=tuple(critical),
        )
    )
    for key, items in dp.lists():
        if items:
            out += [_p(label(key), st["h3"]), _bullets(items, st["body"])]
    out.append(_p(label("history"), st["h3"]))
    if dp.older_versions:
        out.append(_p(label("older_versions", n=dp.older_versions), st["muted"]))
    for v in dp.history:
        when = v.created_at.strftime("%Y-%m-%d %H:%M UTC")
        what = (
            f"{label('modifications')}: “{v.modifications}”"
            if v.modifications
            else label("initial")
        )
        block: list[Flowable] = [_p(f"{label('version')} {v.version} ({when}): {what}", st["body"])]
        if v.applied_changes:
            block.append(_bullets(v.applied_changes, st["small"]))
        out.append(KeepTogether(block))
    return out


def render_pdf(doc: Document) -> bytes:
    """The document as PDF bytes."""
    st = _styles(doc.lang)
    label = doc.label
    story: list[Flowable] = [_p(doc.title, st["h1"]), _p(doc.subject, st["muted"])]
    device = doc.device_lines()
    story += [
        _p(label("device"), st["h2"]),
        _bullets(device, st["body"]) if device else Spacer(1, 1),
    ]
    story.append(_p(label("classification"), st["h2"]))
    c = doc.classification
    if c is None:
        story.append(_p(label("not_recorded"), st["muted"]))
    else:
        facts = doc.classification_facts()
        if facts:
            story.append(_bullets(facts, st["body"]))
        if c.rules_fired:
            story += [_p(label("rules_fired"), st["h3"]), _bullets(c.rules_fired, st["body"])]
        if c.jurisdictions:
            story += [
                _p(label("jurisdictions"), st["h3"]),
                _table(
                    [list(j) for j in c.jurisdictions],
                    [FRAME_W * 0.25, FRAME_W * 0.75],
                    st,
                    header=False,
                ),
            ]
        if c.reasoning:
            story.append(_p(f"{label('reasoning')}: {c.reasoning}", st["body"]))
    story.append(_p(label("purpose"), st["h2"]))
    if doc.purpose is None:
        story.append(_p(label("not_recorded"), st["muted"]))
    else:
        rows = doc.purpose_rows()
        story.append(_table(rows, [FRAME_W * 0.25, FRAME_W * 0.75], st, header=False))
    if not doc.plans:
        story.append(_p(label("no_plans"), st["muted"]))
    for i, dp in enumerate(doc.plans, 1):
        story += [PageBreak(), *_plan(doc, dp, i, st)]
    if doc.omitted_plans:
        story.append(_p(label("omitted_plans", n=doc.omitted_plans), st["muted"]))
    story += [
        _p(label("all_standards"), st["h2"]),
        _bullets(doc.standards or ["—"], st["body"]),
        _p(label("references"), st["h2"]),
        _bullets(list(doc.references), st["body"]),
        _p(label("disclaimer_title"), st["h2"]),
        _p(doc.disclaimer, st["note"]),
    ]
    regular, _ = fonts()

    def footer(canvas: Canvas, template: SimpleDocTemplate) -> None:
        canvas.saveState()
        canvas.setFont(regular, 7.5)
        canvas.setFillColor(colors.HexColor("#5f6b7a"))
        canvas.drawString(MARGIN, 9 * mm, f"RAiDesk · {doc.subject}")
        canvas.drawRightString(A4[0] - MARGIN, 9 * mm, str(canvas.getPageNumber()))
        canvas.restoreState()

    out = io.BytesIO()
    template = SimpleDocTemplate(
        out,
        pagesize=A4,
        leftMargin=MARGIN,
        rightMargin=MARGIN,
        topMargin=MARGIN,
        bottomMargin=MARGIN + 4 * mm,
        title=doc.title,
        author="RAiDesk",
        subject=doc.subject,
        lang=doc.lang,
        invariant=True,  # same input, same bytes: no creation date or random id in the file
    )
    template.build(story, onFirstPage=footer, onLaterPages=footer)
    return out.getvalue()
