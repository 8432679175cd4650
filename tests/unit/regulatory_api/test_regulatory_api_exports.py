"""Charts and documents over HTTP (in-process): every format for a Korean and an English plan,
content checked by parsing (xml.etree, pypdf, python-docx, Pillow), caching, ownership, limits."""

from __future__ import annotations

import io
import threading
import xml.etree.ElementTree as ET
import zipfile
from pathlib import Path
from typing import Any

import docx
import httpx
import pypdf
import pytest
from fastapi import FastAPI
from PIL import Image

from app.regulatory.exports import service as exports_service
from app.regulatory.exports.examples import write_examples
from app.regulatory.exports.fonts import korean_font
from app.regulatory.exports.service import RenderCache

from .conftest import LUNG, LUNG_CATEGORY, STANDARDS_BODY, Login, assert_problem

pytestmark = pytest.mark.unit

Reg = tuple[FastAPI, httpx.AsyncClient]
SVG = "{http://www.w3.org/2000/svg}"
EN_CONCEPT = "AI software that detects lung nodules on chest CT images"
KO_CHANGE = "임상시험 기간을 줄여줘"


async def _flow(client: httpx.AsyncClient, concept: str, category: Any = None) -> dict[str, Any]:
    """classify → purpose → session → standards → refine the normal plan; what was made."""
    r = await client.post("/api/classify", json={"concept": concept})
    assert r.status_code == 200, r.text
    classification = r.json()["classification"]
    category = category or r.json()["suggestedCategories"][0]
    r = await client.post("/api/purpose", json={"concept": concept, "category": category})
    assert r.status_code == 200, r.text
    purpose = r.json()
    data = {
        "concept": concept,
        "classification": classification,
        "category": category,
        "purpose": purpose,
    }
    r = await client.post("/api/sessions", json={"data": data})
    session_id = r.json()["id"]
    body = {
        "classification": classification,
        "category": category,
        "purposeMechanism": purpose["mechanismOfAction"],
        "sessionId": session_id,
    }
    r = await client.post("/api/standards", json=body)
    assert r.status_code == 200, r.text
    plans = r.json()["plans"]
    normal = next(p for p in plans if p["tier"] == "normal")
    change = KO_CHANGE if classification["language"] == "ko" else "shorten the overall time"
    r = await client.post("/api/refine", json={"planId": normal["id"], "modifications": change})
    assert r.status_code == 200, r.text
    return {
        "session_id": session_id,
        "classification": classification,
        "plans": plans,
        "normal": normal,
        "refined": r.json()["plan"],
        "changes": r.json()["appliedChanges"],
        "change": change,
    }


def _svg(body: bytes | str) -> ET.Element:
    """Parse an SVG the server made (the standard library parser: the tests read our output)."""
    return ET.fromstring(body)  # noqa: S314


def _phases(plan: dict[str, Any]) -> list[dict[str, Any]]:
    return [*plan["commonStandards"]["timeline"], *plan["performanceEvaluation"]["timeline"]]


def _svg_texts(root: ET.Element, cls: str | None = None) -> list[str]:
    return [t.text or "" for t in root.iter(f"{SVG}text") if cls is None or t.get("class") == cls]


def _pdf_text(body: bytes) -> str:
    reader = pypdf.PdfReader(io.BytesIO(body))
    # Line breaks inside wrapped paragraphs are not content: compare without whitespace.
    return "".join("".join(page.extract_text().split()) for page in reader.pages)


def _squash(text: str) -> str:
    return "".join(text.split())


def _docx_text(body: bytes) -> str:
    document = docx.Document(io.BytesIO(body))
    parts = [p.text for p in document.paragraphs]
    for table in document.tables:
        parts += [cell.text for row in table.rows for cell in row.cells]
    return "\n".join(parts)


