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


@pytest.mark.parametrize(
    ("text", "marker"),
    [("please make the logo purple", "nothing was changed"), ("로고를 보라색으로", "바꾸지 않았")],
)
def test_unknown_request_changes_nothing_and_says_why(text: str, marker: str) -> None:
    plan = _plan("coronary stent")
    refined, changes = ENGINE.refine(plan, text)
    assert refined == plan
    assert len(changes) == 1 and marker in changes[0]
    assert ENGINE.understood(plan, text) == []


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


# One Korean and one English phrasing set per intent: the same coverage in both languages.
# (intent, concept, tier, Korean requests, English requests)
INTENT_CASES: list[tuple[str, str, int, tuple[str, ...], tuple[str, ...]]] = [
    (
        "shorten_clinical",
        "coronary stent",
        1,
        ("임상시험 기간을 줄여줘", "임상 기간 단축"),
        ("shorten the clinical trial", "reduce the clinical study duration"),
    ),
    (
        "add_clinical",
        "coronary stent",
        1,
        ("임상 근거를 보강해줘", "전향적 임상시험 추가"),
        ("add more clinical evidence", "strengthen the clinical data"),
    ),
    (
        "shorten_overall",
        "coronary stent",
        1,
        ("전체 일정을 단축해줘", "더 빨리 끝내고 싶어"),
        ("shorten the overall timeline", "make it faster"),
    ),
    (
        "reduce_cost",
        "coronary stent",
        1,
        ("비용을 줄여줘", "예산 절감"),
        ("reduce cost", "lower the budget"),
    ),
    (
        "add_cyber",
        "coronary stent",
        1,
        ("사이버보안 추가", "보안 강화"),
        ("add cybersecurity testing", "include penetration testing"),
    ),
    (
        "add_usability",
        "coronary stent",
        1,
        ("사용적합성 강화", "사용성 평가 추가"),
        ("strengthen usability", "add human factors testing"),
    ),
    (
        "remove_market",
        "coronary stent",
        2,
        ("EU 제외", "유럽 진출 삭제"),
        ("remove the EU submission", "without Europe"),
    ),
    (
        "add_eu",
        "coronary stent",
        1,
        ("유럽 CE 인증 추가", "EU 진출도 포함해줘"),
        ("also add EU CE marking", "include Europe"),
    ),
    (
        "add_fda",
        "관상동맥 스텐트",
        0,
        ("미국 FDA 추가", "미국 시장 진출 포함"),
        ("add FDA", "include the US market"),
    ),
    (
        "add_mfds",
        "coronary stent",
        0,
        ("식약처 인허가 추가", "한국 시장 포함"),
        ("add MFDS", "include Korea"),
    ),
    (
        "add_pccp",
        "AI software that detects lung nodules on chest CT scans",
        1,
        ("PCCP 추가", "사전 변경관리계획 포함"),
        ("add a PCCP", "include a predetermined change control plan"),
    ),
]


@pytest.mark.parametrize(
    ("intent", "concept", "tier", "text"),
    [
        (intent, concept, tier, text)
        for intent, concept, tier, ko, en in INTENT_CASES
        for text in (*ko, *en)
    ],
)
def test_every_intent_works_in_both_languages(
    intent: str, concept: str, tier: int, text: str
) -> None:
    assert detect_intents(text) == [intent]
    plan = _plan(concept, tier)
    refined, changes = ENGINE.refine(plan, text)
    assert refined != plan, changes
    assert changes
    assert len(ENGINE.understood(plan, text)) == 1


def test_intent_table_has_both_languages_for_every_intent() -> None:
    from app.regulatory.engine.refine import INTENTS

    assert {case[0] for case in INTENT_CASES} == {i.key for i in INTENTS}
    for _, _, _, ko, en in INTENT_CASES:
        assert len(ko) == len(en) >= 2


@pytest.mark.parametrize("text", ["사이버보안 추가", "add cybersecurity"])
def test_an_intent_already_satisfied_changes_nothing(text: str) -> None:
    plan = _plan("CT 영상에서 폐결절을 검출하는 AI 소프트웨어")
    once, _ = ENGINE.refine(plan, text)
    twice, changes = ENGINE.refine(once, text)
    assert twice == once
    assert changes  # the reason: it is already there


@pytest.mark.parametrize("text", ["EU 추가", "add the FDA review", "임상 근거 추가"])
def test_device_only_intents_do_not_apply_to_non_device_plans(text: str) -> None:
    resp = ENGINE.classify(ClassifyRequest(concept="fitness tracker step counter"))
    req = StandardsRequest(
        classification=resp.classification.to_api(), category=resp.suggested_categories[0]
    )
    plan = ENGINE.standards(req, id_factory=lambda: "plan_fixed")[1]
    assert plan.route == "non-device"
    refined, changes = ENGINE.refine(plan, text)
    assert refined == plan
    assert changes and ("non-device" in changes[0] or "비의료기기" in changes[0])
