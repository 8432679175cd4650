"""Which device /api/standards plans for.

The classification the client sends back is authoritative: its rule trail
(`ARCHETYPE:<code>`, `categoryCode`) or else its category name decides the device, and its
risk class wins over anything derived from text. The category object is only a hint: the
real frontend sends a constant placeholder (`code "A41010.01"`, `description "의료기기 품목"`,
`regulatoryPath "인허가 필요"`) whose name is the classification's category. Only when the
classification is missing or contradicts itself is the device classified again, from the
other fields, and the answer says so.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from app.regulatory.engine import archetype_data as ad
from app.regulatory.engine import rules_data as rd
from app.regulatory.engine.classifier import Assessment, archetype, assess, assess_category
from app.regulatory.engine.errors import NotAMedicalDeviceError, UnusableCategoryError
from app.regulatory.engine.text import Bi, Lang, normalise
from app.regulatory.schemas.analysis import (
    ClassificationInput,
    ClassificationSource,
    Route,
    StandardsRequest,
    SuggestedCategory,
)

_MFDS_TO_EU = {"I": "I", "II": "IIa", "III": "IIb", "IV": "III"}
_GENERIC_CODES = frozenset({"SW-SAMD", "HW-GENERIC"})
_SAMD_RULE = re.compile(r"IMDRF N12 Table 1 \((\w+) × (\w+) → (I|II|III|IV)\)")
_WINNER_RULE = re.compile(r"WINNER (Rule \d+) → (I|IIa|IIb|III)\b")
_FIRED_RULE = re.compile(r"Annex VIII (Rule \d+) → (I|IIa|IIb|III)\b")
# What an Annex VIII rule having fired says about the device (for plans: tests, sterility).
_RULE_TAGS: dict[str, frozenset[str]] = {
    "Rule 2": frozenset({"body_contact"}),
    "Rule 4": frozenset({"body_contact"}),
    "Rule 5": frozenset({"body_contact"}),
    "Rule 6": frozenset({"body_contact", "sterile"}),
    "Rule 7": frozenset({"body_contact", "sterile"}),
    "Rule 8": frozenset({"body_contact", "sterile", "implant", "clinical_investigation"}),
    "Rule 9": frozenset({"active", "software"}),
    "Rule 10": frozenset({"active", "software"}),
    "Rule 12": frozenset({"active", "software"}),
    "Rule 13": frozenset({"active", "software"}),
    "Rule 14": frozenset({"body_contact", "clinical_investigation"}),
    "Rule 15": frozenset({"body_contact"}),
    "Rule 18": frozenset({"body_contact", "clinical_investigation"}),
}
# The frontend's constant category: nothing in it but the name describes the device.
PLACEHOLDER_DESCRIPTIONS = frozenset({"의료기기 품목", "medical device item"})
PLACEHOLDER_PATHS = frozenset({"인허가 필요", "approval required"})
_NON_DEVICE_PREFIXES = ("비의료기기", "not a medical device")


def _name_index() -> dict[str, rd.Archetype]:
    index: dict[str, rd.Archetype] = {}
    for arch in ad.ALL_ARCHETYPES:
        for name in (arch.name.ko, arch.name.en):
            index.setdefault(normalise(name), arch)
    return index


_BY_NAME = _name_index()


def archetype_by_name(name: str) -> rd.Archetype | None:
    """The archetype whose Korean or English name is exactly `name` (case/space-insensitive)."""
    return _BY_NAME.get(normalise(name)) if name else None


@dataclass(slots=True)
class Resolution:
    """The device to plan for, which route, and whether the client's classification was used."""

    assessment: Assessment
    route: Route
    source: ClassificationSource
    reason: str
    device_name: str


def is_placeholder(category: SuggestedCategory) -> bool:
    """A category that is not one of ours: its code is unknown to the archetype table."""
    code = category.code.strip().upper()
    return archetype(code) is None and code not in _GENERIC_CODES and not code.startswith("ND-")


def _trail(cls: ClassificationInput) -> list[str]:
    codes = [cls.category_code] if cls.category_code else []
    codes += [r.split(":", 1)[1] for r in cls.rules_fired if r.startswith("ARCHETYPE:")]
    return [c.strip().upper() for c in codes if c and c.strip()]