# --- charts ---------------------------------------------------------------------------------
@pytest.mark.parametrize("concept", [LUNG, EN_CONCEPT])
async def test_timeline_svg_draws_every_phase_critical_path_and_milestones(
    reg: Reg, concept: str
) -> None:
    _app, client = reg
    made = await _flow(client, concept, LUNG_CATEGORY if concept == LUNG else None)
    plan = made["refined"]
    r = await client.get(f"/api/plans/{plan['id']}/timeline.svg")
    assert r.status_code == 200, r.text
    assert r.headers["content-type"].startswith("image/svg+xml")
    assert "script-src" not in r.headers["content-security-policy"]
    root = _svg(r.content)
    lang = "ko" if concept == LUNG else "en"
    assert root.tag == f"{SVG}svg" and root.get("lang") == lang
    assert root.get("width") == "760"  # A4 width at 96 dpi, less margins
    assert "Noto Sans CJK KR" in (root.get("font-family") or "")
    assert root.findtext(f"{SVG}title") == plan["title"]
    phases = _phases(plan)
    bars = [e for e in root.iter(f"{SVG}rect") if "bar" in (e.get("class") or "").split()]
    assert len(bars) == len(phases)
    assert any("critical" in (e.get("class") or "") for e in bars)
    labels = _svg_texts(root, "phase")
    assert all(
        p["phase"] == label for p, label in zip(phases, labels, strict=True) if len(p["phase"]) < 20
    )
    assert [p["duration"] for p in phases] == _svg_texts(root, "duration")
    milestones = [e for e in root.iter(f"{SVG}polygon") if e.get("class") == "milestone"]
    assert len(milestones) == len(plan["pathways"]) > 0
    deps = [e for e in root.iter(f"{SVG}polyline") if e.get("class") == "dependency"]
    assert len(deps) == sum(len(p.get("dependencies") or []) for p in phases)
    assert (lang == "ko") == ("주" in "".join(_svg_texts(root, "tick")))

    # Version 1 is still drawn as it was: the refine changed one duration.
    r1 = await client.get(f"/api/plans/{plan['id']}/timeline.svg", params={"version": 1})
    assert r1.status_code == 200
    old = [p["duration"] for p in _phases(made["normal"])]
    assert _svg_texts(_svg(r1.content), "duration") == old != _svg_texts(root, "duration")


async def test_timeline_png_is_a_picture_of_the_chart(reg: Reg) -> None:
    _app, client = reg
    made = await _flow(client, LUNG, LUNG_CATEGORY)
    r = await client.get(f"/api/plans/{made['refined']['id']}/timeline.png")
    if korean_font() is None:
        assert_problem(r, 503, "SERVICE_UNAVAILABLE")
        return
    assert r.status_code == 200 and r.headers["content-type"] == "image/png"
    image = Image.open(io.BytesIO(r.content))
    assert image.format == "PNG" and image.width == 1520
    colours = {c for _, c in image.convert("RGB").getcolors(maxcolors=1 << 20) or []}
    assert (0xC0, 0x39, 0x2B) in colours  # critical-path red is drawn


async def test_compare_four_plans_json_table_and_one_svg(reg: Reg) -> None:
    _app, client = reg
    made = await _flow(client, LUNG, LUNG_CATEGORY)
    ids = [p["id"] for p in made["plans"]]
    r = await client.post("/api/plans/compare", json={"planIds": ids})
    assert r.status_code == 200, r.text
    body = r.json()
    assert [p["id"] for p in body["plans"]] == ids
    assert [p["tier"] for p in body["plans"]] == ["fastest", "normal", "conservative", "innovative"]
    assert body["plans"][1]["version"] == 2  # the latest (refined) version
    rows = {row["key"]: row for row in body["rows"]}
    for key in (
        "totalDuration",
        "estimatedCost",
        "riskLevel",
        "standards",
        "tests",
        "pros",
        "cons",
    ):
        assert len(rows[key]["values"]) == 4
    weeks = rows["totalWeeks"]["values"]
    assert weeks[0] < weeks[2]  # fastest is shorter than conservative
    assert rows["totalDuration"]["label"] == "전체 기간"
    root = _svg(body["timelineSvg"].encode())
    bands = [e for e in root.iter(f"{SVG}rect") if e.get("class") == "plan-band"]
    assert len(bands) == 4
    bars = [e for e in root.iter(f"{SVG}rect") if "bar" in (e.get("class") or "").split()]
    assert len(bars) == sum(
        len(_phases(p)) for p in [*made["plans"][:1], made["refined"], *made["plans"][2:]]
    )
    # One axis: each plan's finish line sits at its total on the same scale.
    finishes = [e for e in root.iter(f"{SVG}polyline") if e.get("class") == "finish"]
    xs = [float((e.get("points") or "").split()[0].split(",")[0]) for e in finishes]
    scale = (xs[2] - 250) / weeks[2]
    assert xs[0] == pytest.approx(250 + weeks[0] * scale, abs=0.2)

    r = await client.post("/api/plans/compare", params={"format": "svg"}, json={"planIds": ids[:2]})
    assert r.status_code == 200 and r.headers["content-type"].startswith("image/svg+xml")
    assert (
        len([e for e in _svg(r.content).iter(f"{SVG}rect") if e.get("class") == "plan-band"]) == 2
    )


