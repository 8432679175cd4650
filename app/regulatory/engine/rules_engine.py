"""Public entry point of the offline rules engine (AI_PROVIDER=rules)."""

from __future__ import annotations

import secrets
from collections.abc import Callable
from typing import Any

from app.regulatory.engine import rules_data as rd
from app.regulatory.engine.classifier import (
    MFDS_GRADE,
    Assessment,
    archetype,
    assess,
    assess_category,
)
from app.regulatory.engine.errors import InvalidCategoryError, NotAMedicalDeviceError
from app.regulatory.engine.planner import build_plans
from app.regulatory.engine.purpose import build_purpose
from app.regulatory.engine.refine import refine_plan
from app.regulatory.engine.text import Bi, Lang, detect_language, is_uninformative
from app.regulatory.schemas.analysis import (
    Classification,
    ClassifyRequest,
    ClassifyResponse,
    JurisdictionDetail,
    Plan,
    PurposeRequest,
    PurposeResponse,
    StandardsRequest,
    SuggestedCategory,
)

_CONTEXT_LIMIT = 2000
_MFDS_TO_EU = {"I": "I", "II": "IIa", "III": "IIb", "IV": "III"}


def new_plan_id() -> str:
    """Default plan id: random, never derived from user input."""
    return "plan_" + secrets.token_urlsafe(12)


def flatten_text(value: Any, limit: int = _CONTEXT_LIMIT) -> str:
    """Join the string leaves of a context object, bounded so huge contexts stay cheap."""
    parts: list[str] = []
    size = 0
    stack: list[Any] = [value]
    while stack and size < limit:
        item = stack.pop()
        if isinstance(item, str):
            parts.append(item)
            size += len(item)
        elif isinstance(item, dict):
            stack.extend(reversed(list(item.values())))
        elif isinstance(item, list | tuple):
            stack.extend(reversed(item))
    return " ".join(parts)[:limit]


def regulatory_path(a: Assessment, lang: Lang) -> str:
    """One-line pathway summary across MFDS, FDA and the EU."""
    if a.mfds is None:
        return Bi("의료기기 인허가 대상 아님", "Not subject to device clearance").get(lang)
    route = rd.MFDS_ROUTE[a.mfds].get(lang)
    eu = a.eu_framework.split(" 20")[0]
    return f"MFDS {route} · FDA {a.fda_pathway} · {eu} {a.eu_class}"


def _category(a: Assessment, lang: Lang) -> SuggestedCategory:
    return SuggestedCategory(
        code=a.code,
        name=a.name.get(lang),
        description=a.description.get(lang),
        regulatory_path=regulatory_path(a, lang),
    )


def _jurisdictions(a: Assessment, lang: Lang) -> dict[str, JurisdictionDetail]:
    if not a.is_device or a.mfds is None:
        return {}
    out = {
        "mfds": JurisdictionDetail(
            framework="MFDS (의료기기법)",
            device_class=a.mfds,
            rule=Bi(f"{MFDS_GRADE[a.mfds]}등급", f"Class {MFDS_GRADE[a.mfds]}").get(lang),
            pathway=rd.MFDS_ROUTE[a.mfds].get(lang),
            source=a.source or rd.SRC_MFDS_ITEMS,
        ),
        "fda": JurisdictionDetail(
            framework="US FDA",
            device_class=a.fda_class,
            rule=a.fda_regulation,
            pathway=a.fda_pathway,
            source=rd.SRC_FDA_CLASS,
        ),
        "eu": JurisdictionDetail(
            framework=a.eu_framework,
            device_class=a.eu_class,
            rule=a.eu_rule,
            pathway=Bi("인증기관 적합성평가", "Notified Body conformity assessment").get(lang)
            if a.eu_class not in ("I", None)
            else Bi("제조자 자기적합선언", "Manufacturer self-declaration").get(lang),
            source=rd.SRC_IVDR if "IVDR" in a.eu_framework else rd.SRC_ANNEX8,
        ),
    }
    if a.imdrf:
        out["imdrf"] = JurisdictionDetail(
            framework="IMDRF SaMD",
            device_class=a.imdrf,
            rule=f"{a.significance or '-'} × {a.situation or '-'}",
            source=rd.SRC_IMDRF,
        )
    out["iec62304"] = JurisdictionDetail(
        framework="IEC 62304",
        device_class=a.iec62304,
        rule=Bi("소프트웨어 안전등급", "software safety class").get(lang)
        if a.iec62304
        else Bi("소프트웨어 없음 (해당 없음)", "no software (not applicable)").get(lang),
        source=rd.SRC_62304,
    )
    return out


def _suggestions(a: Assessment, lang: Lang) -> list[SuggestedCategory]:
    out = [_category(a, lang)]
    seen = {a.code}
    candidates = [*a.alternates, *(x for c in a.related if (x := archetype(c)) is not None)]
    for arch in candidates:
        if arch.code in seen or len(out) >= 4:
            continue
        seen.add(arch.code)
        out.append(
            SuggestedCategory(
                code=arch.code,
                name=arch.name.get(lang),
                description=arch.description.get(lang),
                regulatory_path=(
                    f"MFDS {rd.MFDS_ROUTE[arch.mfds].get(lang)} · FDA {arch.fda_pathway} · "
                    f"{arch.eu_framework.split(' 20')[0]} {arch.eu_class}"
                ),
            )
        )
    return out