def _says_not_device(cls: ClassificationInput) -> bool:
    code = (cls.category_code or "").upper()
    return (
        code.startswith("ND-")
        or any(r.startswith("NON-DEVICE:") for r in cls.rules_fired)
        or normalise(cls.category).startswith(_NON_DEVICE_PREFIXES)
    )


def _says_generic_device(cls: ClassificationInput) -> bool:
    code = (cls.category_code or "").upper()
    return code in _GENERIC_CODES or any(
        _SAMD_RULE.search(r) or _WINNER_RULE.search(r) for r in cls.rules_fired
    )


def _problems(
    cls: ClassificationInput | None, hint_named: bool
) -> tuple[list[Bi], rd.Archetype | None]:
    """What is missing or contradictory in a classification, and the archetype it names."""
    if cls is None:
        return [Bi("분류 결과가 전달되지 않았습니다", "no classification was sent")], None
    problems: list[Bi] = []
    trail = {a.code: a for c in _trail(cls) if (a := archetype(c)) is not None}
    unknown = [c for c in _trail(cls) if archetype(c) is None and c not in _GENERIC_CODES]
    by_name = archetype_by_name(cls.category)
    named: rd.Archetype | None = None
    if len(trail) > 1:
        problems.append(
            Bi(
                f"규칙 기록이 서로 다른 품목({', '.join(trail)})을 가리킵니다",
                f"its rule trail names several device types ({', '.join(trail)})",
            )
        )
    elif trail:
        named = next(iter(trail.values()))
        if by_name is not None and by_name.code != named.code:
            problems.append(
                Bi(
                    f"규칙 기록({named.code})과 분류명({by_name.code})이 서로 다릅니다",
                    f"its rule trail ({named.code}) and category name ({by_name.code}) disagree",
                )
            )
    else:
        named = by_name
    if unknown and not trail and not cls.category.strip():
        problems.append(
            Bi(
                f"알 수 없는 품목 코드({unknown[0]})입니다",
                f"it names an unknown type ({unknown[0]})",
            )
        )
    device = cls.is_medical_device
    if device is None:
        problems.append(Bi("의료기기 여부가 없습니다", "it does not say whether it is a device"))
    elif device:
        if _says_not_device(cls):
            problems.append(
                Bi(
                    "의료기기라고 하면서 비의료기기 분류를 담고 있습니다",
                    "it says device but its category or rules say not a device",
                )
            )
        elif (
            named is None
            and not cls.category.strip()
            and not _says_generic_device(cls)
            and not hint_named
        ):
            problems.append(
                Bi("의료기기인데 품목(분류명)이 없습니다", "it says device but names no category")
            )
    else:
        if named is not None or _says_generic_device(cls):
            problems.append(
                Bi(
                    "비의료기기라고 하면서 의료기기 품목을 가리킵니다",
                    "it says not a device but names a device type",
                )
            )
        elif cls.risk_class is not None:
            problems.append(
                Bi(
                    "비의료기기라고 하면서 등급을 갖고 있습니다",
                    "it says not a device but carries a risk class",
                )
            )
    return problems, named


def _hint_text(req: StandardsRequest, purpose: str) -> tuple[str, str]:
    """(names only, names + purpose): the fields a reclassification may read."""
    cat = req.category
    parts = [cat.name]
    if cat.description.strip() not in PLACEHOLDER_DESCRIPTIONS:
        parts.append(cat.description)
    if req.classification is not None:
        parts.append(req.classification.category)
    names = " ".join(p for p in parts if p and p.strip())
    return names, f"{names} {purpose}".strip()


def _apply_class(a: Assessment, cls: ClassificationInput) -> None:
    """The client's (possibly expert-corrected) class wins over the derived one."""
    if cls.risk_class and cls.risk_class != a.mfds:
        a.mfds = cls.risk_class
        if cls.risk_class in ("III", "IV"):
            a.tags.add("clinical_investigation")
    if cls.ai:
        a.tags |= {"ai", "software"}


