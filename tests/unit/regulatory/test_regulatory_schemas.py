"""Schemas of the regulatory contract: camelCase out, camelCase or snake_case in, limits."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from app.regulatory.schemas.analysis import (
    Classification,
    ClassifyRequest,
    Plan,
    PurposeRequest,
    RefineRequest,
    StandardsRequest,
    SuggestedCategory,
)

pytestmark = pytest.mark.unit

CATEGORY = {
    "code": "SW-CADE-LUNG",
    "name": "의료영상 검출보조 소프트웨어",
    "description": "폐결절 후보 표시",
    "regulatoryPath": "MFDS 2등급",
}


def test_classification_serialises_camel_case() -> None:
    c = Classification(
        is_medical_device=True, reasoning="r", confidence=0.5, category="c", risk_class="II"
    )
    out = c.to_api()
    assert out["isMedicalDevice"] is True
    assert out["riskClass"] == "II"
    assert out["rulesFired"] == []
    assert "is_medical_device" not in out
    assert "isMedicalDevice" in c.model_dump_json()


@pytest.mark.parametrize("spelling", ["regulatoryPath", "regulatory_path"])
def test_category_accepts_both_spellings(spelling: str) -> None:
    cat = SuggestedCategory.model_validate({"code": "X", "name": "n", spelling: "path"})
    assert cat.regulatory_path == "path"


def test_standards_request_accepts_snake_case() -> None:
    req = StandardsRequest.model_validate(
        {
            "classification": {"is_medical_device": True, "risk_class": "2등급", "category": "x"},
            "category": {**CATEGORY, "regulatory_path": "p"},
            "purpose_mechanism": {"mechanismOfAction": "deep learning"},
            "session_id": "sess_1",
        }
    )
    assert req.classification.risk_class == "II"
    assert req.session_id == "sess_1"


def test_standards_request_accepts_partial_camel_classification() -> None:
    req = StandardsRequest.model_validate(
        {"classification": {"isMedicalDevice": True}, "category": CATEGORY, "sessionId": "s"}
    )
    assert req.classification.risk_class is None
    assert req.session_id == "s"


@pytest.mark.parametrize(
    ("raw", "expected"), [(2, "II"), ("3등급", "III"), ("Class IV", "IV"), ("i", "I")]
)
def test_risk_class_is_normalised(raw: object, expected: str) -> None:
    c = Classification(is_medical_device=True, reasoning="r", confidence=1, risk_class=raw)
    assert c.risk_class == expected


def test_unknown_risk_class_is_rejected() -> None:
    with pytest.raises(ValidationError):
        Classification(is_medical_device=True, reasoning="r", confidence=1, risk_class="V")


@pytest.mark.parametrize("concept", ["", "   ", "x" * 2001])
def test_concept_must_be_non_blank_and_bounded(concept: str) -> None:
    with pytest.raises(ValidationError):
        ClassifyRequest(concept=concept)


def test_concept_is_stripped_and_2000_chars_allowed() -> None:
    assert ClassifyRequest(concept="  폐결절  ").concept == "폐결절"
    assert len(ClassifyRequest(concept="가" * 2000).concept) == 2000


def test_refine_modifications_bounded() -> None:
    with pytest.raises(ValidationError):
        RefineRequest(plan_id="plan_1", modifications="m" * 2001)
    req = RefineRequest.model_validate({"planId": "plan_1", "modifications": "x", "context": {}})
    assert req.plan_id == "plan_1"


@pytest.mark.parametrize("category", [CATEGORY, "의료영상 검출보조 소프트웨어"])
def test_purpose_request_accepts_object_or_name(category: object) -> None:
    req = PurposeRequest.model_validate({"concept": "네", "category": category})
    assert req.category_object().name == "의료영상 검출보조 소프트웨어"


def test_plan_rejects_unknown_tier() -> None:
    with pytest.raises(ValidationError):
        Plan.model_validate(
            {
                "id": "p",
                "tier": "cheapest",
                "title": "t",
                "description": "d",
                "totalDuration": "1",
                "riskLevel": "low",
                "commonStandards": {},
                "performanceEvaluation": {},
            }
        )


def test_json_schema_has_examples_for_swagger() -> None:
    for model in (ClassifyRequest, PurposeRequest, StandardsRequest, RefineRequest):
        assert model.model_json_schema().get("examples"), model.__name__
