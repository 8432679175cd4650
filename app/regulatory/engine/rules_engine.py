"""Public entry point of the offline rules engine (AI_PROVIDER=rules)."""

from __future__ import annotations

import re
import secrets
from collections.abc import Callable
from typing import Any

from app.regulatory.engine import rules_data as rd
from app.regulatory.engine.classifier import (
    MFDS_GRADE,
    Assessment,
    archetype,
    assess,
)
from app.regulatory.engine.errors import UnusableCategoryError
from app.regulatory.engine.nondevice import build_nondevice_plans
from app.regulatory.engine.planner import build_plans
from app.regulatory.engine.purpose import build_purpose
from app.regulatory.engine.refine import refine_plan, understood
from app.regulatory.engine.resolve import Resolution, assess_named_category, resolve
from app.regulatory.engine.text import Bi, Lang, description_part, detect_language, is_uninformative
from app.regulatory.schemas.analysis import (
    Classification,
    ClassifyRequest,
    ClassifyResponse,
    JurisdictionDetail,
    Plan,
    PlanDevice,
    PurposeRequest,
    PurposeResponse,
    StandardsRequest,
    SuggestedCategory,
)

_CONTEXT_LIMIT = 2000
_QUOTED = re.compile(r"'([^']{1,80})'")


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


def plan_device(res: Resolution) -> PlanDevice:
    """The device a resolution names, as plans and answers show it."""
    a = res.assessment
    return PlanDevice(
        code=a.code,
        name=res.device_name,
        is_medical_device=res.route == "device",
        risk_class=a.mfds if res.route == "device" else None,
    )


def annotate(plan: Plan, res: Resolution) -> Plan:
    """Stamp a plan with its device, route and where the classification came from."""
    return plan.model_copy(
        update={
            "device": plan_device(res),
            "route": res.route,
            "classification_source": res.source,
            "classification_reason": res.reason,
        }
    )


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
            category_code=a.code or None,
        )
        return ClassifyResponse(
            classification=classification, suggested_categories=_suggestions(a, lang)
        )

    def purpose(self, req: PurposeRequest) -> PurposeResponse:
        """Intended purpose of the category's device. A reply that only confirms ("진행해줘",
        "Yes, proceed") is never quoted: the category alone answers, in its language."""
        category = req.category_object()
        described = "" if is_uninformative(req.concept) else description_part(req.concept)
        category_text = f"{category.name} {category.description}".strip()
        if not described and not (category.code or category_text):
            raise UnusableCategoryError("A category is required when the concept is uninformative.")
        if req.language:
            lang: Lang = req.language
        elif described:
            lang = detect_language(described, default=detect_language(category_text))
        else:
            # The reply's language is not the product's: "ok" about a Korean category stays Korean.
            lang = detect_language(category_text, default=detect_language(req.concept))
        a = assess_named_category(
            code=category.code,
            name=category.name,
            description=category.description,
            described=described,
            lang=lang,
        )
        p = build_purpose(
            a,
            category_name=category.name,
            category_description=category.description,
            concept=described or None,
            lang=lang,
        )
        return PurposeResponse(
            intended_use=p.intended_use,
            mechanism_of_action=p.mechanism_of_action,
            target_population=p.target_population,
            clinical_benefit=p.clinical_benefit,
            contraindications=p.contraindications,
        )

    def resolve(self, req: StandardsRequest) -> Resolution:
        """The device a standards request plans for (the classification given, or a new one)."""
        purpose_text = flatten_text(req.purpose_mechanism) if req.purpose_mechanism else ""
        cls = req.classification
        names = " ".join(
            x for x in (req.category.name, cls.category if cls else "") if x and x.strip()
        )
        lang = (
            req.language
            or (cls.language if cls else None)
            or detect_language(names or purpose_text)
        )
        return resolve(req, purpose=purpose_text, lang=lang)

    def standards(
        self, req: StandardsRequest, *, id_factory: Callable[[], str] = new_plan_id
    ) -> list[Plan]:
        """Four plans (fastest, normal, conservative, innovative) for the classified device,
        or for the non-device route when the product is not a medical device."""
        if not (req.category.code.strip() or req.category.name.strip()):
            raise UnusableCategoryError("The category needs a code or a name.")
        res = self.resolve(req)
        lang = res.assessment.language
        if res.route == "non-device":
            purpose_text = flatten_text(req.purpose_mechanism) if req.purpose_mechanism else ""
            reasoning = req.classification.reasoning[:_CONTEXT_LIMIT] if req.classification else ""
            # Only the product's own words the classifier quoted ('명상', 'steps'), not the
            # sources it cited ("… Low Risk Devices"), say what kind of product it is.
            quoted = " ".join(_QUOTED.findall(reasoning))
            plans = build_nondevice_plans(
                name=res.device_name,
                text=f"{purpose_text} {req.category.name} {quoted}",
                software=req.classification.software if req.classification else None,
                lang=lang,
                id_factory=id_factory,
                session_id=req.session_id,
            )
        else:
            plans = build_plans(
                res.assessment, lang=lang, id_factory=id_factory, session_id=req.session_id
            )
        return [annotate(plan, res) for plan in plans]

    def refine(self, plan: Plan, modifications: str) -> tuple[Plan, list[str]]:
        """Apply a modification request; same id, the caller bumps the version."""
        lang = detect_language(modifications, default=plan.language or "ko")
        return refine_plan(plan, modifications, lang)

    def understood(self, plan: Plan, modifications: str) -> list[str]:
        """What a modification request was understood to ask for, in its language."""
        lang = detect_language(modifications, default=plan.language or "ko")
        return understood(modifications, lang)

    def nothing_changed(self, plan: Plan, modifications: str) -> str:
        """The reason given when a modification leaves the plan as it was."""
        lang = detect_language(modifications, default=plan.language or "ko")
        return Bi(
            "요청을 반영해도 계획이 그대로여서 새 버전을 만들지 않았습니다.",
            "Applying the request leaves the plan as it was, so no new version was stored.",
        ).get(lang)