def generic_profile(
    a: Assessment, cls: ClassificationInput | None, software: bool, risk: str | None
) -> Assessment:
    """A plannable device profile from a class, the software flag and the rule trail."""
    rules = cls.rules_fired if cls is not None else []
    samd = next((m for r in rules if (m := _SAMD_RULE.search(r))), None)
    winner = next((m for r in rules if (m := _WINNER_RULE.search(r))), None)
    if samd is not None:
        software = True
    cls_text = risk if risk in ("I", "II", "III", "IV") else None
    if samd is not None and cls_text is None:
        cls_text = samd.group(3)
    if winner is not None and cls_text is None:
        cls_text = rd.EU_TO_MFDS[winner.group(2)]
    mfds = cls_text or "II"
    a.is_device = True
    a.mfds = mfds  # type: ignore[assignment]
    a.eu_class = winner.group(2) if winner is not None else _MFDS_TO_EU[mfds]
    a.fda_class, a.fda_pathway = rd.EU_TO_FDA[a.eu_class]
    a.code = "SW-SAMD" if software else "HW-GENERIC"
    a.name = (
        Bi("의료기기 소프트웨어", "Medical device software")
        if software
        else Bi("의료기기", "Medical device")
    )
    if software:
        a.tags |= {"software", "health_software", "connected"}
        a.imdrf = a.mfds
        a.iec62304 = {"I": "A", "II": "B"}.get(mfds, "C")
    for r in rules:
        if (m := _FIRED_RULE.search(r)) is not None:
            a.tags |= _RULE_TAGS.get(m.group(1), frozenset())
    if "active" in a.tags and not software:
        a.iec62304 = {"I": "A", "II": "B"}.get(mfds, "C")
    if mfds in ("III", "IV"):
        a.tags.add("clinical_investigation")
    return a


def _blank(lang: Lang) -> Assessment:
    return Assessment(
        language=lang,
        is_device=True,
        confidence=0.5,
        code="",
        name=Bi("", ""),
        description=Bi("", ""),
    )


def _non_device(name: str, cls: ClassificationInput | None, lang: Lang) -> Assessment:
    code = (cls.category_code or "") if cls is not None else ""
    if not code.upper().startswith("ND-") and cls is not None:
        code = next(
            (r.split(":", 1)[1] for r in cls.rules_fired if r.startswith("NON-DEVICE:")), ""
        )
    return Assessment(
        language=lang,
        is_device=False,
        confidence=(cls.confidence or 0.5) if cls is not None else 0.5,
        code=code or "ND-UNSPECIFIED",
        name=Bi(name, name),
        description=Bi("비의료기기", "Not a medical device"),
        source=rd.SRC_MFDS_WELLNESS,
    )


def _given(
    req: StandardsRequest, cls: ClassificationInput, named: rd.Archetype | None, lang: Lang
) -> Resolution:
    name = cls.category.strip()
    if cls.is_medical_device is False:
        if archetype(req.category.code) is not None:
            # The chosen category is one of our device types: no one plan fits both answers.
            raise NotAMedicalDeviceError(
                "The product was classified as not a medical device, but the category "
                f"'{req.category.code}' is a medical device type; classify it again or pick "
                "a matching category."
            )
        name = name or req.category.name.strip()
        if not name:
            raise NotAMedicalDeviceError(
                "The product was classified as not a medical device and nothing names it; "
                "no plan can be made."
            )
        reason = Bi(
            f"요청의 분류 결과(비의료기기: {name})를 그대로 따라 비의료기기 경로를 계획했습니다.",
            f"Planned the non-device route for the classification sent (not a device: {name}).",
        )
        return Resolution(
            _non_device(name, cls, lang), "non-device", "given", reason.get(lang), name
        )
    if req.category.code.strip().upper().startswith("ND-"):
        raise UnusableCategoryError(f"Category '{req.category.code}' is not a medical device.")
    if not name:
        # A class without a category name: the category object names the device.
        name = req.category.name.strip()
        named = named or archetype(req.category.code) or archetype_by_name(name)
    if named is not None:
        a = assess_category(named.code, cls.category, lang)
        how = Bi(
            f"규칙 기록·분류명 ({named.code})", f"its rule trail / category name ({named.code})"
        )
    else:
        found = assess(name, lang) if name else None
        if found is not None and found.is_device and found.code not in _GENERIC_CODES:
            a = found
            how = Bi(f"분류명 ({found.code})", f"its category name ({found.code})")
        else:
            a = generic_profile(_blank(lang), cls, bool(cls.software), cls.risk_class)
            how = Bi("등급·규칙 기록·분류명", "its class, rule trail and category name")
    _apply_class(a, cls)
    if name:
        a.name = Bi(name, name)
    shown = a.name.get(lang)
    reason = Bi(
        f"요청의 분류 결과를 그대로 사용해 '{shown}'에 대해 계획했습니다 (근거: {how.ko}).",
        f"Planned for the classification sent: '{shown}' (matched by {how.en}).",
    )
    return Resolution(a, "device", "given", reason.get(lang), shown)


