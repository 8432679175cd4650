"""Turn what models actually write into what the schemas accept, then validate.

Models write "2등급", "Class 2", "true" (a string), "90%", a string where a list belongs, or
wrap the JSON in a Markdown fence. Everything here is a pure function: easy to test.
"""

from __future__ import annotations

import json
import re
from typing import Any

from pydantic import ValidationError

from app.regulatory.schemas.analysis import (
    ClassifyResponse,
    Plan,
    PurposeResponse,
    normalise_risk_class,
)

TIERS = ("fastest", "normal", "conservative", "innovative")

_TRUE = {"true", "yes", "y", "1", "예", "네", "맞음", "해당", "해당됨", "참", "o"}
_FALSE = {"false", "no", "n", "0", "아니오", "아니요", "아님", "해당없음", "비해당", "거짓", "x"}
_TIER_WORDS = {
    "fastest": ("fast", "quick", "빠른", "신속", "최단"),
    "normal": ("normal", "standard", "balanced", "표준", "일반", "보통"),
    "conservative": ("conservative", "safe", "보수", "안전"),
    "innovative": ("innovative", "innovation", "breakthrough", "혁신"),
}
_RISK_WORDS = {
    "low": ("low", "낮", "하"),
    "medium": ("medium", "moderate", "mid", "중간", "보통", "중"),
    "high": ("high", "높", "상"),
}
_FENCE = re.compile(r"^```[a-zA-Z]*\s*|\s*```$")


class OutputError(ValueError):
    """The model's text is not an acceptable answer; the message is fed back for a repair."""


def extract_json(text: str) -> Any:
    """The JSON value in the model's text (tolerating a Markdown fence or prose around it)."""
    stripped = _FENCE.sub("", text.strip())
    try:
        return json.loads(stripped)
    except json.JSONDecodeError:
        start, end = stripped.find("{"), stripped.rfind("}")
        if start == -1 or end <= start:
            raise OutputError("the answer is not a JSON object") from None
        try:
            return json.loads(stripped[start : end + 1])
        except json.JSONDecodeError as exc:
            raise OutputError(f"the answer is not valid JSON: {exc.msg} at {exc.pos}") from None


def to_bool(value: Any) -> Any:
    """ "true"/"예"/1 → True, "false"/"아니오"/0 → False; anything else unchanged."""
    if isinstance(value, bool):
        return value
    if isinstance(value, int | float) and value in (0, 1):
        return bool(value)
    if isinstance(value, str):
        word = value.strip().lower()
        if word in _TRUE:
            return True
        if word in _FALSE:
            return False
    return value


def to_confidence(value: Any) -> Any:
    """ "0.9", "90%", 90 → 0.9 (clamped to 0..1); anything else unchanged."""
    number: float | None = None
    if isinstance(value, bool):
        return value
    if isinstance(value, int | float):
        number = float(value)
    elif isinstance(value, str):
        text = value.strip().rstrip("%").strip()
        try:
            number = float(text)
        except ValueError:
            return value
        if value.strip().endswith("%"):
            number /= 100
    if number is None:
        return value
    if 1 < number <= 100:
        number /= 100
    return min(1.0, max(0.0, number))


def to_risk_class(value: Any) -> Any:
    """2, "2등급", "Class II", "제2등급", "Ⅱ" → "II"; anything else unchanged (validation says no)."""
    return normalise_risk_class(value)


