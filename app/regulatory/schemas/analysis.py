"""Pydantic models of the regulatory endpoints' frontend contract (docs/frontend-contract.md).

Input accepts camelCase or snake_case; output is serialised by alias (camelCase).
"""

from __future__ import annotations

import re
import unicodedata
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, StringConstraints, field_validator
from pydantic.alias_generators import to_camel

RiskClass = Literal["I", "II", "III", "IV"]
Language = Literal["ko", "en"]
Tier = Literal["fastest", "normal", "conservative", "innovative"]
RiskLevel = Literal["low", "medium", "high"]

MAX_TEXT = 2000

# Free text that must carry content: stripped first so "   " is rejected as blank.
RequiredText = Annotated[
    str, StringConstraints(strip_whitespace=True, min_length=1, max_length=MAX_TEXT)
]
ShortText = Annotated[str, StringConstraints(strip_whitespace=True, max_length=MAX_TEXT)]
ListText = Annotated[str, StringConstraints(max_length=MAX_TEXT)]


class CamelModel(BaseModel):
    """Base: camelCase aliases on output, either spelling accepted on input."""

    model_config = ConfigDict(
        alias_generator=to_camel,
        populate_by_name=True,
        serialize_by_alias=True,
        str_max_length=20_000,
    )

    def to_api(self) -> dict[str, Any]:
        """Dump as the frontend expects it: camelCase, JSON-compatible."""
        return self.model_dump(mode="json", by_alias=True)


class ClassifyRequest(CamelModel):
    """A free-text device concept to classify."""

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {"concept": "CT 영상에서 폐결절을 검출하는 AI 소프트웨어", "context": None}
            ]
        }
    )

    concept: RequiredText
    context: dict[str, Any] | ShortText | None = None


class JurisdictionDetail(CamelModel):
    """One jurisdiction's (or framework's) first-pass result."""

    framework: str
    device_class: str | None = None
    rule: str | None = None
    pathway: str | None = None
    source: str | None = None


class Classification(CamelModel):
    """Result of the first-pass medical-device classification."""

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "isMedicalDevice": True,
                    "reasoning": "의료 목적(검출·진단 보조)이 확인되어 의료기기에 해당합니다. ...",
                    "confidence": 0.9,
                    "category": "의료영상 검출보조 소프트웨어 (CADe)",
                    "riskClass": "II",
                    "language": "ko",
                    "rulesFired": ["ARCHETYPE:SW-CADE-LUNG", "IMDRF N12 §7.2 (drive × serious)"],
                }
            ]
        }
    )

    is_medical_device: bool
    reasoning: str = Field(min_length=1)
    confidence: float = Field(ge=0.0, le=1.0)
    category: str = ""
    risk_class: RiskClass | None = None
    jurisdictions: dict[str, JurisdictionDetail] = Field(default_factory=dict)
    rules_fired: list[str] = Field(default_factory=list)
    language: Language = "ko"
    software: bool | None = None
    ai: bool | None = None
    # The device type the engine matched (archetype code, SW-SAMD/HW-GENERIC, or ND-* for
    # non-devices): lets /api/standards plan for exactly this device when it is echoed back.
    category_code: str | None = None

    @field_validator("risk_class", mode="before")
    @classmethod
    def _normalise_risk_class(cls, value: object) -> object:
        """Accept the spellings models and people use: 2, "2등급", "class ii"."""
        return normalise_risk_class(value) if value is not None else None


class SuggestedCategory(CamelModel):
    """A device category the user can pick."""

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "code": "SW-CADE-LUNG",
                    "name": "의료영상 검출보조 소프트웨어 (폐결절 CADe)",
                    "description": "CT 영상에서 폐결절 후보를 표시해 판독을 보조",
                    "regulatoryPath": "MFDS 2등급 기술문서 심사 · FDA 510(k) · EU MDR IIa",
                }
            ]
        }
    )

    code: ShortText = ""
    name: ShortText = ""
    description: ShortText = ""
    regulatory_path: ShortText = ""


class ClassifyResponse(CamelModel):
    """Body of POST /api/classify."""

    classification: Classification
    suggested_categories: list[SuggestedCategory] = Field(default_factory=list)


class PurposeRequest(CamelModel):
    """Concept (possibly uninformative, e.g. "네") plus the chosen category."""

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "concept": "네",
                    "category": {
                        "code": "SW-CADE-LUNG",
                        "name": "의료영상 검출보조 소프트웨어 (폐결절 CADe)",
                        "description": "CT 영상에서 폐결절 후보를 표시해 판독을 보조",
                        "regulatoryPath": "MFDS 2등급 기술문서 심사",
                    },
                }
            ]
        }
    )

    concept: RequiredText
    category: SuggestedCategory | ShortText
    language: Language | None = None

    def category_object(self) -> SuggestedCategory:
        """The category as an object, whichever shape the client sent."""
        if isinstance(self.category, SuggestedCategory):
            return self.category
        return SuggestedCategory(name=self.category)


class PurposeResponse(CamelModel):
    """Body of POST /api/purpose."""

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "intendedUse": "흉부 CT 영상에서 폐결절 후보 위치를 표시하여 판독을 보조",
                    "mechanismOfAction": "딥러닝 모델이 CT 영상을 분석해 후보 영역과 점수를 산출",
                    "targetPopulation": "흉부 CT 검사를 받는 성인",
                    "clinicalBenefit": "작은 결절의 놓침 감소, 판독 시간 단축",
                    "contraindications": ["최종 진단은 의료인이 내려야 함"],
                }
            ]
        }
    )

    intended_use: str
    mechanism_of_action: str
    target_population: str
    clinical_benefit: str
    contraindications: list[str] = Field(default_factory=list)


