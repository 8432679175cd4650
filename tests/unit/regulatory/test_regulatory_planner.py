"""Four plans per device: tiers and devices must really differ."""

from __future__ import annotations

import itertools

import pytest

from app.regulatory.engine import NotAMedicalDeviceError, RulesEngine, UnusableCategoryError
from app.regulatory.engine.timeline import parse_weeks, total_weeks
from app.regulatory.schemas.analysis import ClassifyRequest, Plan, StandardsRequest

pytestmark = pytest.mark.unit

ENGINE = RulesEngine()


def _plans(concept: str, **overrides: object) -> list[Plan]:
    resp = ENGINE.classify(ClassifyRequest(concept=concept))
    body: dict[str, object] = {
        "classification": resp.classification.to_api(),
        "category": resp.suggested_categories[0].to_api(),
        "purposeMechanism": concept,
        **overrides,
    }
    counter = itertools.count(1)
    return ENGINE.standards(
        StandardsRequest.model_validate(body), id_factory=lambda: f"plan_{next(counter)}"
    )


def _weeks(plan: Plan) -> int:
    weeks = parse_weeks(plan.total_duration.split("(")[-1])
    assert weeks is not None
    return weeks


def _all_text(plan: Plan) -> str:
    return plan.model_dump_json()


CADE = "CT 영상에서 폐결절을 검출하는 AI 소프트웨어"


def test_four_tiers_in_order_with_ids_from_the_factory() -> None:
    plans = _plans(CADE)
    assert [p.tier for p in plans] == ["fastest", "normal", "conservative", "innovative"]
    assert [p.id for p in plans] == ["plan_1", "plan_2", "plan_3", "plan_4"]
    assert all(p.version == 1 for p in plans)


def test_default_ids_are_random_and_not_derived_from_input() -> None:
    resp = ENGINE.classify(ClassifyRequest(concept=CADE))
    req = StandardsRequest(
        classification=resp.classification.to_api(), category=resp.suggested_categories[0]
    )
    ids = [p.id for p in ENGINE.standards(req)] + [p.id for p in ENGINE.standards(req)]
    assert len(set(ids)) == 8
    assert all(i.startswith("plan_") and len(i) >= 16 for i in ids)


def test_durations_differ_by_tier_and_fastest_is_shortest() -> None:
    fastest, normal, conservative, innovative = (_weeks(p) for p in _plans(CADE))
    assert fastest < normal < conservative
    assert innovative < conservative
    assert len({fastest, normal, conservative, innovative}) == 4


def test_timelines_differ_between_tiers() -> None:
    plans = _plans(CADE)
    shapes = {
        tuple((i.phase, i.duration) for i in p.performance_evaluation.timeline) for p in plans
    }
    assert len(shapes) == 4
    conservative = _all_text(plans[2])
    innovative = _all_text(plans[3])
    assert "ISO 14155" in conservative and "EU" in conservative
    assert "Breakthrough" in innovative and "PCCP" in innovative


def test_total_duration_is_the_critical_path_of_the_timeline() -> None:
    for plan in _plans("coronary stent"):
        expected = total_weeks(plan.common_standards.timeline, plan.performance_evaluation.timeline)
        assert _weeks(plan) == expected


def test_korean_fastest_plan_targets_mfds_and_english_targets_510k() -> None:
    ko = _plans(CADE)[0]
    en = _plans("AI software that detects lung nodules on chest CT scans")[0]
    assert "MFDS 2등급" in ko.title
    assert "510(k)" in en.title and "predicate" in en.title


def test_software_plan_has_software_standards_hardware_plan_has_hardware_ones() -> None:
    sw = _plans(CADE)[1]
    hw = _plans("implantable pacemaker")[1]
    sw_std = " ".join(sw.common_standards.standards)
    hw_std = " ".join(hw.common_standards.standards)
    assert "IEC 62304" in sw_std and "IEC 82304-1" in sw_std and "GMLP" in sw_std
    assert "IEC 60601-1" not in sw_std and "ISO 10993-1" not in sw_std
    assert "IEC 60601-1" in hw_std and "ISO 10993-1" in hw_std and "ISO 14155" in hw_std
    assert "ISO 14708" in hw_std
    passive = " ".join(_plans("wooden tongue depressor")[1].common_standards.standards)
    assert "ISO 10993-1" in passive and "IEC 60601-1" not in passive and "IEC 62304" not in passive