@pytest.mark.parametrize(
    "body",
    [
        {"planIds": ["plan_a"]},
        {"planIds": ["a", "b", "c", "d", "e"]},
        {"planIds": ["plan_a", "plan_a"]},
        {"planIds": []},
        {"planIds": ["plan_a", ""]},
        {"plans": ["plan_a", "plan_b"]},
        {"planIds": "plan_a,plan_b"},
    ],
)
async def test_compare_bad_bodies_are_400(reg: Reg, body: dict[str, Any]) -> None:
    _app, client = reg
    assert_problem(await client.post("/api/plans/compare", json=body), 400, "VALIDATION_ERROR")


# --- documents ------------------------------------------------------------------------------
async def test_korean_plan_in_every_format(reg: Reg) -> None:
    _app, client = reg
    made = await _flow(client, LUNG, LUNG_CATEGORY)
    plan = made["refined"]
    url = f"/api/plans/{plan['id']}/export"
    expected = [
        plan["title"],
        "ARCHETYPE:SW-CADE-LUNG",  # a rule that fired
        made["classification"]["rulesFired"][-1],
        "사용 목적",
        KO_CHANGE,  # the refinement history
        made["changes"][0],
        "ISO 14971",
        "참고 자료",
        "고지 사항",
        _phases(plan)[0]["phase"],
    ]

    r = await client.get(url, params={"format": "md"})
    assert r.status_code == 200 and r.headers["content-type"].startswith("text/markdown")
    assert 'filename="' + plan["id"] + '-v2.md"' in r.headers["content-disposition"]
    md = r.text.replace("\\", "")
    for text in expected:
        assert text in md, text
    assert "버전 1" in md and "버전 2" in md

    r = await client.get(url, params={"format": "html"})
    assert r.status_code == 200 and r.headers["content-type"].startswith("text/html")
    page = r.text
    assert '<html lang="ko">' in page and "<svg" in page and "<?xml" not in page
    assert "script" not in page.lower()
    for text in expected:
        assert text.replace("'", "&#39;").replace("→", "→") in page or text in page, text

    r = await client.get(url, params={"format": "pdf"})
    assert r.status_code == 200 and r.headers["content-type"] == "application/pdf"
    assert r.headers["content-disposition"].startswith("attachment;")
    reader = pypdf.PdfReader(io.BytesIO(r.content))
    assert (
        reader.metadata is not None and reader.metadata.title == f"인허가 계획서: {plan['title']}"
    )
    text = _pdf_text(r.content)
    for item in expected:
        assert _squash(item) in text, item
    if korean_font(truetype_only=True) is not None:  # the font travels inside the file
        fonts = [
            page["/Resources"]["/Font"][name].get_object()
            for page in reader.pages
            for name in page["/Resources"]["/Font"]
        ]
        assert any("/DescendantFonts" in f or "/FontDescriptor" in f for f in fonts)
        assert b"/FontFile2" in r.content

    r = await client.get(url, params={"format": "docx"})
    assert r.status_code == 200
    assert r.headers["content-type"].startswith("application/vnd.openxmlformats")
    assert zipfile.is_zipfile(io.BytesIO(r.content))
    text = _docx_text(r.content)
    for item in expected:
        assert item in text, item
    document = docx.Document(io.BytesIO(r.content))
    assert document.core_properties.language == "ko"
    if korean_font() is not None:
        assert len(document.inline_shapes) == 1  # the timeline picture


async def test_english_plan_in_every_format(reg: Reg) -> None:
    _app, client = reg
    made = await _flow(client, EN_CONCEPT)
    assert made["classification"]["language"] == "en"
    plan = made["refined"]
    url = f"/api/plans/{plan['id']}/export"
    expected = [
        f"Regulatory plan: {plan['title']}",
        "Rules that fired",
        made["classification"]["rulesFired"][0],
        "Intended purpose",
        "Refinement history",
        made["change"],
        "References",
        "Disclaimer",
        "not regulatory advice",
        _phases(plan)[0]["phase"],
    ]
    md = (await client.get(url, params={"format": "md"})).text.replace("\\", "")
    html = (await client.get(url, params={"format": "html"})).text
    pdf = _pdf_text((await client.get(url, params={"format": "pdf"})).content)
    word = _docx_text((await client.get(url, params={"format": "docx"})).content)
    assert '<html lang="en">' in html
    for item in expected:
        assert item in md, item
        assert item.replace("'", "&#39;") in html or item in html, item
        assert _squash(item) in pdf, item
        assert item in word, item
    assert "인허가" not in md  # nothing Korean leaks into an English document