class ClassificationInput(CamelModel):
    """A classification as echoed back by the client: authoritative for planning when it is
    complete and consistent; every field is optional so a partial echo is still read."""

    is_medical_device: bool | None = None
    # Echoed from our own output, which may exceed the 2000-char limit of user text.
    reasoning: str = ""
    confidence: float | None = Field(default=None, ge=0.0, le=1.0)
    category: ShortText = ""
    risk_class: RiskClass | None = None
    software: bool | None = None
    ai: bool | None = None
    language: Language | None = None
    category_code: ShortText | None = None
    rules_fired: list[ShortText] = Field(default_factory=list, max_length=100)

    @field_validator("risk_class", mode="before")
    @classmethod
    def _normalise_risk_class(cls, value: object) -> object:
        """Accept 2, "2등급", "Class II" as well as "II"."""
        return normalise_risk_class(value) if value is not None else None


class StandardsRequest(CamelModel):
    """Body of POST /api/standards."""

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "classification": {
                        "isMedicalDevice": True,
                        "riskClass": "II",
                        "category": "의료영상 검출보조 소프트웨어 (폐결절 CADe)",
                    },
                    "category": {
                        "code": "SW-CADE-LUNG",
                        "name": "의료영상 검출보조 소프트웨어 (폐결절 CADe)",
                        "description": "CT 영상에서 폐결절 후보를 표시해 판독을 보조",
                        "regulatoryPath": "MFDS 2등급 기술문서 심사 · FDA 510(k)",
                    },
                    "purposeMechanism": "딥러닝 기반 폐결절 검출 보조",
                }
            ]
        }
    )

    # Authoritative when present and consistent; missing → classified again from the rest.
    classification: ClassificationInput | None = None
    category: SuggestedCategory
    purpose_mechanism: dict[str, Any] | ShortText | None = None
    session_id: Annotated[str, StringConstraints(max_length=200)] | None = None
    language: Language | None = None


Route = Literal["device", "non-device"]
ClassificationSource = Literal["given", "reclassified"]


class PlanDevice(CamelModel):
    """The device a plan was made for (named as the classification named it)."""

    code: ListText = ""
    name: ListText = ""
    is_medical_device: bool = True
    risk_class: RiskClass | None = None


class TimelineItem(CamelModel):
    """One phase of a plan's timeline."""

    phase: ListText
    description: ListText
    duration: ListText
    dependencies: list[ListText] | None = None
    deliverables: list[ListText] = Field(default_factory=list)


class PlanSection(CamelModel):
    """commonStandards: timeline, standards and documents every submission needs."""

    timeline: list[TimelineItem] = Field(default_factory=list)
    standards: list[ListText] = Field(default_factory=list)
    documentation: list[ListText] = Field(default_factory=list)


class PerformanceSection(CamelModel):
    """performanceEvaluation: timeline, tests and their reports."""

    timeline: list[TimelineItem] = Field(default_factory=list)
    tests: list[ListText] = Field(default_factory=list)
    documentation: list[ListText] = Field(default_factory=list)


class Plan(CamelModel):
    """One regulatory plan (one of four tiers)."""

    id: Annotated[str, StringConstraints(min_length=1, max_length=200)]
    tier: Tier
    title: ListText
    description: ListText
    total_duration: ListText
    estimated_cost: ListText | None = None
    risk_level: RiskLevel
    common_standards: PlanSection
    performance_evaluation: PerformanceSection
    pros: list[ListText] = Field(default_factory=list)
    cons: list[ListText] = Field(default_factory=list)
    recommendations: list[ListText] = Field(default_factory=list)
    version: int | None = Field(default=None, ge=1)
    session_id: str | None = None
    language: Language | None = None
    pathways: list[ListText] = Field(default_factory=list)
    device: PlanDevice | None = None
    route: Route | None = None
    classification_source: ClassificationSource | None = None
    classification_reason: ListText | None = None


class StandardsResponse(CamelModel):
    """Body of POST /api/standards."""

    plans: list[Plan]
    route: Route | None = None
    device: PlanDevice | None = None
    classification_source: ClassificationSource | None = None
    classification_reason: str | None = None


class RefineRequest(CamelModel):
    """Body of POST /api/refine."""

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "planId": "plan_AbC123xyz",
                    "modifications": "임상시험 기간을 줄여줘",
                    "context": {},
                }
            ]
        }
    )

    plan_id: Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=200)]
    modifications: RequiredText
    context: dict[str, Any] | None = None


class RefineResponse(CamelModel):
    """Body of POST /api/refine."""

    plan: Plan
    applied_changes: list[str] = Field(default_factory=list)
    changed: bool = True
    understood: list[str] = Field(default_factory=list)
    reasons: list[str] = Field(default_factory=list)


_ROMAN = {
    "1": "I",
    "2": "II",
    "3": "III",
    "4": "IV",
    "I": "I",
    "II": "II",
    "III": "III",
    "IV": "IV",
}
# Words around a class in free text ("Class II", "제2등급", "MFDS grade 2"); NFKC turns "Ⅱ" into "II".
_CLASS_NOISE = re.compile(r"CLASS|GRADE|MFDS|KOREA|등급|제|[\s\-_.:()]")


def normalise_risk_class(value: object) -> object:
    """Map 2 / "2등급" / "Class II" / "제2등급" / "Ⅱ" to "II"; "" / "none" to None; else unchanged."""
    if isinstance(value, bool) or value is None:
        return value
    if isinstance(value, int):
        return _ROMAN.get(str(value), value)
    if not isinstance(value, str):
        return value
    text = _CLASS_NOISE.sub("", unicodedata.normalize("NFKC", value).upper())
    if text in ("", "NULL", "NONE", "N/A", "NA"):
        return None
    return _ROMAN.get(text, value)
