"""Refine really changes the plan and says what it changed."""

from __future__ import annotations

import pytest

from app.regulatory.engine import RulesEngine
from app.regulatory.engine.refine import detect_intents
from app.regulatory.engine.timeline import parse_weeks, total_weeks
from app.regulatory.schemas.analysis import ClassifyRequest, Plan, StandardsRequest

pytestmark = pytest.mark.unit

ENGINE = RulesEngine()


def _plan(concept: str, tier: int = 1) -> Plan:
    resp = ENGINE.classify(ClassifyRequest(concept=concept))
    req = StandardsRequest(
        classification=resp.classification.to_api(), category=resp.suggested_categories[0]
    )
    return ENGINE.standards(req, id_factory=lambda: "plan_fixed")[tier]


def _weeks(plan: Plan) -> int:
    weeks = parse_weeks(plan.total_duration.split("(")[-1])
    assert weeks is not None
    return weeks


def _clinical_weeks(plan: Plan) -> list[int]:
    return [
        parse_weeks(i.duration) or 0
        for i in plan.performance_evaluation.timeline
        if ("임상" in i.phase or "clinical" in i.phase.lower())
        and "승인" not in i.phase
        and "approval" not in i.phase.lower()
    ]


@pytest.mark.parametrize(
    ("concept", "modification"),
    [
        ("CT 영상에서 폐결절을 검출하는 AI 소프트웨어", "임상시험 기간을 줄여줘"),
        ("coronary stent", "shorten the clinical trial"),
    ],
)
def test_shortening_clinical_phase_reduces_total(concept: str, modification: str) -> None:
    plan = _plan(concept)
    refined, changes = ENGINE.refine(plan, modification)
    assert refined.id == plan.id == "plan_fixed"
    assert sum(_clinical_weeks(refined)) < sum(_clinical_weeks(plan))
    assert _weeks(refined) < _weeks(plan)
    assert _weeks(refined) == total_weeks(
        refined.common_standards.timeline, refined.performance_evaluation.timeline
    )
    assert changes and any("→" in c for c in changes)
    # the original plan object is untouched
    assert _weeks(plan) > _weeks(refined)


@pytest.mark.parametrize("modification", ["add cybersecurity testing", "사이버보안 시험 추가"])
def test_adding_cybersecurity_adds_iec_81001_5_1(modification: str) -> None:
    plan = _plan("coronary stent")
    assert "81001-5-1" not in plan.model_dump_json()
    refined, changes = ENGINE.refine(plan, modification)
    assert any("81001-5-1" in s for s in refined.common_standards.standards)
    tests = " ".join(refined.performance_evaluation.tests).lower()
    assert "penetration" in tests
    assert any("SBOM" in d for d in refined.common_standards.documentation)
    phases = [i.phase for i in refined.performance_evaluation.timeline]
    assert len(phases) == len(plan.performance_evaluation.timeline) + 1
    assert refined.id == plan.id
    assert changes


def test_cybersecurity_is_not_duplicated_on_a_software_plan() -> None:
    plan = _plan("CT 영상에서 폐결절을 검출하는 AI 소프트웨어")
    refined, _ = ENGINE.refine(plan, "사이버보안 강화")
    assert sum("81001-5-1" in s for s in refined.common_standards.standards) == 1
    assert len(refined.common_standards.timeline) == len(plan.common_standards.timeline)


def test_reduce_cost_lowers_the_estimate() -> None:
    plan = _plan("coronary stent")
    refined, changes = ENGINE.refine(plan, "reduce cost")
    assert refined.estimated_cost != plan.estimated_cost
    assert any("Estimated cost" in c for c in changes)

    ko_plan = _plan("관상동맥 스텐트")
    ko_refined, _ = ENGINE.refine(ko_plan, "비용 절감")
    before = float(ko_plan.estimated_cost.split("억")[0].split()[-1])  # type: ignore[union-attr]
    after = float(ko_refined.estimated_cost.split("억")[0].split()[-1])  # type: ignore[union-attr]
    assert after < before


def test_add_eu_adds_a_notified_body_phase_and_extends_the_plan() -> None:
    plan = _plan("AI software that detects lung nodules on chest CT scans", tier=0)
    refined, _ = ENGINE.refine(plan, "also add EU CE marking")
    assert any("Notified Body" in i.phase for i in refined.common_standards.timeline)
    assert any("CER" in d for d in refined.common_standards.documentation)
    assert _weeks(refined) > _weeks(plan)


def test_remove_market_drops_its_review_phase() -> None:
    plan = _plan("coronary stent", tier=2)
    refined, _ = ENGINE.refine(plan, "remove the EU submission")
    assert not any("Notified Body" in i.phase for i in refined.common_standards.timeline)
    assert _weeks(refined) <= _weeks(plan)


def test_add_usability_and_explicit_standard() -> None:
    plan = _plan("coronary stent")
    refined, changes = ENGINE.refine(plan, "strengthen usability and add ISO 11607-1")
    assert any("15" in t for t in refined.performance_evaluation.tests)
    assert "ISO 11607-1" in refined.common_standards.standards
    assert any("ISO 11607-1" in c for c in changes)


def test_unknown_request_is_recorded_not_ignored() -> None:
    plan = _plan("coronary stent")
    refined, changes = ENGINE.refine(plan, "please make the logo purple")
    assert refined.recommendations[-1].endswith("please make the logo purple")
    assert changes == [
        "No rule applies this request automatically; it was recorded as a recommendation."
    ]
    assert refined.total_duration == plan.total_duration


def test_refine_answers_in_the_modification_language() -> None:
    plan = _plan("coronary stent")
    _, changes = ENGINE.refine(plan, "임상시험 기간을 줄여줘")
    assert any("주" in c for c in changes)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("임상시험 기간을 줄여줘", ["shorten_clinical"]),
        ("add more clinical evidence", ["add_clinical"]),
        ("전체 일정을 단축해줘", ["shorten_overall"]),
        ("reduce cost and add FDA", ["reduce_cost", "add_fda"]),
        ("PCCP 추가", ["add_pccp"]),
        ("EU 제외", ["remove_market"]),
    ],
)
def test_intent_detection(text: str, expected: list[str]) -> None:
    assert detect_intents(text) == expected


def test_refine_twice_keeps_shrinking_clinical_and_stays_consistent() -> None:
    plan = _plan("coronary stent")
    once, _ = ENGINE.refine(plan, "shorten the clinical trial")
    twice, _ = ENGINE.refine(once, "shorten the clinical trial")
    assert _weeks(twice) < _weeks(once) < _weeks(plan)