async def test_session_document_has_every_plan_and_the_recorded_classification(reg: Reg) -> None:
    _app, client = reg
    made = await _flow(client, LUNG, LUNG_CATEGORY)
    url = f"/api/sessions/{made['session_id']}/export"
    md = (await client.get(url, params={"format": "md"})).text.replace("\\", "")
    assert md.startswith("# 인허가 계획서 (세션 전체)")
    for plan in [made["plans"][0], made["refined"], *made["plans"][2:]]:
        assert plan["title"] in md
    assert "ARCHETYPE:SW-CADE-LUNG" in md and KO_CHANGE in md
    for fmt in ("html", "pdf", "docx"):
        r = await client.get(url, params={"format": fmt})
        assert r.status_code == 200, r.text
        assert f'filename="{made["session_id"]}.{fmt}"' in r.headers["content-disposition"]
    text = _pdf_text((await client.get(url, params={"format": "pdf"})).content)
    assert all(_squash(p["title"]) in text for p in made["plans"])

    # A session without plans or records still exports, saying so.
    r = await client.post("/api/sessions", json={"data": {}})
    empty = (
        await client.get(f"/api/sessions/{r.json()['id']}/export", params={"format": "md"})
    ).text
    assert "이 세션에는 계획이 없습니다." in empty and "기록되어 있지 않습니다" in empty


async def test_plan_without_session_says_what_is_not_recorded(reg: Reg) -> None:
    _app, client = reg
    made = await _flow(client, LUNG, LUNG_CATEGORY)
    r = await client.post("/api/plans", json={"plan": made["plans"][0]})
    assert r.status_code == 201
    md = (await client.get(f"/api/plans/{r.json()['id']}/export", params={"format": "md"})).text
    # The plan names its device as classified; the purpose lives only in a session.
    assert "- **MFDS 등급**: II" in md and LUNG_CATEGORY["name"] in md
    assert md.count("이 계획의 세션에 기록되어 있지 않습니다.") == 1
    r = await client.post("/api/plans", json={"plan": _uploaded_plan(2)})
    md = (await client.get(f"/api/plans/{r.json()['id']}/export", params={"format": "md"})).text
    assert md.count("Not recorded in this plan's session.") == 2  # classification, purpose


# --- caching, errors, ownership, limits -----------------------------------------------------
async def test_renders_are_cached_by_plan_version_and_format(reg: Reg) -> None:
    _app, client = reg
    made = await _flow(client, LUNG, LUNG_CATEGORY)
    pid = made["refined"]["id"]
    url = f"/api/plans/{pid}/export"
    first = await client.get(url, params={"format": "pdf"})
    again = await client.get(url, params={"format": "pdf"})
    assert first.headers["cache-status"] == "raidesk; fwd=miss; stored"
    assert again.headers["cache-status"] == "raidesk; hit" and again.content == first.content
    other = await client.get(url, params={"format": "md"})
    assert other.headers["cache-status"] == "raidesk; fwd=miss; stored"

    r = await client.post("/api/refine", json={"planId": pid, "modifications": "비용을 줄여줘"})
    assert r.status_code == 200
    v3 = await client.get(url, params={"format": "md"})
    assert v3.headers["cache-status"] == "raidesk; fwd=miss; stored" and "비용을 줄여줘" in v3.text
    v2 = await client.get(url, params={"format": "md", "version": 2})
    assert v2.headers["cache-status"] == "raidesk; hit" and "비용을 줄여줘" not in v2.text

    # The document shows the session's records: a write to the session is a new render.
    await client.put(f"/api/sessions/{made['session_id']}", json={"data": {"concept": "새 개념"}})
    fresh = await client.get(url, params={"format": "md"})
    assert fresh.headers["cache-status"] == "raidesk; fwd=miss; stored" and "새 개념" in fresh.text

    svg1 = await client.get(f"/api/plans/{pid}/timeline.svg")
    svg2 = await client.get(f"/api/plans/{pid}/timeline.svg")
    assert (svg1.headers["cache-status"], svg2.headers["cache-status"]) == (
        "raidesk; fwd=miss; stored",
        "raidesk; hit",
    )


