"""Intended purpose: from the category alone when the concept says nothing."""

from __future__ import annotations

import pytest

from app.regulatory.engine import RulesEngine, UnusableCategoryError
from app.regulatory.engine import archetype_data as ad
from app.regulatory.engine.resolve import assess_named_category
from app.regulatory.engine.rules_data import Archetype
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


@pytest.mark.parametrize(
    ("concept", "name", "marker"),
    [
        ("네", "Lung CADe", "Not for"),
        ("yes", "Lung CADe", "Not for"),
        ("ok", "폐결절 CADe", "사용"),
    ],
)
def test_language_follows_the_category_not_the_reply(concept: str, name: str, marker: str) -> None:
    cat = SuggestedCategory(code="SW-CADE-LUNG", name=name)
    resp = ENGINE.purpose(PurposeRequest(concept=concept, category=cat))
    assert marker in " ".join([resp.intended_use, *resp.contraindications])


def test_blank_category_with_uninformative_concept_is_rejected() -> None:
    with pytest.raises(UnusableCategoryError):
        ENGINE.purpose(PurposeRequest(concept="네", category=""))


CONFIRMATIONS = (
    "진행",
    "진행해줘",
    "진행해 주세요",
    "맞아",
    "맞아요!",
    "네 진행해주세요",
    "네, 진행해 주세요~",
    "좋아요 ㅎㅎ",
    "계속 진행할게요",
    "다음 단계로 진행해주세요",
    "ㅇㅋ",
    "넵!!",
    "그걸로 해주세요",
    "Yes, proceed",
    "go ahead",
    "ok",
    "OK.",
    "sounds good",
    "Sounds good, thanks!",
    "yes please, go ahead 👍",
    "That's right.",
    "Let's go",
    "Proceed with the plan",
    "yep",
    "Looks good to me",
    "sure, continue",
)


@pytest.mark.parametrize("reply", CONFIRMATIONS)
@pytest.mark.parametrize(
    ("category", "lang"),
    [("자동전자혈압계", "ko"), ("Automated blood pressure monitor", "en")],
)
def test_confirmation_is_never_quoted_and_the_category_answers(
    reply: str, category: str, lang: str
) -> None:
    resp = ENGINE.purpose(PurposeRequest(concept=reply, category=category))
    body = resp.model_dump_json()
    assert reply.lower() not in body.lower()
    assert "“" not in resp.intended_use  # no quoted product summary at all
    assert resp.intended_use.startswith(category)
    hangul = any("\uac00" <= ch <= "\ud7a3" for ch in resp.mechanism_of_action)
    assert hangul is (lang == "ko")
    assert "cuff" in resp.intended_use or "커프" in resp.intended_use


@pytest.mark.parametrize(
    ("concept", "kept"),
    [
        (
            "네, 손목형 혈압계이고 블루투스로 앱에 기록해요",
            "손목형 혈압계이고 블루투스로 앱에 기록해요",
        ),
        ("Yes. It is a wrist cuff monitor for home use", "It is a wrist cuff monitor for home use"),
    ],
)
def test_a_real_description_is_still_used_without_its_confirmation(concept: str, kept: str) -> None:
    resp = ENGINE.purpose(PurposeRequest(concept=concept, category="자동전자혈압계"))
    assert kept in resp.intended_use
    assert "네," not in resp.intended_use and "Yes." not in resp.intended_use


def test_non_device_category_gets_a_non_device_purpose() -> None:
    resp = ENGINE.purpose(
        PurposeRequest(
            concept="진행",
            category="Not a medical device — general wellness / fitness product",
        )
    )
    assert "not a medical device" in resp.intended_use.lower()
    assert "disease" in " ".join(resp.contraindications)


@pytest.mark.parametrize("arch", ad.ALL_ARCHETYPES, ids=[a.code for a in ad.ALL_ARCHETYPES])
def test_english_names_are_as_specific_as_korean_ones(arch: Archetype) -> None:
    ko = assess_named_category(code="", name=arch.name.ko, description="", described="", lang="ko")
    en = assess_named_category(code="", name=arch.name.en, description="", described="", lang="en")
    assert ko.code == en.code == arch.code
    ko_resp = ENGINE.purpose(PurposeRequest(concept="진행", category=arch.name.ko))
    en_resp = ENGINE.purpose(PurposeRequest(concept="go ahead", category=arch.name.en))
    assert len(ko_resp.contraindications) == len(en_resp.contraindications)
    assert arch.description.en in en_resp.intended_use
    assert arch.description.ko in ko_resp.intended_use