def test_high_class_device_plans_need_longer_clinical_work() -> None:
    stent = _plans("coronary stent")
    depressor = _plans("wooden tongue depressor")
    for a, b in zip(stent, depressor, strict=True):
        assert _weeks(a) > _weeks(b)
    assert "IDE" in _all_text(stent[1])
    assert "IDE" not in _all_text(depressor[1])


def test_costs_and_risk_levels_vary() -> None:
    plans = _plans(CADE)
    assert len({p.estimated_cost for p in plans}) == 4
    assert plans[2].risk_level == "low"
    assert plans[0].risk_level == "high"


def test_plans_are_in_english_for_english_input() -> None:
    plan = _plans("implantable pacemaker")[0]
    text = plan.title + plan.description + plan.total_duration
    assert not any("\uac00" <= ch <= "\ud7a3" for ch in text)
    assert plan.total_duration.endswith("weeks)")


def test_not_a_device_gets_the_non_device_route() -> None:
    plans = _plans("fitness tracker step counter")
    assert [p.tier for p in plans] == ["fastest", "normal", "conservative", "innovative"]
    assert {p.route for p in plans} == {"non-device"}
    assert all(p.device is not None and not p.device.is_medical_device for p in plans)
    text = _all_text(plans[1])
    assert "MFDS" in text and "KC" in text


def test_non_device_with_a_device_category_is_refused() -> None:
    req = StandardsRequest.model_validate(
        {
            "classification": {"isMedicalDevice": False},
            "category": {"code": "HW-PACEMAKER", "name": "pacemaker"},
        }
    )
    with pytest.raises(NotAMedicalDeviceError):
        ENGINE.standards(req)


@pytest.mark.parametrize(
    "category",
    [
        {"code": "", "name": "", "description": "", "regulatoryPath": ""},
        {"code": "ND-WELLNESS", "name": "wellness", "description": "", "regulatoryPath": ""},
    ],
)
def test_invalid_category_is_refused(category: dict[str, str]) -> None:
    req = StandardsRequest.model_validate(
        {"classification": {"isMedicalDevice": True, "riskClass": "II"}, "category": category}
    )
    with pytest.raises(UnusableCategoryError):
        ENGINE.standards(req)


def test_unknown_category_still_plans_from_the_client_class() -> None:
    req = StandardsRequest.model_validate(
        {
            "classification": {"isMedicalDevice": True, "riskClass": "III", "software": True},
            "category": {"code": "CUSTOM-1", "name": "Widget", "description": ""},
        }
    )
    plans = ENGINE.standards(req, id_factory=lambda: "plan_x")
    assert len(plans) == 4
    assert "IEC 62304" in " ".join(plans[1].common_standards.standards)


def test_session_id_is_carried() -> None:
    plans = _plans(CADE, sessionId="sess_42")
    assert {p.session_id for p in plans} == {"sess_42"}


PIPELINE = (
    "CT 영상에서 폐결절을 검출하는 AI 소프트웨어",
    "sepsis prediction software for ICU patients",
    "불면증 치료용 인지행동치료 앱",
    "자가혈당측정기",
    "implantable pacemaker",
    "관상동맥 스텐트",
    "surgical scalpel reusable",
    "wooden tongue depressor",
    "insulin pump",
    "콘택트렌즈",
    "MRI scanner",
    "surgical stapler for bowel surgery",
)


@pytest.mark.parametrize("concept", PIPELINE)
def test_every_device_gets_four_distinct_consistent_plans(concept: str) -> None:
    plans = _plans(concept)
    weeks = [_weeks(p) for p in plans]
    assert weeks[0] < weeks[1] < weeks[2]
    assert len(set(weeks)) == 4
    for plan in plans:
        assert plan.common_standards.timeline and plan.performance_evaluation.timeline
        assert plan.common_standards.standards[0].startswith("ISO 13485")
        assert plan.performance_evaluation.tests and plan.recommendations
        expected = total_weeks(plan.common_standards.timeline, plan.performance_evaluation.timeline)
        assert _weeks(plan) == expected
        names = {i.phase for i in plan.common_standards.timeline}
        names |= {i.phase for i in plan.performance_evaluation.timeline}
        for item in [*plan.common_standards.timeline, *plan.performance_evaluation.timeline]:
            assert set(item.dependencies or []) <= names
    assert len({p.model_dump_json(exclude={"id"}) for p in plans}) == 4