@pytest.mark.parametrize("fmt", ["xls", "PDF", "", "svg", "md;html"])
async def test_bad_format_is_400_problem(reg: Reg, fmt: str) -> None:
    _app, client = reg
    made = await _flow(client, LUNG, LUNG_CATEGORY)
    for url in (
        f"/api/plans/{made['refined']['id']}/export",
        f"/api/sessions/{made['session_id']}/export",
    ):
        body = assert_problem(
            await client.get(url, params={"format": fmt}), 400, "VALIDATION_ERROR"
        )
        assert any(d["field"].endswith("format") for d in body["details"])
    assert_problem(
        await client.get(f"/api/plans/{made['refined']['id']}/export"), 400, "VALIDATION_ERROR"
    )


async def test_unknown_plan_version_and_session_are_404(reg: Reg) -> None:
    _app, client = reg
    made = await _flow(client, LUNG, LUNG_CATEGORY)
    pid = made["refined"]["id"]
    for url in ("/api/plans/plan_nope/timeline.svg", "/api/plans/plan_nope/timeline.png"):
        assert_problem(await client.get(url), 404, "PLAN_NOT_FOUND")
    assert_problem(
        await client.get("/api/plans/plan_nope/export", params={"format": "md"}),
        404,
        "PLAN_NOT_FOUND",
    )
    body = assert_problem(
        await client.get(f"/api/plans/{pid}/timeline.svg", params={"version": 9}),
        404,
        "PLAN_VERSION_NOT_FOUND",
    )
    assert body["details"]["latest_version"] == 2
    assert_problem(
        await client.get(f"/api/plans/{pid}/export", params={"format": "pdf", "version": 9}),
        404,
        "PLAN_VERSION_NOT_FOUND",
    )
    assert_problem(
        await client.post("/api/plans/compare", json={"planIds": [pid, "plan_nope"]}),
        404,
        "PLAN_NOT_FOUND",
    )
    assert_problem(
        await client.get("/api/sessions/sess_nope/export", params={"format": "md"}),
        404,
        "SESSION_NOT_FOUND",
    )


async def test_other_users_plans_and_sessions_are_404(reg: Reg, login: Login) -> None:
    _app, client = reg
    alice = await login("alice")
    bob = await login("bob")
    r = await client.post("/api/sessions", json={"data": {"concept": LUNG}}, headers=alice)
    sid = r.json()["id"]
    r = await client.post(
        "/api/standards", json={**STANDARDS_BODY, "sessionId": sid}, headers=alice
    )
    assert r.status_code == 200, r.text
    ids = [p["id"] for p in r.json()["plans"]]
    pid = ids[0]
    ok = await client.get(f"/api/plans/{pid}/export", params={"format": "md"}, headers=alice)
    assert ok.status_code == 200
    for headers in (bob, {}):
        for url in (f"/api/plans/{pid}/timeline.svg", f"/api/plans/{pid}/timeline.png"):
            assert_problem(await client.get(url, headers=headers), 404, "PLAN_NOT_FOUND")
        # Even a cached render is not handed to another user.
        assert_problem(
            await client.get(f"/api/plans/{pid}/export", params={"format": "md"}, headers=headers),
            404,
            "PLAN_NOT_FOUND",
        )
        assert_problem(
            await client.post("/api/plans/compare", json={"planIds": ids[:2]}, headers=headers),
            404,
            "PLAN_NOT_FOUND",
        )
        assert_problem(
            await client.get(
                f"/api/sessions/{sid}/export", params={"format": "md"}, headers=headers
            ),
            404,
            "SESSION_NOT_FOUND",
        )


def _uploaded_plan(phases: int, description: str = "d", title: str = "Upload") -> dict[str, Any]:
    timeline = [
        {
            "phase": f"Phase {i}",
            "description": description,
            "duration": "2 weeks",
            "dependencies": [f"Phase {i - 1}"] if i else None,
        }
        for i in range(phases)
    ]
    return {
        "tier": "normal",
        "title": title,
        "description": "uploaded",
        "totalDuration": "x",
        "riskLevel": "low",
        "commonStandards": {"timeline": timeline, "standards": ["ISO 13485"]},
        "performanceEvaluation": {"timeline": []},
    }


