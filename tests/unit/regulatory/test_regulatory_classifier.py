"""Classification of device concepts: a table of real products, plus confidence and language."""

from __future__ import annotations

from dataclasses import dataclass

import pytest

from app.regulatory.engine import RulesEngine
from app.regulatory.engine.classifier import assess
from app.regulatory.schemas.analysis import ClassifyRequest

pytestmark = pytest.mark.unit


@dataclass(frozen=True)
class Case:
    concept: str
    device: bool
    mfds: str | None = None
    eu: str | tuple[str, ...] | None = None
    fda_pathway: str | None = None
    iec62304: str | None = None
    imdrf: str | None = None


# fmt: off
CASES: tuple[Case, ...] = (
    # --- standalone software ---
    Case("CT 영상에서 폐결절을 검출하는 AI 소프트웨어", True, "II", ("IIa", "IIb"), "510(k)", "B", "II"),
    Case("AI software that detects lung nodules on chest CT scans", True, "II", "IIa", "510(k)"),
    Case("smartphone app that detects atrial fibrillation from ECG", True, "II", "IIa", "510(k)",
         "B"),
    Case("스마트워치 심전도로 부정맥을 탐지하는 앱", True, "II", "IIa", "510(k)"),
    Case("ICU 환자의 패혈증 발생을 예측하는 소프트웨어", True, "III", "IIb", "De Novo", "C", "III"),
    Case("sepsis prediction software for ICU patients", True, "III", "IIb", "De Novo", "C", "III"),
    Case("유방촬영 영상에서 유방암을 진단하는 AI 소프트웨어", True, "III", "IIb", "510(k)", "C"),
    Case("불면증 치료용 인지행동치료 앱", True, "II", "IIa", "De Novo", "B"),
    Case("app that calculates insulin bolus dose", True, "III", "IIb", "510(k)", "C"),
    Case("app that displays diabetes trend data to clinicians", True, "I", "IIa", None, "A", "I"),
    Case("뇌출혈 CT 영상 검출 AI", True, "III", "IIb", "510(k)", "C", "III"),
    # --- hardware ---
    Case("blood glucose meter for self-testing", True, "III", "C", "510(k)"),
    Case("자가혈당측정기", True, "III"),
    Case("implantable pacemaker", True, "IV", "III", "PMA", "C"),
    Case("이식형 심장박동기", True, "IV", "III", "PMA"),
    Case("coronary stent", True, "IV", "III", "PMA"),
    Case("약물방출 관상동맥 스텐트", True, "IV", "III", "PMA"),
    Case("surgical scalpel reusable", True, "I", "I"),
    Case("disposable hypodermic syringe", True, "II", "IIa", "510(k)"),
    Case("daily wear soft contact lens", True, "II", "IIa", "510(k)"),
    Case("콘택트렌즈", True, "II", "IIa"),
    Case("latex condom", True, "II", "IIb", "510(k)"),
    Case("insulin pump", True, "III", "IIb", "510(k)", "C"),
    Case("인슐린 펌프", True, "III", "IIb"),
    Case("wooden tongue depressor", True, "I", "I"),
    Case("MRI scanner", True, "II", "IIa", "510(k)"),
    Case("hearing aid", True, "II", "IIa"),
    Case("보청기", True, "II", "IIa"),
    Case("dental implant", True, "III", "IIb", "510(k)"),
    Case("치과용 임플란트", True, "III", "IIb"),
    Case("digital blood pressure monitor", True, "II", "IIa", "510(k)"),
    Case("hip replacement implant", True, "IV", "III"),
    Case("ventilator for ICU", True, "III", "IIb"),
    Case("pulse oximeter", True, "II", "IIb"),
    Case("x-ray system", True, "II", "IIb"),
    Case("wound dressing for severe burns", True, "II", "IIb"),
    Case("가정용 저주파 자극기", True, "II", "IIa"),
    # generic hardware rules (no archetype): highest rule wins
    Case("surgical stapler for bowel surgery", True, "II", "IIa"),
    Case("implant in contact with the brain for long-term use", True, "IV", "III", "PMA"),
    # --- not devices ---
    Case("fitness tracker step counter", False),
    Case("걸음 수와 칼로리를 기록하는 피트니스 밴드", False),
    Case("smart insole that counts steps", False),
    Case("hospital appointment booking app", False),
    Case("병원 진료 예약 앱", False),
    Case("meditation app for stress relief", False),
    Case("electronic health record storage system", False),
    Case("telemedicine video call platform", False),
    Case("diet app for weight loss", False),
)
# fmt: on


@pytest.mark.parametrize("case", CASES, ids=[c.concept for c in CASES])
def test_classification_table(case: Case) -> None:
    a = assess(case.concept)
    assert a.is_device is case.device
    if not case.device:
        assert a.mfds is None
        return
    assert a.mfds == case.mfds
    if case.eu is not None:
        allowed = case.eu if isinstance(case.eu, tuple) else (case.eu,)
        assert a.eu_class in allowed
    if case.fda_pathway is not None:
        assert a.fda_pathway == case.fda_pathway
    if case.iec62304 is not None:
        assert a.iec62304 == case.iec62304
    if case.imdrf is not None:
        assert a.imdrf == case.imdrf


