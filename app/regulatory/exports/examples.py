"""Write the committed examples in docs/examples/ from the rules engine (no server, no network).

    .venv/bin/python -m app.regulatory.exports.examples [--out docs/examples]

A Korean lung-nodule CADe device: four plans, the normal one refined twice; then a 4-plan
comparison SVG, the refined plan's timeline SVG and its document as PDF and Markdown. Ids and
timestamps are fixed, so the same code and font give the same files.
"""

from __future__ import annotations

import argparse
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

from app.regulatory.engine.rules_engine import RulesEngine
from app.regulatory.exports.chart import comparison_scene, timeline_scene
from app.regulatory.exports.documents import PlanVersion, build_document, render_markdown
from app.regulatory.exports.pdf import render_pdf
from app.regulatory.exports.svg import render_svg
from app.regulatory.schemas.analysis import ClassifyRequest, Plan, PurposeRequest, StandardsRequest

CONCEPT = "흉부 CT 영상에서 폐결절을 검출하는 AI 소프트웨어"
CATEGORY = {
    "code": "SW-CADE-LUNG",
    "name": "의료영상 검출보조 소프트웨어 (폐결절 CADe)",
    "description": "CT 영상에서 폐결절 후보를 표시해 판독을 보조",
    "regulatoryPath": "MFDS 2등급 기술문서 심사",
}
REFINEMENTS = ("임상시험 기간을 줄여줘", "비용을 줄여줘")
STARTED_AT = datetime(2026, 1, 15, 9, 0, tzinfo=UTC)


def _ids() -> Iterator[str]:
    for tier in ("fastest", "normal", "conservative", "innovative"):
        yield f"plan_example_{tier}"


def write_examples(out: Path) -> list[Path]:
    """Make the example files in `out`; the paths written."""
    engine = RulesEngine()
    classification = engine.classify(ClassifyRequest(concept=CONCEPT)).classification
    purpose = engine.purpose(
        PurposeRequest.model_validate({"concept": CONCEPT, "category": CATEGORY})
    )
    ids = _ids()
    plans = engine.standards(
        StandardsRequest.model_validate(
            {
                "classification": classification.to_api(),
                "category": CATEGORY,
                "purposeMechanism": purpose.mechanism_of_action,
            }
        ),
        id_factory=lambda: next(ids),
    )
    normal = plans[1]
    history = [PlanVersion(1, STARTED_AT, None, [])]
    refined: Plan = normal
    for step, text in enumerate(REFINEMENTS, start=2):
        refined, changes = engine.refine(refined, text)
        refined = refined.model_copy(update={"version": step})
        history.append(PlanVersion(step, STARTED_AT + timedelta(days=step), text, changes))
    latest = [plans[0], refined, *plans[2:]]
    session = {
        "concept": CONCEPT,
        "classification": classification.to_api(),
        "category": CATEGORY,
        "purpose": purpose.to_api(),
    }
    doc = build_document(
        plans=[(refined, history)],
        session_data=session,
        subject=f"{refined.id} · v{refined.version}",
        session=False,
    )
    out.mkdir(parents=True, exist_ok=True)
    files = {
        "plans-comparison.svg": render_svg(comparison_scene(latest)).encode(),
        "refined-plan-timeline.svg": render_svg(timeline_scene(refined)).encode(),
        "refined-plan.pdf": render_pdf(doc),
        "refined-plan.md": render_markdown(doc),
    }
    written = []
    for name, body in files.items():
        path = out / name
        path.write_bytes(body)
        written.append(path)
    return written


def main(argv: list[str] | None = None) -> int:
    """Command line: write the examples and list them."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--out", type=Path, default=Path("docs/examples"))
    args = parser.parse_args(argv)
    for path in write_examples(args.out):
        print(path)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