async def test_hostile_text_is_escaped_in_svg_html_and_markdown(reg: Reg) -> None:
    _app, client = reg
    title = "<script>alert(1)</script> & \"q\" 'a' \x01 | **bold** # 제목"
    r = await client.post("/api/plans", json={"plan": _uploaded_plan(2, title=title)})
    pid = r.json()["id"]
    r = await client.get(f"/api/plans/{pid}/timeline.svg")
    root = _svg(r.content)  # well-formed despite <, &, quotes and a control character
    assert root.findtext(f"{SVG}title") == title.replace(" \x01", "")
    assert b"<script" not in r.content
    page = (await client.get(f"/api/plans/{pid}/export", params={"format": "html"})).text
    assert "<script" not in page and "&lt;script&gt;alert(1)&lt;/script&gt;" in page
    md = (await client.get(f"/api/plans/{pid}/export", params={"format": "md"})).text
    assert "\\<script\\>" in md and "\\*\\*bold\\*\\*" in md and "\x01" not in md
    for fmt in ("pdf", "docx"):
        assert (
            await client.get(f"/api/plans/{pid}/export", params={"format": fmt})
        ).status_code == 200


async def test_chart_rows_and_plan_size_are_bounded(reg: Reg) -> None:
    _app, client = reg
    r = await client.post("/api/plans", json={"plan": _uploaded_plan(75)})
    pid = r.json()["id"]
    root = _svg((await client.get(f"/api/plans/{pid}/timeline.svg")).content)
    bars = [e for e in root.iter(f"{SVG}rect") if "bar" in (e.get("class") or "").split()]
    assert len(bars) == 60
    assert _svg_texts(root, "more") == ["15 more phases not shown"]
    assert float(root.get("height") or 0) < 60 * 22 + 200

    r = await client.post("/api/plans", json={"plan": _uploaded_plan(150, description="x" * 1900)})
    assert r.status_code == 201, r.text
    big = r.json()["id"]
    for url, params in (
        (f"/api/plans/{big}/timeline.svg", {}),
        (f"/api/plans/{big}/export", {"format": "pdf"}),
    ):
        body = assert_problem(await client.get(url, params=params), 413, "PAYLOAD_TOO_LARGE")
        assert body["details"]["limit"] == 256 * 1024


def test_render_cache_is_bounded_in_bytes() -> None:
    cache = RenderCache(max_bytes=10, max_entry=6)
    cache.put("a", b"1234")
    cache.put("b", b"1234")
    assert cache.get("a") == b"1234"  # a is now the most recently used
    cache.put("c", b"1234")  # 12 bytes > 10: the least recently used (b) goes
    assert cache.get("b") is None and cache.get("a") == b"1234" and cache.size == 8
    cache.put("big", b"1234567")  # over the entry limit: not kept
    assert cache.get("big") is None and len(cache) == 2
    cache.put("a", b"12")
    assert cache.size == 6


def test_committed_examples_are_what_the_command_writes(tmp_path: Path) -> None:
    written = {p.name: p for p in write_examples(tmp_path)}
    committed = Path(__file__).parents[3] / "docs" / "examples"
    for name in ("plans-comparison.svg", "refined-plan-timeline.svg", "refined-plan.md"):
        assert (committed / name).read_bytes() == written[name].read_bytes(), (
            f"docs/examples/{name} is stale: run python -m app.regulatory.exports.examples"
        )
    root = _svg((committed / "plans-comparison.svg").read_bytes())
    assert len([e for e in root.iter(f"{SVG}rect") if e.get("class") == "plan-band"]) == 4
    # PDF bytes depend on the installed font; what the PDF says must not.
    assert _pdf_text((committed / "refined-plan.pdf").read_bytes()) == _pdf_text(
        written["refined-plan.pdf"].read_bytes()
    )
    assert _squash("비용을 줄여줘") in _pdf_text((committed / "refined-plan.pdf").read_bytes())


async def test_renders_run_in_a_worker_thread(reg: Reg, monkeypatch: pytest.MonkeyPatch) -> None:
    _app, client = reg
    threads: list[int] = []

    def render(doc: Any) -> bytes:
        threads.append(threading.get_ident())
        return b"# rendered"

    monkeypatch.setitem(exports_service._RENDERERS, "md", render)
    r = await client.post("/api/plans", json={"plan": _uploaded_plan(3)})
    r = await client.get(f"/api/plans/{r.json()['id']}/export", params={"format": "md"})
    assert r.status_code == 200 and r.content == b"# rendered"
    assert threads and threads[0] != threading.get_ident()  # not the event loop's thread