def test_table_is_large_and_mixed() -> None:
    assert len(CASES) >= 35
    assert {c.device for c in CASES} == {True, False}
    assert any(any("\uac00" <= ch <= "\ud7a3" for ch in c.concept) for c in CASES)


def test_lung_nodule_response_matches_contract() -> None:
    resp = RulesEngine().classify(
        ClassifyRequest(concept="CT 영상에서 폐결절을 검출하는 AI 소프트웨어")
    )
    c = resp.classification
    assert c.is_medical_device is True
    assert c.risk_class == "II"
    assert c.category
    assert c.language == "ko"
    assert c.jurisdictions["fda"].pathway == "510(k)"
    assert c.jurisdictions["eu"].device_class in ("IIa", "IIb")
    assert c.jurisdictions["iec62304"].device_class == "B"
    assert "ARCHETYPE:SW-CADE-LUNG" in c.rules_fired
    assert "폐결절" in c.reasoning and "2등급" in c.reasoning
    assert resp.suggested_categories[0].code == "SW-CADE-LUNG"
    assert all(s.regulatory_path for s in resp.suggested_categories)


def test_non_device_has_no_class_and_explains_why() -> None:
    resp = RulesEngine().classify(ClassifyRequest(concept="hospital appointment booking app"))
    c = resp.classification
    assert c.is_medical_device is False
    assert c.risk_class is None
    assert c.jurisdictions == {}
    assert "not a medical device" in c.reasoning
    assert "520(o)" in c.reasoning


def test_disease_claim_overrides_wellness_wording() -> None:
    wellness = assess("fitness band that counts steps")
    claim = assess("fitness band that detects atrial fibrillation and alerts the patient")
    assert wellness.is_device is False
    assert claim.is_device is True


def test_highest_hardware_rule_wins_and_is_reported() -> None:
    a = assess("implant in contact with the brain for long-term use")
    assert any("Rule 8" in r and "III" in r for r in a.rules_fired)
    assert any(r.startswith("WINNER Rule 8") for r in a.rules_fired)
    assert "Annex VIII §3.5" in " ".join(a.reasons)


def test_critical_situation_escalates_a_software_archetype() -> None:
    plain = assess("AI software that detects lesions on CT images")
    critical = assess("AI software that detects intracranial hemorrhage on emergency CT images")
    assert plain.imdrf == "II"
    assert critical.imdrf == "III"
    assert critical.mfds == "III"


@pytest.mark.parametrize(
    ("rich", "thin"),
    [
        ("CT 영상에서 폐결절을 검출하는 AI 소프트웨어", "AI 소프트웨어"),
        ("software that predicts sepsis in ICU patients from vital signs", "predicts disease"),
        ("implantable pacemaker for bradycardia patients", "pacemaker"),
    ],
)
def test_confidence_drops_when_signals_are_thin(rich: str, thin: str) -> None:
    assert assess(rich).confidence > assess(thin).confidence


def test_missing_situation_is_assumed_and_lowers_confidence() -> None:
    without = assess("software that predicts disease progression")
    with_situation = assess("software that predicts sepsis in ICU patients")
    assert without.situation == "serious"
    assert "assumed" in " ".join(without.reasons)
    assert with_situation.confidence > without.confidence


@pytest.mark.parametrize(
    ("concept", "lang", "marker"),
    [
        ("심전도로 부정맥을 탐지하는 앱", "ko", "품목"),
        ("app that detects arrhythmia from ECG", "en", "device type"),
        ("걸음 수를 세는 피트니스 앱", "ko", "의료기기가 아닙니다"),
    ],
)
def test_reasoning_follows_input_language(concept: str, lang: str, marker: str) -> None:
    c = RulesEngine().classify(ClassifyRequest(concept=concept)).classification
    assert c.language == lang
    assert marker in c.reasoning


def test_context_feeds_classification() -> None:
    engine = RulesEngine()
    bare = engine.classify(ClassifyRequest(concept="software for clinicians"))
    with_context = engine.classify(
        ClassifyRequest(
            concept="software for clinicians",
            context={"intendedUse": "predicts sepsis in ICU patients"},
        )
    )
    assert bare.classification.is_medical_device is False
    assert with_context.classification.is_medical_device is True
    assert with_context.classification.risk_class == "III"


def test_device_category_is_never_empty() -> None:
    engine = RulesEngine()
    for case in CASES:
        c = engine.classify(ClassifyRequest(concept=case.concept)).classification
        if c.is_medical_device:
            assert c.category.strip()
            assert c.risk_class in ("I", "II", "III", "IV")
        assert 0.0 <= c.confidence <= 1.0
        assert c.reasoning


def test_classification_is_deterministic() -> None:
    engine = RulesEngine()
    req = ClassifyRequest(concept="AI software that detects lung nodules on chest CT")
    assert engine.classify(req).to_api() == engine.classify(req).to_api()
