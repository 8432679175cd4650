"""The real RAiDesk frontend's request shapes, replayed by the frontend-contract suites.

Read from its API client: `/api/purpose` gets whatever the user typed to confirm the
category; `/api/standards` gets the classification echoed unchanged, a constant placeholder
category named after it, and the purpose answer; `/api/refine` gets `context` with
`original_plan` undefined. Each flow returns what it saw so a suite can check it in-process
or over real HTTP with the same assertions.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Protocol

# (concept, confirmation the user typed, expected route, device code the plans must name)
# Concepts written from the devices' public descriptions; codes are the archetype table's.
DEVICES: tuple[tuple[str, str, str, str | None], ...] = (
    ("가정용 자동 전자 혈압계", "진행", "device", "HW-BP-MONITOR"),
    (
        "digital upper-arm blood pressure monitor for home use",
        "Yes, proceed",
        "device",
        "HW-BP-MONITOR",
    ),
    ("적외선 귀 체온계", "진행해줘", "device", "HW-THERMOMETER"),
    ("clinical electronic thermometer", "go ahead", "device", "HW-THERMOMETER"),
    ("인슐린 펌프", "네 진행해주세요", "device", "HW-INSULIN-PUMP"),
    ("wearable insulin pump for type 1 diabetes", "sounds good", "device", "HW-INSULIN-PUMP"),
    ("인공 고관절 치환용 임플란트", "맞아", "device", "HW-JOINT"),
    ("total hip replacement implant", "ok", "device", "HW-JOINT"),
    ("의료용 검사 장갑 (니트릴 진료용 장갑)", "네네 진행해 주세요!", "device", "HW-EXAM-GLOVE"),
    ("nitrile medical examination gloves", "Yes please, go ahead 👍", "device", "HW-EXAM-GLOVE"),
    ("implantable insulin pump", "proceed", "device", "HW-IMPLANTABLE-PUMP"),
    ("CT 영상에서 폐결절을 검출하는 AI 소프트웨어", "진행", "device", "SW-CADE-LUNG"),
    (
        "AI software that characterises breast lesions on mammograms as benign or malignant",
        "Yes",
        "device",
        "SW-CADX",
    ),
    ("implantable cardiac pacemaker", "go ahead", "device", "HW-PACEMAKER"),
    ("스마트워치 심전도로 심방세동을 탐지하는 앱", "좋아요", "device", "SW-ECG-ARRHYTHMIA"),
    ("걸음 수와 칼로리를 기록하는 피트니스 앱", "진행", "non-device", None),
    ("meditation app for stress relief and better sleep habits", "ok", "non-device", None),
)
PLACEHOLDER_CODE = "A41010.01"


class Poster(Protocol):
    """`post(path, json)` → (status, body) for an in-process or HTTP client."""

    async def __call__(self, path: str, body: dict[str, Any]) -> tuple[int, Any]: ...


@dataclass
class Flow:
    """Everything one frontend session sent and received."""

    concept: str
    confirmation: str
    classification: dict[str, Any] = field(default_factory=dict)
    purpose: dict[str, Any] = field(default_factory=dict)
    standards: dict[str, Any] = field(default_factory=dict)
    refine: dict[str, Any] = field(default_factory=dict)
    refine_again: dict[str, Any] = field(default_factory=dict)


def placeholder_category(classification: dict[str, Any]) -> dict[str, Any]:
    """The category object the frontend always sends (only the name varies)."""
    return {
        "code": PLACEHOLDER_CODE,
        "name": classification.get("category", ""),
        "description": "의료기기 품목",
        "regulatoryPath": "인허가 필요",
    }


async def run_flow(post: Poster, concept: str, confirmation: str, refine_text: str) -> Flow:
    """classify → purpose (confirmation) → standards (placeholder) → refine twice."""
    flow = Flow(concept, confirmation)
    status, body = await post("/api/classify", {"concept": concept})
    assert status == 200, body
    flow.classification = body["classification"]
    category_name = flow.classification.get("category") or ""
    status, body = await post("/api/purpose", {"concept": confirmation, "category": category_name})
    assert status == 200, body
    flow.purpose = body
    request = {
        "classification": flow.classification,
        "category": placeholder_category(flow.classification),
        "purposeMechanism": flow.purpose,
    }
    status, body = await post("/api/standards", request)
    assert status == 200, body
    flow.standards = body
    plan = body["plans"][1]
    context = {
        "classification": flow.classification,
        "category": request["category"],
        "purposeMechanism": flow.purpose,
    }
    status, body = await post(
        "/api/refine", {"planId": plan["id"], "modifications": refine_text, "context": context}
    )
    assert status == 200, body
    flow.refine = body
    status, body = await post(
        "/api/refine", {"planId": plan["id"], "modifications": refine_text, "context": context}
    )
    assert status == 200, body
    flow.refine_again = body
    return flow


def check_flow(flow: Flow, route: str, code: str | None) -> None:
    """The frontend-contract assertions shared by the in-process and HTTP suites."""
    cls = flow.classification
    assert cls["isMedicalDevice"] is (route == "device"), cls
    # purpose: never quotes the confirmation; answers in the category's language
    text = " ".join(
        [
            flow.purpose["intendedUse"],
            flow.purpose["mechanismOfAction"],
            flow.purpose["targetPopulation"],
            flow.purpose["clinicalBenefit"],
            *flow.purpose["contraindications"],
        ]
    )
    assert flow.confirmation not in text and "“" not in flow.purpose["intendedUse"]
    assert flow.purpose["intendedUse"].startswith(cls["category"])
    hangul = any("\uac00" <= ch <= "\ud7a3" for ch in flow.purpose["mechanismOfAction"])
    assert hangul is (cls["language"] == "ko")
    # standards: four plans for exactly the classified device (or the non-device route)
    body = flow.standards
    plans = body["plans"]
    assert [p["tier"] for p in plans] == ["fastest", "normal", "conservative", "innovative"]
    assert body["route"] == route and body["classificationSource"] == "given"
    assert body["device"]["name"] == cls["category"]
    for plan in plans:
        assert plan["route"] == route
        assert plan["device"]["name"] == cls["category"]
        assert plan["device"]["code"] == cls["categoryCode"]
        assert plan["device"]["riskClass"] == cls["riskClass"]
        assert plan["version"] == 1 and plan["id"].startswith("plan_")
        assert cls["category"] in plan["description"]
        if code is not None:
            assert plan["device"]["code"] == code
    if route == "non-device":
        assert "MFDS" in plans[1]["title"] or "MFDS" in plans[1]["description"]
    # refine: changes the plan once (version 2, same device), then tells the truth
    refined = flow.refine
    assert refined["changed"] is True and refined["plan"]["version"] == 2
    assert refined["plan"]["id"] == plans[1]["id"]
    assert refined["plan"]["device"] == plans[1]["device"]
    assert refined["understood"]
    again = flow.refine_again
    assert again["changed"] is False and again["plan"]["version"] == 2
    assert again["reasons"] and again["understood"] == refined["understood"]