def to_text(value: Any) -> Any:
    """None → "", numbers → str, a list of strings → one line; other values unchanged."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return value
    if isinstance(value, int | float):
        return str(value)
    if isinstance(value, list) and all(isinstance(v, str | int | float) for v in value):
        return ", ".join(str(v) for v in value)
    return value


def to_text_list(value: Any) -> Any:
    """A string becomes a list of its lines / items; None → []; items become strings."""
    if value is None:
        return []
    if isinstance(value, str):
        parts = re.split(r"\n+|;\s*", value)
        return [p.strip().lstrip("-•*").strip() for p in parts if p.strip().lstrip("-•*").strip()]
    if isinstance(value, list):
        return [to_text(v) if not isinstance(v, str) else v for v in value]
    return value


def _by_words(value: Any, table: dict[str, tuple[str, ...]]) -> Any:
    if not isinstance(value, str):
        return value
    word = value.strip().lower()
    if word in table:
        return word
    for name, hints in table.items():
        if any(h in word for h in hints):
            return name
    return value


def to_tier(value: Any) -> Any:
    """ "Fastest", "신속" → "fastest"; anything else unchanged."""
    return _by_words(value, _TIER_WORDS)


def to_risk_level(value: Any) -> Any:
    """ "Medium", "중간" → "medium"; anything else unchanged."""
    return _by_words(value, _RISK_WORDS)


def _pick(obj: dict[str, Any], *names: str) -> Any:
    for name in names:
        if name in obj:
            return obj[name]
    return None


def _validation_message(exc: ValidationError) -> str:
    parts = []
    for err in exc.errors()[:8]:
        loc = ".".join(str(p) for p in err["loc"])
        parts.append(f"{loc}: {err['msg']}")
    return "; ".join(parts)


def _object(raw: Any, what: str) -> dict[str, Any]:
    if not isinstance(raw, dict):
        raise OutputError(f"{what} must be a JSON object")
    return raw


# --- classify ----------------------------------------------------------------------------
def parse_classify(raw: Any) -> ClassifyResponse:
    """Normalise and validate a classification answer."""
    doc = _object(raw, "the answer")
    cls = doc.get("classification")
    if cls is None and ("isMedicalDevice" in doc or "is_medical_device" in doc):
        cls = doc  # the model skipped the wrapper object
    cls = dict(_object(cls, "classification"))
    device = to_bool(_pick(cls, "isMedicalDevice", "is_medical_device"))
    fixed: dict[str, Any] = {
        "isMedicalDevice": device,
        "reasoning": to_text(_pick(cls, "reasoning", "reason", "rationale")),
        "confidence": to_confidence(_pick(cls, "confidence")),
        "category": to_text(_pick(cls, "category")),
        "riskClass": to_risk_class(_pick(cls, "riskClass", "risk_class", "class")),
    }
    if fixed["confidence"] is None:
        fixed["confidence"] = 0.5
    if device is False:
        fixed["riskClass"] = None
    suggestions = doc.get("suggestedCategories", doc.get("suggested_categories")) or []
    if not isinstance(suggestions, list):
        suggestions = [suggestions]
    fixed_suggestions = []
    for item in suggestions:
        if isinstance(item, str):
            item = {"name": item}
        if isinstance(item, dict):
            fixed_suggestions.append(
                {
                    "code": to_text(item.get("code")),
                    "name": to_text(item.get("name")),
                    "description": to_text(item.get("description")),
                    "regulatoryPath": to_text(
                        _pick(item, "regulatoryPath", "regulatory_path", "pathway")
                    ),
                }
            )
    try:
        result = ClassifyResponse.model_validate(
            {"classification": fixed, "suggestedCategories": fixed_suggestions}
        )
    except ValidationError as exc:
        raise OutputError(_validation_message(exc)) from None
    c = result.classification
    if c.is_medical_device and not c.category.strip():
        raise OutputError("classification.category must be non-empty for a medical device")
    if c.is_medical_device and c.risk_class is None:
        raise OutputError('classification.riskClass must be one of "I", "II", "III", "IV"')
    return result


# --- purpose -----------------------------------------------------------------------------
def parse_purpose(raw: Any) -> PurposeResponse:
    """Normalise and validate an intended-purpose answer."""
    doc = _object(raw, "the answer")
    fixed = {
        "intendedUse": to_text(_pick(doc, "intendedUse", "intended_use")),
        "mechanismOfAction": to_text(_pick(doc, "mechanismOfAction", "mechanism_of_action")),
        "targetPopulation": to_text(_pick(doc, "targetPopulation", "target_population")),
        "clinicalBenefit": to_text(_pick(doc, "clinicalBenefit", "clinical_benefit")),
        "contraindications": to_text_list(doc.get("contraindications")),
    }
    for key in ("intendedUse", "mechanismOfAction", "targetPopulation", "clinicalBenefit"):
        if isinstance(fixed[key], str) and not fixed[key].strip():
            raise OutputError(f"{key} must be a non-empty string")
    try:
        return PurposeResponse.model_validate(fixed)
    except ValidationError as exc:
        raise OutputError(_validation_message(exc)) from None


# --- plans ---------------------------------------------------------------------------------
def _timeline(items: Any) -> Any:
    if not isinstance(items, list):
        return [] if items is None else items
    out = []
    for item in items:
        if not isinstance(item, dict):
            out.append(item)
            continue
        fixed = {
            "phase": to_text(item.get("phase")),
            "description": to_text(item.get("description")),
            "duration": to_text(item.get("duration")),
            "deliverables": to_text_list(item.get("deliverables")),
        }
        if item.get("dependencies") is not None:
            fixed["dependencies"] = to_text_list(item.get("dependencies"))
        out.append(fixed)
    return out


def _section(raw: Any, list_key: str) -> Any:
    if not isinstance(raw, dict):
        return {"timeline": [], list_key: [], "documentation": []} if raw is None else raw
    return {
        "timeline": _timeline(raw.get("timeline")),
        list_key: to_text_list(raw.get(list_key)),
        "documentation": to_text_list(raw.get("documentation")),
    }


def normalise_plan(raw: Any, *, plan_id: str) -> dict[str, Any]:
    """A plan object with normalised values and the server's id (the model's id is dropped)."""
    doc = _object(raw, "a plan")
    cost = _pick(doc, "estimatedCost", "estimated_cost")
    return {
        "id": plan_id,
        "tier": to_tier(doc.get("tier")),
        "title": to_text(doc.get("title")),
        "description": to_text(doc.get("description")),
        "totalDuration": to_text(_pick(doc, "totalDuration", "total_duration")),
        "estimatedCost": None if cost is None else to_text(cost),
        "riskLevel": to_risk_level(_pick(doc, "riskLevel", "risk_level")),
        "commonStandards": _section(_pick(doc, "commonStandards", "common_standards"), "standards"),
        "performanceEvaluation": _section(
            _pick(doc, "performanceEvaluation", "performance_evaluation"), "tests"
        ),
        "pros": to_text_list(doc.get("pros")),
        "cons": to_text_list(doc.get("cons")),
        "recommendations": to_text_list(doc.get("recommendations")),
    }


def _plan(raw: Any, *, plan_id: str) -> Plan:
    try:
        return Plan.model_validate(normalise_plan(raw, plan_id=plan_id))
    except ValidationError as exc:
        raise OutputError(_validation_message(exc)) from None


def parse_standards(raw: Any, *, draft_id: str = "draft") -> list[Plan]:
    """Exactly four plans, one per tier, in tier order."""
    doc = raw if isinstance(raw, list) else _object(raw, "the answer").get("plans")
    if not isinstance(doc, list):
        raise OutputError("plans must be a list of four plan objects")
    plans = [_plan(item, plan_id=f"{draft_id}-{i}") for i, item in enumerate(doc)]
    tiers = [p.tier for p in plans]
    if sorted(tiers) != sorted(TIERS):
        raise OutputError(f"plans must have exactly one plan per tier {list(TIERS)}; got {tiers}")
    return sorted(plans, key=lambda p: TIERS.index(p.tier))


def parse_refine(raw: Any, *, original: Plan) -> tuple[Plan, list[str]]:
    """The refined plan (keeping the original's id and tier) and the applied changes."""
    doc = _object(raw, "the answer")
    plan_raw = doc.get("plan", doc if "title" in doc else None)
    if plan_raw is None:
        raise OutputError("the answer must have a `plan` object")
    plan_doc = dict(_object(plan_raw, "plan"))
    plan_doc["tier"] = original.tier
    plan = _plan(plan_doc, plan_id=original.id)
    changes = to_text_list(_pick(doc, "appliedChanges", "applied_changes", "changes"))
    if not isinstance(changes, list) or not all(isinstance(c, str) for c in changes):
        raise OutputError("appliedChanges must be a list of strings")
    return plan, changes