def _fallback(a: Assessment, risk: str | None, software: bool, lang: Lang) -> Assessment:
    """Make a plannable profile when the text alone did not show a device (client says it is)."""
    cls = risk if risk in ("I", "II", "III", "IV") else "II"
    a.is_device = True
    a.mfds = cls  # type: ignore[assignment]
    a.eu_class = _MFDS_TO_EU[cls]
    a.fda_class, a.fda_pathway = rd.EU_TO_FDA[a.eu_class]
    a.code = "SW-SAMD" if software else "HW-GENERIC"
    a.name = (
        Bi("의료기기 소프트웨어", "Medical device software")
        if software
        else Bi("의료기기", "Medical device")
    )
    a.tags |= {"software", "health_software", "connected"} if software else set()
    if cls in ("III", "IV"):
        a.tags.add("clinical_investigation")
    a.iec62304 = {"I": "A", "II": "B"}.get(cls, "C") if software else None
    return a


class RulesEngine:
    """Deterministic, offline regulatory engine: classify, purpose, standards, refine."""

    provider = "rules"
    model = "rules-v1"

    def classify(self, req: ClassifyRequest) -> ClassifyResponse:
        """Classify a concept: device or not, classes per jurisdiction, with reasoning."""
        lang = detect_language(req.concept)
        context = flatten_text(req.context) if req.context else ""
        a = assess(f"{req.concept} {context}".strip(), lang)
        classification = Classification(
            is_medical_device=a.is_device,
            reasoning=" ".join(a.reasons),
            confidence=a.confidence,
            category=a.name.get(lang),
            risk_class=a.mfds if a.is_device else None,
            jurisdictions=_jurisdictions(a, lang),
            rules_fired=a.rules_fired,
            language=lang,
            software=a.software if a.is_device else None,
            ai=a.ai if a.is_device else None,
        )
        return ClassifyResponse(
            classification=classification, suggested_categories=_suggestions(a, lang)
        )

    def purpose(self, req: PurposeRequest) -> PurposeResponse:
        """Intended purpose from concept + category; category alone when the concept says nothing."""
        category = req.category_object()
        informative = not is_uninformative(req.concept)
        category_text = f"{category.name} {category.description}".strip()
        if not informative and not (category.code or category_text):
            raise InvalidCategoryError("A category is required when the concept is uninformative.")
        # Even "네" tells us the user's language; only letter-less input defers to the category.
        lang = req.language or detect_language(
            req.concept, default=detect_language(category_text or req.concept)
        )
        text = f"{category_text} {req.concept if informative else ''}".strip()
        a = assess_category(category.code, text, lang)
        p = build_purpose(
            a,
            category_name=category.name,
            category_description=category.description,
            concept=req.concept if informative else None,
            lang=lang,
        )
        return PurposeResponse(
            intended_use=p.intended_use,
            mechanism_of_action=p.mechanism_of_action,
            target_population=p.target_population,
            clinical_benefit=p.clinical_benefit,
            contraindications=p.contraindications,
        )

    def standards(
        self, req: StandardsRequest, *, id_factory: Callable[[], str] = new_plan_id
    ) -> list[Plan]:
        """Four plans (fastest, normal, conservative, innovative) for a device category."""
        cls = req.classification
        category = req.category
        if not cls.is_medical_device:
            raise NotAMedicalDeviceError(
                "The product was classified as not a medical device; no regulatory plan applies."
            )
        if not (category.code or category.name):
            raise InvalidCategoryError("The category needs a code or a name.")
        if category.code.upper().startswith("ND-"):
            raise InvalidCategoryError(f"Category '{category.code}' is not a medical device.")
        purpose_text = flatten_text(req.purpose_mechanism) if req.purpose_mechanism else ""
        text = " ".join(
            x for x in (category.name, category.description, cls.category, purpose_text) if x
        )
        lang = req.language or cls.language or detect_language(text)
        a = assess_category(category.code, text, lang)
        if not a.is_device:
            a = _fallback(a, cls.risk_class, bool(cls.software), lang)
        if cls.risk_class and cls.risk_class != a.mfds:
            # The client's (possibly expert-corrected) class wins over the text-derived one.
            a.mfds = cls.risk_class
            if cls.risk_class in ("III", "IV"):
                a.tags.add("clinical_investigation")
        if cls.ai:
            a.tags |= {"ai", "software"}
        return build_plans(a, lang=lang, id_factory=id_factory, session_id=req.session_id)

    def refine(self, plan: Plan, modifications: str) -> tuple[Plan, list[str]]:
        """Apply a modification request; same id, the caller bumps the version."""
        lang = detect_language(modifications, default=plan.language or "ko")
        return refine_plan(plan, modifications, lang)