def _reclassified(
    req: StandardsRequest, problems: list[Bi], purpose: str, lang: Lang
) -> Resolution:
    names, with_purpose = _hint_text(req, purpose)
    cls = req.classification
    if archetype(req.category.code) is not None:
        a = assess_category(req.category.code, with_purpose, lang)
    else:
        a = assess(names, lang) if names else assess(with_purpose, lang)
        if (not a.is_device or a.code in _GENERIC_CODES) and purpose:
            # The names alone were not enough: read the purpose text too.
            wider = assess(with_purpose, lang)
            if wider.is_device:
                a = wider
    if not names and not purpose:
        raise UnusableCategoryError("The category needs a code or a name.")
    why_ko = "; ".join(p.ko for p in problems)
    why_en = "; ".join(p.en for p in problems)
    if a.is_device:
        if cls is not None and cls.ai:
            a.tags |= {"ai", "software"}
        shown = a.name.get(lang)
        reason = Bi(
            f"분류 결과를 그대로 쓸 수 없어({why_ko}) 카테고리·사용목적 등 다른 필드로 다시 "
            f"분류했습니다: '{shown}'.",
            f"The classification could not be used ({why_en}); the device was classified "
            f"again from the other fields: '{shown}'.",
        )
        return Resolution(a, "device", "reclassified", reason.get(lang), shown)
    shown = (req.category.name or names or a.name.get(lang)).strip()
    reason = Bi(
        f"분류 결과를 그대로 쓸 수 없어({why_ko}) 다른 필드로 다시 분류한 결과 의료기기가 "
        "아니어서 비의료기기 경로를 계획했습니다.",
        f"The classification could not be used ({why_en}); classified again from the other "
        "fields it is not a medical device, so the non-device route was planned.",
    )
    nd = _non_device(shown, None, lang)
    nd.code = a.code
    return Resolution(nd, "non-device", "reclassified", reason.get(lang), shown)


def resolve(req: StandardsRequest, *, purpose: str, lang: Lang) -> Resolution:
    """The device to plan for: the classification given, or a new one when it is unusable."""
    hint_named = bool(req.category.name.strip() or archetype(req.category.code))
    problems, named = _problems(req.classification, hint_named)
    if not problems and req.classification is not None:
        return _given(req, req.classification, named, lang)
    return _reclassified(req, problems, purpose, lang)


_KIND_TAGS: tuple[tuple[tuple[str, ...], frozenset[str]], ...] = (
    (("이식형", "implantable"), frozenset({"implant", "body_contact", "sterile"})),
    (("수술적 침습", "surgically invasive"), frozenset({"body_contact", "sterile"})),
    (("체강 침습", "orifice"), frozenset({"body_contact"})),
    (("능동", "active"), frozenset({"active", "software"})),
)


def assess_named_category(
    *, code: str, name: str, description: str, described: str, lang: Lang
) -> Assessment:
    """The device a category (as /api/purpose receives it) names: our code, then an exact
    archetype name, then the classifier over the names (and any real description)."""
    text = " ".join(x for x in (name, description, described) if x and x.strip())
    arch = archetype(code) or archetype_by_name(name)
    if arch is not None:
        return assess_category(arch.code, text, lang)
    a = assess(f"{name} {description}".strip(), lang)
    if a.is_device or normalise(name).startswith(_NON_DEVICE_PREFIXES):
        return a
    if described:
        wider = assess(text, lang)
        if wider.is_device:
            return wider
    if not name.strip():
        return a
    # A generic name from /api/classify ("이식형 의료기기", "Software as a medical device …").
    norm = normalise(name)
    software = any(t in norm for t in ("소프트웨어", "software", "samd"))
    g = generic_profile(_blank(lang), None, software, None)
    for words, tags in _KIND_TAGS:
        if any(w in norm for w in words):
            g.tags |= tags
    g.name = Bi(name, name)
    return g
