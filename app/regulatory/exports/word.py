"""The plan document as DOCX (python-docx): headings, tables, lists and the timeline picture."""

from __future__ import annotations

import contextlib
import io

from docx import Document as new_docx
from docx.document import Document as DocxDocument
from docx.oxml.ns import qn
from docx.shared import Cm, Pt, RGBColor

from app.regulatory.exports.chart import clean, timeline_scene
from app.regulatory.exports.documents import DocPlan, Document
from app.regulatory.exports.png import NoFontError, render_png

# Word picks the East Asian face for Hangul: name faces that Windows, macOS and Linux have.
EAST_ASIAN_FONT = {"ko": "Malgun Gothic", "en": "Malgun Gothic"}
LATIN_FONT = "Arial"


def _fonts(docx: DocxDocument, lang: str) -> None:
    for name in ("Normal", "Heading 1", "Heading 2", "Heading 3", "List Bullet", "Table Grid"):
        style = docx.styles[name]
        style.font.name = LATIN_FONT
        rpr = style.element.get_or_add_rPr()
        fonts = rpr.get_or_add_rFonts()
        fonts.set(qn("w:eastAsia"), EAST_ASIAN_FONT[lang])
    docx.styles["Normal"].font.size = Pt(10)


def _xml(text: str) -> str:
    # python-docx refuses control characters (not allowed in XML); `clean` drops them.
    return clean(text)


def _bullets(docx: DocxDocument, items: list[str]) -> None:
    for item in items:
        docx.add_paragraph(_xml(item), style="List Bullet")


def _table(docx: DocxDocument, rows: list[list[str]], *, header: bool = True) -> None:
    table = docx.add_table(rows=0, cols=len(rows[0]))
    table.style = docx.styles["Table Grid"]
    for i, row in enumerate(rows):
        cells = table.add_row().cells
        for cell, text in zip(cells, row, strict=True):
            cell.text = _xml(text)
            if header and i == 0:
                for run in cell.paragraphs[0].runs:
                    run.bold = True


def _plan(docx: DocxDocument, doc: Document, dp: DocPlan, index: int) -> None:
    p = dp.plan
    label = doc.label
    number = f" {index}" if len(doc.plans) > 1 else ""
    docx.add_heading(_xml(f"{label('plan')}{number}: {p.title}"), level=1)
    docx.add_paragraph(_xml(p.description))
    _table(
        docx,
        [
            [label("tier"), label("duration"), label("cost"), label("risk"), label("version")],
            [dp.tier, p.total_duration, p.estimated_cost or "—", dp.risk, str(p.version or 1)],
        ],
    )
    if p.pathways:
        docx.add_paragraph(_xml(f"{label('pathways')}: {'; '.join(p.pathways)}"))
    docx.add_heading(label("timeline"), level=2)
    # Without a Korean font the picture would show boxes; the table below says it all.
    with contextlib.suppress(NoFontError):
        docx.add_picture(io.BytesIO(render_png(timeline_scene(p))), width=Cm(16.5))
    rows = [
        [
            label("phase"),
            label("weeks"),
            label("length"),
            label("depends_on"),
            label("deliverables"),
        ]
    ]
    for ph in dp.phases:
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
    _table(docx, rows)
    for key, items in dp.lists():
        if items:
            docx.add_heading(label(key), level=2)
            _bullets(docx, items)
    docx.add_heading(label("history"), level=2)
    if dp.older_versions:
        docx.add_paragraph(label("older_versions", n=dp.older_versions))
    for v in dp.history:
        when = v.created_at.strftime("%Y-%m-%d %H:%M UTC")
        what = (
            f"{label('modifications')}: “{v.modifications}”"
            if v.modifications
            else label("initial")
        )
        docx.add_paragraph(_xml(f"{label('version')} {v.version} ({when}): {what}"))
        _bullets(docx, v.applied_changes)


def render_docx(doc: Document) -> bytes:
    """The document as DOCX bytes."""
    docx = new_docx()
    _fonts(docx, doc.lang)
    docx.core_properties.title = _xml(doc.title)
    docx.core_properties.author = "RAiDesk"
    docx.core_properties.subject = doc.subject
    docx.core_properties.language = doc.lang
    label = doc.label
    docx.add_heading(_xml(doc.title), level=0)
    small = docx.add_paragraph(doc.subject).runs[0]
    small.font.size = Pt(8)
    small.font.color.rgb = RGBColor(0x5F, 0x6B, 0x7A)
    docx.add_heading(label("device"), level=1)
    device = doc.device_lines()
    _bullets(docx, device)
    docx.add_heading(label("classification"), level=1)
    c = doc.classification
    if c is None:
        docx.add_paragraph(label("not_recorded"))
    else:
        facts = doc.classification_facts()
        _bullets(docx, facts)
        if c.rules_fired:
            docx.add_heading(label("rules_fired"), level=2)
            _bullets(docx, c.rules_fired)
        if c.jurisdictions:
            docx.add_heading(label("jurisdictions"), level=2)
            _table(docx, [list(j) for j in c.jurisdictions], header=False)
        if c.reasoning:
            docx.add_paragraph(_xml(f"{label('reasoning')}: {c.reasoning}"))
    docx.add_heading(label("purpose"), level=1)
    if doc.purpose is None:
        docx.add_paragraph(label("not_recorded"))
    else:
        rows = doc.purpose_rows()
        _table(docx, rows, header=False)
    if not doc.plans:
        docx.add_paragraph(label("no_plans"))
    for i, dp in enumerate(doc.plans, 1):
        docx.add_page_break()  # type: ignore[no-untyped-call]
        _plan(docx, doc, dp, i)
    if doc.omitted_plans:
        docx.add_paragraph(label("omitted_plans", n=doc.omitted_plans))
    docx.add_heading(label("all_standards"), level=1)
    _bullets(docx, doc.standards or ["—"])
    docx.add_heading(label("references"), level=1)
    _bullets(docx, list(doc.references))
    docx.add_heading(label("disclaimer_title"), level=1)
    docx.add_paragraph(doc.disclaimer)
    out = io.BytesIO()
    docx.save(out)
    return out.getvalue()
