"""The classification sent to /api/standards decides the device; the category is a hint."""

from __future__ import annotations

from typing import Any

import pytest

from app.regulatory.engine import RulesEngine
from app.regulatory.engine.errors import NotAMedicalDeviceError, UnusableCategoryError
from app.regulatory.schemas.analysis import ClassifyRequest, Plan, StandardsRequest

pytestmark = pytest.mark.unit

ENGINE = RulesEngine()
# The real frontend's constant category object: only the name varies.
PLACEHOLDER = {"code": "A41010.01", "description": "의료기기 품목", "regulatoryPath": "인허가 필요"}
# What /api/purpose answers for a monitor: words ("소프트웨어", "측정") that once pulled the
# plan towards image-analysis software.
NOISY_PURPOSE = {
    "intendedUse": "의료영상 소프트웨어로 병변을 검출",
    "mechanismOfAction": "센서가 생리 신호를 측정하고 내장 소프트웨어가 영상으로 표시합니다.",
}


def _classification(concept: str) -> dict[str, Any]:
    return ENGINE.classify(ClassifyRequest(concept=concept)).classification.to_api()


def _plans(body: dict[str, Any]) -> list[Plan]:
    return ENGINE.standards(StandardsRequest.model_validate(body), id_factory=lambda: "plan_t")


def _frontend_body(concept: str, purpose: Any = NOISY_PURPOSE) -> dict[str, Any]:
    cls = _classification(concept)
    return {
        "classification": cls,
        "category": {**PLACEHOLDER, "name": cls["category"]},
        "purposeMechanism": purpose,
    }


@pytest.mark.parametrize(
    ("concept", "code"),
    [
        ("digital blood pressure monitor", "HW-BP-MONITOR"),
        ("가정용 전자 혈압계", "HW-BP-MONITOR"),
        ("체온계", "HW-THERMOMETER"),
        ("insulin pump", "HW-INSULIN-PUMP"),
        ("인슐린 펌프", "HW-INSULIN-PUMP"),
        ("implantable pacemaker", "HW-PACEMAKER"),
    ],
)
def test_placeholder_category_plans_for_the_classified_device(concept: str, code: str) -> None:
    body = _frontend_body(concept)
    plans = _plans(body)
    for plan in plans:
        assert plan.device is not None
        assert plan.device.code == code
        assert plan.device.name == body["classification"]["category"]
        assert plan.device.risk_class == body["classification"]["riskClass"]
        assert plan.route == "device" and plan.classification_source == "given"
        assert body["classification"]["category"] in plan.description


def test_category_name_alone_decides_when_there_is_no_rule_trail() -> None:
    cls = {
        "isMedicalDevice": True,
        "riskClass": "II",
        "category": "Automated blood pressure monitor",
    }
    plans = _plans({"classification": cls, "category": {**PLACEHOLDER, "name": "x"}})
    assert plans[0].device is not None and plans[0].device.code == "HW-BP-MONITOR"
    assert plans[0].classification_source == "given"


def test_the_client_class_wins_over_the_archetype_class() -> None:
    body = _frontend_body("digital blood pressure monitor")
    body["classification"]["riskClass"] = "III"
    plans = _plans(body)
    assert plans[0].device is not None and plans[0].device.risk_class == "III"


def test_generic_device_is_planned_from_its_class_and_rule_trail() -> None:
    body = _frontend_body("implant in contact with the brain for long-term use")
    plans = _plans(body)
    assert plans[0].device is not None and plans[0].device.risk_class == "IV"
    text = plans[1].model_dump_json()
    assert "10993" in text  # Rule 8 fired: body contact, implant tests


@pytest.mark.parametrize(
    "classification",
    [
        None,
        {"riskClass": "II", "category": "Automated blood pressure monitor"},  # no device flag
        {  # trail and name name different devices
            "isMedicalDevice": True,
            "riskClass": "II",
            "category": "Automated blood pressure monitor",
            "rulesFired": ["ARCHETYPE:HW-PACEMAKER"],
        },
        {  # a device that says it is not one
            "isMedicalDevice": True,
            "riskClass": "II",
            "category": "Not a medical device — general wellness / fitness product",
            "categoryCode": "ND-WELLNESS",
        },
    ],
)
def test_missing_or_contradicting_classification_is_redone_and_said(
    classification: dict[str, Any] | None,
) -> None:
    body: dict[str, Any] = {
        "category": {**PLACEHOLDER, "name": "wrist blood pressure monitor"},
        "purposeMechanism": "measures blood pressure at home",
    }
    if classification is not None:
        body["classification"] = classification
    plans = _plans(body)
    assert {p.classification_source for p in plans} == {"reclassified"}
    assert plans[0].classification_reason and "again" in plans[0].classification_reason
    assert plans[0].device is not None and plans[0].device.code == "HW-BP-MONITOR"


def test_non_device_gets_non_device_plans_naming_it() -> None:
    body = _frontend_body("걸음 수와 칼로리를 기록하는 피트니스 앱")
    plans = _plans(body)
    assert {p.route for p in plans} == {"non-device"}
    normal = plans[1].model_dump_json()
    assert "의료기기 해당 여부 질의" in normal and "개인정보" in normal
    conservative = plans[2].model_dump_json()
    assert "General Wellness" in conservative and "MDR" in conservative
    assert all(p.device is not None and p.device.risk_class is None for p in plans)


def test_wearable_non_device_gets_kc_and_radio_steps() -> None:
    cls = _classification("smart insole that counts steps with bluetooth")
    assert cls["isMedicalDevice"] is False
    body = {
        "classification": cls,
        "category": {**PLACEHOLDER, "name": cls["category"]},
        "purposeMechanism": {"intendedUse": "smart insole that counts steps with bluetooth"},
    }
    text = _plans(body)[1].model_dump_json()
    assert "KC" in text and "Radio" in text


def test_non_device_classification_with_one_of_our_device_categories_is_refused() -> None:
    body = {
        "classification": {"isMedicalDevice": False},
        "category": {"code": "SW-CADE-LUNG", "name": "Lung CADe"},
    }
    with pytest.raises(NotAMedicalDeviceError):
        _plans(body)


def test_device_classification_with_a_non_device_category_is_refused() -> None:
    body = {
        "classification": {"isMedicalDevice": True, "riskClass": "II"},
        "category": {"code": "ND-WELLNESS", "name": "wellness"},
    }
    with pytest.raises(UnusableCategoryError):
        _plans(body)


@pytest.mark.parametrize("concept", ["명상 앱", "meditation app for stress relief"])
def test_a_wellness_app_gets_privacy_not_electrical_safety(concept: str) -> None:
    plans = _plans(_frontend_body(concept, purpose=None))
    normal = plans[1]
    phases = [i.phase for i in normal.common_standards.timeline]
    phases += [i.phase for i in normal.performance_evaluation.timeline]
    assert any("개인정보" in p or "Privacy" in p for p in phases), phases
    assert not any("KC" in p for p in phases), phases
