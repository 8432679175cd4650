"""Messages and JSON schemas sent to model servers, one pair per endpoint.

The schemas are hand-written subsets of the API models: small enough for local models'
constrained decoding (Ollama `format`, OpenAI `response_format`), strict about the enums.
"""

from __future__ import annotations

import json
from typing import Any

from app.regulatory.ai.base import Endpoint
from app.regulatory.schemas.analysis import ClassifyRequest, Plan, PurposeRequest, StandardsRequest

Message = dict[str, str]

_STR = {"type": "string"}
_STR_LIST = {"type": "array", "items": _STR}
_TIMELINE = {
    "type": "array",
    "items": {
        "type": "object",
        "properties": {
            "phase": _STR,
            "description": _STR,
            "duration": _STR,
            "dependencies": _STR_LIST,
            "deliverables": _STR_LIST,
        },
        "required": ["phase", "description", "duration", "deliverables"],
    },
}
_PLAN = {
    "type": "object",
    "properties": {
        "tier": {"type": "string", "enum": ["fastest", "normal", "conservative", "innovative"]},
        "title": _STR,
        "description": _STR,
        "totalDuration": _STR,
        "estimatedCost": _STR,
        "riskLevel": {"type": "string", "enum": ["low", "medium", "high"]},
        "commonStandards": {
            "type": "object",
            "properties": {
                "timeline": _TIMELINE,
                "standards": _STR_LIST,
                "documentation": _STR_LIST,
            },
            "required": ["timeline", "standards", "documentation"],
        },
        "performanceEvaluation": {
            "type": "object",
            "properties": {"timeline": _TIMELINE, "tests": _STR_LIST, "documentation": _STR_LIST},
            "required": ["timeline", "tests", "documentation"],
        },
        "pros": _STR_LIST,
        "cons": _STR_LIST,
        "recommendations": _STR_LIST,
    },
    "required": [
        "tier",
        "title",
        "description",
        "totalDuration",
        "riskLevel",
        "commonStandards",
        "performanceEvaluation",
        "pros",
        "cons",
        "recommendations",
    ],
}

SCHEMAS: dict[Endpoint, dict[str, Any]] = {
    "classify": {
        "type": "object",
        "properties": {
            "classification": {
                "type": "object",
                "properties": {
                    "isMedicalDevice": {"type": "boolean"},
                    "reasoning": _STR,
                    "confidence": {"type": "number", "minimum": 0, "maximum": 1},
                    "category": _STR,
                    "riskClass": {
                        "type": ["string", "null"],
                        "enum": ["I", "II", "III", "IV", None],
                    },
                },
                "required": ["isMedicalDevice", "reasoning", "confidence", "category", "riskClass"],
            },
            "suggestedCategories": {
                "type": "array",
                "items": {
                    "type": "object",
                    "properties": {
                        "code": _STR,
                        "name": _STR,
                        "description": _STR,
                        "regulatoryPath": _STR,
                    },
                    "required": ["code", "name", "description", "regulatoryPath"],
                },
            },
        },
        "required": ["classification", "suggestedCategories"],
    },
    "purpose": {
        "type": "object",
        "properties": {
            "intendedUse": _STR,
            "mechanismOfAction": _STR,
            "targetPopulation": _STR,
            "clinicalBenefit": _STR,
            "contraindications": _STR_LIST,
        },
        "required": [
            "intendedUse",
            "mechanismOfAction",
            "targetPopulation",
            "clinicalBenefit",
            "contraindications",
        ],
    },
    "standards": {
        "type": "object",
        "properties": {"plans": {"type": "array", "items": _PLAN, "minItems": 4, "maxItems": 4}},
        "required": ["plans"],
    },
    "refine": {
        "type": "object",
        "properties": {"plan": _PLAN, "appliedChanges": _STR_LIST},
        "required": ["plan", "appliedChanges"],
    },
}

_BASE = (
    "You are a medical-device regulatory affairs expert (Korean MFDS, US FDA, EU MDR, IMDRF "
    "SaMD, IEC 62304, ISO 13485, ISO 14971). Answer with one JSON object that matches the given "
    "JSON schema exactly, with no text outside it. Write free-text values in the language of the "
    "user's device concept (Korean if it is Korean)."
)

_TASKS: dict[Endpoint, str] = {
    "classify": (
        "Decide whether the concept is a medical device under the MFDS definition (diagnose, "
        "treat, prevent, monitor or alleviate disease or injury; examine or modify anatomy or "
        "physiology; control conception). Wellness, fitness, administrative and storage-only "
        "software is not a device. riskClass is the MFDS class as a Roman numeral I-IV (null "
        "when not a device); category is non-empty for a device. Explain which rule decided it "
        "in reasoning; lower confidence when the description is thin. Suggest 1-3 categories."
    ),
    "purpose": (
        "Write the intended purpose statement of the device. If the concept is uninformative "
        "(e.g. a bare confirmation such as '네' or 'yes'), write it from the category alone."
    ),
    "standards": (
        "Write four regulatory plans, exactly one per tier: fastest, normal, conservative, "
        "innovative. Each lists applicable standards (e.g. ISO 13485, ISO 14971, IEC 62304, "
        "IEC 62366-1, IEC 81001-5-1, IEC 60601-1, ISO 10993-1), a timeline of phases with "
        "durations, performance-evaluation tests, pros, cons and recommendations."
    ),
    "refine": (
        "Change the given plan as the user asks, keep everything else, and list each change "
        "you made in appliedChanges. Keep the tier."
    ),
}


def _json(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False)


def messages_for(endpoint: Endpoint, payload: dict[str, Any]) -> list[Message]:
    """System and user messages for one endpoint's input."""
    return [
        {"role": "system", "content": f"{_BASE}\n\n{_TASKS[endpoint]}"},
        {"role": "user", "content": _json(payload)},
    ]


def classify_payload(req: ClassifyRequest) -> dict[str, Any]:
    """The classify input as the model sees it."""
    return {"concept": req.concept, "context": req.context}


def purpose_payload(req: PurposeRequest) -> dict[str, Any]:
    """The purpose input as the model sees it."""
    return {"concept": req.concept, "category": req.category_object().to_api()}


def standards_payload(req: StandardsRequest) -> dict[str, Any]:
    """The standards input as the model sees it."""
    return {
        "classification": req.classification.to_api() if req.classification else None,
        "category": req.category.to_api(),
        "purposeMechanism": req.purpose_mechanism,
    }


def refine_payload(plan: Plan, modifications: str) -> dict[str, Any]:
    """The refine input: the stored plan (without its id) and the requested change."""
    body = plan.to_api()
    for key in ("id", "version", "sessionId"):
        body.pop(key, None)
    return {"plan": body, "modifications": modifications}


def repair_messages(messages: list[Message], bad_output: str, problem: str) -> list[Message]:
    """The conversation plus the rejected answer and why it was rejected."""
    return [
        *messages,
        {"role": "assistant", "content": bad_output[:8000]},
        {
            "role": "user",
            "content": (
                f"That answer was rejected: {problem}. Reply again with only the corrected JSON "
                "object matching the schema."
            ),
        },
    ]
