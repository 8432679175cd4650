"""Model output normalisation: the spellings models use become what the schemas accept."""

from __future__ import annotations

import json
from typing import Any

import pytest

from app.regulatory.ai import normalise
from app.regulatory.ai.normalise import OutputError

pytestmark = pytest.mark.unit


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("2등급", "II"),
        ("제2등급", "II"),
        ("class 2", "II"),
        ("Class II", "II"),
        ("CLASS-3", "III"),
        ("Ⅳ", "IV"),
        (1, "I"),
        ("II", "II"),
        ("null", None),
        ("IIa", "IIa"),  # an EU class is not an MFDS class: left for validation to refuse
    ],
)
def test_risk_class_spellings(raw: Any, expected: Any) -> None:
    assert normalise.to_risk_class(raw) == expected


@pytest.mark.parametrize(
    ("raw", "expected"),
    [("true", True), ("예", True), ("FALSE", False), ("아니오", False), (1, True), (0, False)],
)
def test_booleans_as_strings(raw: Any, expected: bool) -> None:
    assert normalise.to_bool(raw) is expected


@pytest.mark.parametrize(
    ("raw", "expected"), [("0.9", 0.9), ("90%", 0.9), (85, 0.85), (1.7, 0.017), (-1, 0.0)]
)
def test_confidence(raw: Any, expected: float) -> None:
    assert normalise.to_confidence(raw) == pytest.approx(expected)


def test_extract_json_tolerates_fences_and_prose() -> None:
    assert normalise.extract_json('```json\n{"a": 1}\n```') == {"a": 1}
    assert normalise.extract_json('Here you go: {"a": [1, 2]} hope it helps') == {"a": [1, 2]}
    with pytest.raises(OutputError):
        normalise.extract_json("no json here")
    with pytest.raises(OutputError):
        normalise.extract_json('{"a": ')


def test_classify_answer_is_normalised() -> None:
    raw = {
        "classification": {
            "isMedicalDevice": "true",
            "reasoning": "폐결절 검출 보조",
            "confidence": "90%",
            "category": "의료영상 검출보조 소프트웨어",
            "riskClass": "2등급",
        },
        "suggestedCategories": ["CADe"],
    }
    result = normalise.parse_classify(raw)
    assert result.classification.is_medical_device is True
    assert result.classification.risk_class == "II"
    assert result.classification.confidence == pytest.approx(0.9)
    assert result.suggested_categories[0].name == "CADe"


def test_classify_without_wrapper_object_is_accepted() -> None:
    raw = {"isMedicalDevice": False, "reasoning": "fitness tracker", "confidence": 0.8}
    result = normalise.parse_classify(raw)
    assert result.classification.is_medical_device is False
    assert result.classification.risk_class is None


@pytest.mark.parametrize(
    "classification",
    [
        {
            "isMedicalDevice": True,
            "reasoning": "x",
            "confidence": 0.9,
            "category": "",
            "riskClass": "II",
        },
        {
            "isMedicalDevice": True,
            "reasoning": "x",
            "confidence": 0.9,
            "category": "c",
            "riskClass": "IIb",
        },
        {"isMedicalDevice": "maybe", "reasoning": "x", "confidence": 0.9},
        {
            "isMedicalDevice": True,
            "reasoning": "",
            "confidence": 0.9,
            "category": "c",
            "riskClass": "I",
        },
    ],
)
def test_classify_rejects_what_the_contract_forbids(classification: dict[str, Any]) -> None:
    with pytest.raises(OutputError):
        normalise.parse_classify({"classification": classification})


def test_purpose_strings_and_lists() -> None:
    result = normalise.parse_purpose(
        {
            "intended_use": "판독 보조",
            "mechanismOfAction": "딥러닝",
            "targetPopulation": ["성인", "흉부 CT 수검자"],
            "clinicalBenefit": 3,
            "contraindications": "- 소아\n- 최종 진단 불가",
        }
    )
    assert result.target_population == "성인, 흉부 CT 수검자"
    assert result.clinical_benefit == "3"
    assert result.contraindications == ["소아", "최종 진단 불가"]
    with pytest.raises(OutputError):
        normalise.parse_purpose({"intendedUse": "", "mechanismOfAction": "m"})


def _plan(tier: str, **extra: Any) -> dict[str, Any]:
    return {
        "id": "model-chosen-id",
        "tier": tier,
        "title": f"{tier} plan",
        "description": "d",
        "totalDuration": 12,
        "riskLevel": "Medium",
        "commonStandards": {
            "timeline": [
                {"phase": "QMS", "description": "d", "duration": 8, "deliverables": "매뉴얼"}
            ],
            "standards": "ISO 13485; ISO 14971",
            "documentation": [],
        },
        "performanceEvaluation": {"timeline": [], "tests": ["민감도"], "documentation": None},
        "pros": [],
        "cons": [],
        "recommendations": [],
        **extra,
    }


def test_standards_need_one_plan_per_tier_and_drop_model_ids() -> None:
    raw = {"plans": [_plan("Innovative"), _plan("신속"), _plan("normal"), _plan("보수적")]}
    plans = normalise.parse_standards(raw)
    assert [p.tier for p in plans] == ["fastest", "normal", "conservative", "innovative"]
    assert all(p.id != "model-chosen-id" for p in plans)
    first = plans[0]
    assert first.total_duration == "12"
    assert first.risk_level == "medium"
    assert first.common_standards.standards == ["ISO 13485", "ISO 14971"]
    assert first.common_standards.timeline[0].deliverables == ["매뉴얼"]
    with pytest.raises(OutputError, match="one plan per tier"):
        normalise.parse_standards({"plans": [_plan("fastest")] * 4})
    with pytest.raises(OutputError):
        normalise.parse_standards({"plans": "four plans"})


def test_refine_keeps_the_stored_id_and_tier() -> None:
    original = normalise.parse_standards(
        {"plans": [_plan(t) for t in ("fastest", "normal", "conservative", "innovative")]}
    )[1]
    refined, changes = normalise.parse_refine(
        {"plan": _plan("fastest", id="evil"), "appliedChanges": "기간 단축"}, original=original
    )
    assert refined.id == original.id
    assert refined.tier == "normal"
    assert changes == ["기간 단축"]
    with pytest.raises(OutputError):
        normalise.parse_refine({"appliedChanges": []}, original=original)


def test_outputs_round_trip_as_json() -> None:
    result = normalise.parse_purpose(
        {
            "intendedUse": "u",
            "mechanismOfAction": "m",
            "targetPopulation": "t",
            "clinicalBenefit": "b",
        }
    )
    assert json.loads(json.dumps(result.to_api()))["contraindications"] == []
