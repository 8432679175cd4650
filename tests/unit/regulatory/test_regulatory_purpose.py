"""Intended purpose: from the category alone when the concept says nothing."""

from __future__ import annotations

import pytest

from app.regulatory.engine import InvalidCategoryError, RulesEngine
from app.regulatory.schemas.analysis import ClassifyRequest, PurposeRequest, SuggestedCategory

pytestmark = pytest.mark.unit

ENGINE = RulesEngine()


def _category(concept: str) -> SuggestedCategory:
    return ENGINE.classify(ClassifyRequest(concept=concept)).suggested_categories[0]


def test_uninformative_concept_answers_from_the_category() -> None:
    cat = _category("CT 영상에서 폐결절을 검출하는 AI 소프트웨어")
    resp = ENGINE.purpose(PurposeRequest(concept="네", category=cat))
    assert cat.name in resp.intended_use
    assert "“네”" not in resp.intended_use
    assert "영상" in resp.mechanism_of_action
    assert resp.target_population and resp.clinical_benefit
    assert resp.contraindications
    assert all("\uac00" <= ch <= "\ud7a3" for ch in resp.clinical_benefit if ch.isalpha())


def test_category_given_as_a_plain_name_works() -> None:
    resp = ENGINE.purpose(PurposeRequest(concept="ok", category="Insulin infusion pump"))
    assert resp.intended_use.startswith("Insulin infusion pump")
    assert "powered device" in resp.mechanism_of_action


def test_informative_concept_is_kept_in_intended_use() -> None:
    cat = _category("smartphone app that detects atrial fibrillation from ECG")
    resp = ENGINE.purpose(
        PurposeRequest(concept="Watch app that flags atrial fibrillation", category=cat)
    )
    assert "Watch app that flags atrial fibrillation" in resp.intended_use
    assert "ECG" in resp.mechanism_of_action
    assert "pacemaker" in " ".join(resp.contraindications)


def test_purpose_differs_by_device_family() -> None:
    implant = ENGINE.purpose(PurposeRequest(concept="yes", category=_category("coronary stent")))
    software = ENGINE.purpose(
        PurposeRequest(concept="yes", category=_category("AI that detects lung nodules on CT"))
    )
    assert implant.mechanism_of_action != software.mechanism_of_action
    # class IV: off-label use beyond clinical data is contraindicated
    assert any("clinical data" in c for c in implant.contraindications)


@pytest.mark.parametrize(("concept", "marker"), [("네", "사용"), ("yes", "Not for")])
def test_language_follows_the_concept(concept: str, marker: str) -> None:
    cat = SuggestedCategory(code="SW-CADE-LUNG", name="Lung CADe")
    resp = ENGINE.purpose(PurposeRequest(concept=concept, category=cat))
    assert marker in " ".join([resp.intended_use, *resp.contraindications])


def test_blank_category_with_uninformative_concept_is_rejected() -> None:
    with pytest.raises(InvalidCategoryError):
        ENGINE.purpose(PurposeRequest(concept="네", category=""))
