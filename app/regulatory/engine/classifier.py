"""First-pass medical-device classification from free text (docs/regulatory-rules.md).

Order of reasoning:
1. A known device archetype (MFDS 품목 idea) decides the classes directly.
2. Otherwise a medical purpose (MFDS definition) plus a disease/injury makes it a device;
   software is classified with the IMDRF SaMD matrix / EU Rule 11, hardware with the
   EU MDR Annex VIII rules (highest applicable rule wins).
3. Wellness, administrative and storage/communication-only claims without a disease
   claim are not devices.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from app.regulatory.engine import archetype_data as ad
from app.regulatory.engine import rules_data as rd
from app.regulatory.engine.rules_data import Archetype, RiskClass, Significance, Situation
from app.regulatory.engine.text import (
    Bi,
    Lang,
    Lexicon,
    LexiconIndex,
    compile_terms,
    detect_language,
    normalise,
    word_count,
)

# Compiled once at import: classification must stay in the low milliseconds.
_PURPOSES: tuple[tuple[rd.TermTable, Lexicon], ...] = tuple(
    (t, compile_terms(t.key, t.terms)) for t in rd.PURPOSE_TABLES
)
_CONDITION = compile_terms("condition", rd.CONDITION_TERMS.terms)
_NON_DEVICE: tuple[tuple[rd.TermTable, Lexicon], ...] = tuple(
    (t, compile_terms(t.key, t.terms)) for t in rd.NON_DEVICE_TABLES
)
_SOFTWARE = compile_terms("software", rd.SOFTWARE_TERMS)
_AI = compile_terms("ai", rd.AI_TERMS)
_NOVELTY = compile_terms("novelty", rd.NOVELTY_TERMS)
_AID = compile_terms("aid", rd.AID_TERMS)
_SIGNIFICANCE: dict[str, tuple[rd.TermTable, Lexicon]] = {
    t.key: (t, compile_terms(t.key, t.terms)) for t in rd.SIGNIFICANCE_TABLES
}
_SITUATION: tuple[tuple[rd.TermTable, Lexicon], ...] = tuple(
    (t, compile_terms(t.key, t.terms)) for t in rd.SITUATION_TABLES
)
_FEATURES: tuple[tuple[rd.TermTable, Lexicon], ...] = tuple(
    (t, compile_terms(t.key, t.terms)) for t in rd.FEATURE_TABLES
)
_ARCHETYPES: tuple[tuple[int, Archetype, tuple[Lexicon, ...], Lexicon | None], ...] = tuple(
    (
        i,
        a,
        tuple(compile_terms(f"{a.code}#{g}", grp) for g, grp in enumerate(a.all_of)),
        compile_terms(f"{a.code}#not", a.none_of) if a.none_of else None,
    )
    for i, a in enumerate(ad.ALL_ARCHETYPES)
)

_FIRST_GROUPS = LexiconIndex((i, groups[0]) for i, _, groups, _ in _ARCHETYPES)

_BODY_INVASIVE = compile_terms(
    "body_invasive",
    next(t.terms for t in rd.FEATURE_TABLES if t.key == "implant")
    + next(t.terms for t in rd.FEATURE_TABLES if t.key == "surgical"),
)
_IMPLANTED = compile_terms(
    "implanted", ("이식형", "체내 이식", "체내이식", "삽입형", "implantable", "implanted")
)
_INVASIVE = frozenset({"implant", "surgical", "orifice", "wound", "contraception", "medicinal"})
_CLASS_TO_62304: dict[RiskClass, str] = {"I": "A", "II": "B", "III": "C", "IV": "C"}
_RANK: dict[RiskClass, int] = {"I": 1, "II": 2, "III": 3, "IV": 4}
_THIN_WORDS = 3
MFDS_GRADE: dict[RiskClass, int] = {"I": 1, "II": 2, "III": 3, "IV": 4}


@dataclass(slots=True)
class Assessment:
    """Everything the engine concluded about one concept, before it becomes a response."""

    language: Lang
    is_device: bool
    confidence: float
    code: str
    name: Bi
    description: Bi
    reasons: list[str] = field(default_factory=list)
    rules_fired: list[str] = field(default_factory=list)
    mfds: RiskClass | None = None
    eu_class: str | None = None
    eu_rule: str | None = None
    eu_framework: str = "EU MDR 2017/745"
    fda_class: str | None = None
    fda_pathway: str | None = None
    fda_regulation: str | None = None
    imdrf: RiskClass | None = None
    significance: Significance | None = None
    situation: Situation | None = None
    iec62304: str | None = None
    tags: set[str] = field(default_factory=set)
    source: str = ""
    related: list[str] = field(default_factory=list)
    alternates: list[Archetype] = field(default_factory=list)
    extra_standards: list[str] = field(default_factory=list)
    conditions: list[str] = field(default_factory=list)
    novel: bool = False

    @property
    def software(self) -> bool:
        """Standalone or embedded software is part of the device."""
        return "software" in self.tags

    @property
    def standalone_software(self) -> bool:
        """Software as a medical device (no hardware of its own)."""
        return "health_software" in self.tags

    @property
    def ai(self) -> bool:
        """The device relies on machine learning."""
        return "ai" in self.tags


@dataclass(slots=True)
class _Signals:
    norm: str
    purposes: dict[str, list[str]]
    conditions: list[str]
    non_device: list[tuple[rd.TermTable, list[str]]]
    software: bool
    ai: bool
    novel: bool
    thin: bool
    archetypes: list[tuple[Archetype, list[str]]]


def _clamp(value: float) -> float:
    return round(max(0.15, min(0.97, value)), 2)


def match_archetypes(norm: str) -> list[tuple[Archetype, list[str]]]:
    """Archetypes whose every term group hits, most specific first (more groups, then order)."""
    found: list[tuple[int, int, Archetype, tuple[Lexicon, ...]]] = []
    # Only the types whose first group occurs are tried further: a handful, not 160+.
    for index in sorted(_FIRST_GROUPS.hits(norm)):
        _, arch, groups, veto = _ARCHETYPES[index]
        if all(lex.hit(norm) for lex in groups[1:]) and not (veto is not None and veto.hit(norm)):
            found.append((-len(groups), index, arch, groups))
    refined = {code for _, _, arch, _ in found for code in arch.refines}
    found = [item for item in found if item[2].code not in refined]
    found.sort(key=lambda item: (item[0], item[1]))
    # Only the winner's terms are quoted in the reasoning: find them for it alone.
    return [
        (arch, [max(lex.find(norm), key=len) for lex in groups] if i == 0 else [])
        for i, (_, _, arch, groups) in enumerate(found)
    ]


def _signals(text: str) -> _Signals:
    norm = normalise(text)
    return _Signals(
        norm=norm,
        purposes={t.key: h for t, lex in _PURPOSES if (h := lex.find(norm))},
        conditions=_CONDITION.find(norm),
        non_device=[(t, h) for t, lex in _NON_DEVICE if (h := lex.find(norm))],
        software=_SOFTWARE.hit(norm),
        ai=_AI.hit(norm),
        novel=_NOVELTY.hit(norm),
        thin=word_count(norm) < _THIN_WORDS,
        archetypes=match_archetypes(norm),
    )


def _quote(terms: list[str], limit: int = 4) -> str:
    return ", ".join(f"'{t}'" for t in terms[:limit])


def _purpose_phrase(sig: _Signals, lang: Lang) -> str:
    labels = [t.label.get(lang) for t, _ in _PURPOSES if t.key in sig.purposes]
    return ", ".join(labels)


def _situation(norm: str) -> tuple[Situation | None, list[str]]:
    for table, lex in _SITUATION:
        hits = lex.find(norm)
        if hits:
            key: Situation = table.key  # type: ignore[assignment]
            return key, hits
    return None, []


def _significance(norm: str) -> tuple[Significance | None, list[str]]:
    _, td_lex = _SIGNIFICANCE["treat_diagnose"]
    _, drive_lex = _SIGNIFICANCE["drive"]
    _, inform_lex = _SIGNIFICANCE["inform"]
    td = td_lex.find(norm)
    drive = drive_lex.find(norm)
    # "진단 보조" / "diagnostic aid": the clinician decides, so the software drives, not diagnoses.
    if td and not _AID.hit(norm):
        return "treat_diagnose", td
    if td or drive:
        return "drive", td + drive
    inform = inform_lex.find(norm)
    if inform:
        return "inform", inform
    return None, []


def assess(text: str, language: Lang | None = None) -> Assessment:
    """Classify a concept (plus any context text) into an Assessment."""
    lang = language or detect_language(text)
    sig = _signals(text)
    if sig.archetypes:
        return _from_archetype(sig, lang)
    strong = {k for k in sig.purposes if k != "monitor"}
    if sig.purposes and sig.conditions:
        return _generic_device(sig, lang, strong_claim=True)
    if strong and not sig.non_device:
        return _generic_device(sig, lang, strong_claim=False)
    if sig.conditions and not sig.non_device and not sig.purposes:
        return _generic_device(sig, lang, strong_claim=False, assumed="condition")
    if not sig.non_device and not sig.purposes and _BODY_INVASIVE.hit(sig.norm):
        return _generic_device(sig, lang, strong_claim=False, assumed="invasive")
    return _non_device(sig, lang)


# --- archetype path -----------------------------------------------------------------------


def _from_archetype(sig: _Signals, lang: Lang) -> Assessment:
    arch, hits = sig.archetypes[0]
    a = Assessment(
        language=lang,
        is_device=True,
        confidence=arch.confidence,
        code=arch.code,
        name=arch.name,
        description=arch.description,
        mfds=arch.mfds,
        eu_class=arch.eu_class,
        eu_rule=arch.eu_rule,
        eu_framework=arch.eu_framework,
        fda_class=arch.fda_class,
        fda_pathway=arch.fda_pathway,
        fda_regulation=arch.fda_regulation,
        imdrf=arch.imdrf,
        iec62304=arch.iec62304,
        tags=set(arch.tags),
        source=arch.source,
        related=list(arch.related),
        alternates=[other for other, _ in sig.archetypes[1:3]],
        extra_standards=list(arch.extra_standards),
        conditions=sig.conditions,
        novel=sig.novel,
    )
    if sig.ai:
        a.tags.add("ai")
    a.rules_fired.append(f"ARCHETYPE:{arch.code}")
    a.rules_fired.append(f"{arch.eu_framework} Annex VIII {arch.eu_rule.split(' (')[0]}")
    name = arch.name.get(lang)
    a.reasons.append(
        Bi(
            f"{_quote(hits)} 표현이 '{name}' 품목에 해당합니다 (근거: {arch.source}).",
            f"The terms {_quote(hits)} match the device type '{name}' (source: {arch.source}).",
        ).get(lang)
    )
    if arch.imdrf is not None:
        _escalate_software(a, sig, lang)
    if "active" in a.tags and "implant" not in a.tags and _IMPLANTED.hit(sig.norm):
        _escalate_active_implant(a, lang)
    if sig.non_device and not sig.purposes:
        a.confidence -= 0.1
        a.reasons.append(
            Bi(
                "웰니스·행정 목적 표현도 있어 사용목적 확인이 필요합니다.",
                "Wellness/administrative wording is also present; confirm the intended use.",
            ).get(lang)
        )
    if sig.thin:
        # A bare product name ("pacemaker") is still a strong signal: a small penalty only.
        a.confidence -= 0.05
    _append_class_reasons(a, lang)
    a.confidence = _clamp(a.confidence)
    return a


def _escalate_active_implant(a: Assessment, lang: Lang) -> None:
    """An active device type made implantable is an active implantable device: MFDS class 4,
    EU class III (MDR Annex VIII Rule 8; the former AIMD Directive 90/385), FDA PMA."""
    a.mfds = "IV"
    a.eu_class = "III"
    a.eu_rule = "Rule 8 (active implantable device → III)"
    a.fda_class, a.fda_pathway = "III", "PMA"
    a.iec62304 = "C"
    a.tags |= {"implant", "sterile", "body_contact", "clinical_investigation"}
    a.rules_fired.append("AIMD escalation (active + implantable → MFDS IV / EU III)")
    a.reasons.append(
        Bi(
            "능동 기기를 체내에 이식하므로 능동 이식형 의료기기로 보아 4등급(EU III)으로 "
            "상향합니다.",
            "An active device that is implanted is an active implantable device: raised to "
            "MFDS class IV (EU class III).",
        ).get(lang)
    )


def _escalate_software(a: Assessment, sig: _Signals, lang: Lang) -> None:
    """A stated critical situation raises a software archetype's class (IMDRF N12 §7)."""
    situation, hits = _situation(sig.norm)
    significance, _ = _significance(sig.norm)
    a.situation = situation
    a.significance = significance
    if situation is None or significance is None or a.imdrf is None:
        return
    generic = rd.SAMD_MATRIX[(situation, significance)]
    if _RANK[generic] <= _RANK[a.imdrf]:
        return
    a.imdrf = generic
    a.mfds = generic
    a.eu_class = rd.RULE11_MATRIX[(situation, significance)]
    a.eu_rule = f"Rule 11 ({significance} × {situation})"
    fda_class, fda_pathway = rd.SAMD_TO_FDA[generic]
    if fda_class == "III":
        # Only a jump to class III changes the US route; class II types keep their predicates.
        a.fda_class, a.fda_pathway = fda_class, fda_pathway
    a.iec62304 = "C" if situation == "critical" else a.iec62304
    a.rules_fired.append(f"IMDRF N12 escalation ({significance} × {situation})")
    a.reasons.append(
        Bi(
            f"{_quote(hits)} 은(는) 위급/심각 상황을 뜻하므로 IMDRF 범주를 {generic}로 상향합니다.",
            f"{_quote(hits)} indicate a more severe situation, so the IMDRF category rises "
            f"to {generic}.",
        ).get(lang)
    )


# --- generic device path ------------------------------------------------------------------


def _generic_device(
    sig: _Signals, lang: Lang, *, strong_claim: bool, assumed: str | None = None
) -> Assessment:
    features = {t.key for t, lex in _FEATURES if lex.hit(sig.norm)}
    purpose = _purpose_phrase(sig, lang)
    a = Assessment(
        language=lang,
        is_device=True,
        confidence=0.5,
        code="",
        name=Bi("", ""),
        description=Bi("", ""),
        conditions=sig.conditions,
        novel=sig.novel,
    )
    a.rules_fired.append("MFDS-DEF:" + "+".join(sorted(sig.purposes)) if sig.purposes else "")
    a.rules_fired = [r for r in a.rules_fired if r]
    if assumed == "invasive":
        a.reasons.append(
            Bi(
                "사용목적은 없으나 인체 이식·수술적 침습 제품은 의료 목적으로 쓰이는 것이 일반적이어서 "
                "의료기기로 가정하고 낮은 신뢰도로 분류합니다.",
                "No purpose is stated, but implantable/surgically invasive products are "
                "almost always medical; a device is assumed with low confidence.",
            ).get(lang)
        )
        a.confidence -= 0.1
    elif assumed == "condition":
        a.reasons.append(
            Bi(
                f"질병 관련 표현({_quote(sig.conditions)})은 있으나 사용목적 동사가 없어, "
                "의료 목적으로 가정하고 낮은 신뢰도로 분류합니다.",
                f"Disease terms ({_quote(sig.conditions)}) appear without a stated purpose; "
                "a medical purpose is assumed with low confidence.",
            ).get(lang)
        )
        a.confidence -= 0.1
    else:
        a.reasons.append(
            Bi(
                f"의료기기법 제2조의 의료 목적({purpose})이 확인되어 의료기기에 해당합니다.",
                f"A medical purpose under the MFDS definition ({purpose}) makes it a "
                "medical device.",
            ).get(lang)
        )
    if sig.non_device:
        table, hits = sig.non_device[0]
        a.reasons.append(
            Bi(
                f"{_quote(hits)} 표현이 있으나 질병 관련 주장이 있어 웰니스/행정 예외를 적용하지 "
                "않습니다.",
                f"{_quote(hits)} suggest {table.label.en}, but the disease claim takes precedence.",
            ).get(lang)
        )
    evidence = len(sig.purposes) + (1 if sig.conditions else 0) + (1 if strong_claim else 0)
    a.confidence += 0.06 * min(evidence, 4)
    invasive = bool(features & _INVASIVE)
    if sig.software and not invasive:
        _classify_samd(a, sig, lang)
    else:
        _classify_hardware(a, sig, features, lang)
    if sig.ai:
        a.tags.add("ai")
    if sig.thin:
        a.confidence -= 0.12
    _append_class_reasons(a, lang)
    a.confidence = _clamp(a.confidence)
    return a


def _classify_samd(a: Assessment, sig: _Signals, lang: Lang) -> None:
    situation, sit_hits = _situation(sig.norm)
    significance, sig_hits = _significance(sig.norm)
    if situation is None:
        situation = "serious"
        a.confidence -= 0.1
        a.reasons.append(
            Bi(
                "의료 상황(위급/심각/비심각) 정보가 없어 '심각'으로 가정했습니다.",
                "No healthcare-situation information; 'serious' was assumed.",
            ).get(lang)
        )
    else:
        a.confidence += 0.05
    if significance is None:
        significance = "drive"
        a.confidence -= 0.08
        a.reasons.append(
            Bi(
                "정보의 중요도가 명시되지 않아 '임상 관리 유도'로 가정했습니다.",
                "The significance of the information is not stated; 'drive' was assumed.",
            ).get(lang)
        )
    a.situation, a.significance = situation, significance
    sig_label = _SIGNIFICANCE[significance][0].label.get(lang)
    sit_label = next(t.label.get(lang) for t, _ in _SITUATION if t.key == situation)
    a.imdrf = rd.SAMD_MATRIX[(situation, significance)]
    a.eu_class = rd.RULE11_MATRIX[(situation, significance)]
    a.eu_rule = f"Rule 11 ({significance} × {situation}, MDCG 2019-11)"
    a.mfds = a.imdrf
    a.fda_class, a.fda_pathway = rd.SAMD_TO_FDA[a.imdrf]
    if sig.novel and a.fda_class == "II":
        a.fda_pathway = "De Novo"
    a.fda_regulation = "21 CFR 860 (classification by intended use; predicate search needed)"
    if situation == "critical" or (significance == "treat_diagnose" and situation == "serious"):
        a.iec62304 = "C"
    elif a.imdrf == "I" and significance == "inform":
        a.iec62304 = "A"
    else:
        a.iec62304 = "B"
    a.code = "SW-SAMD"
    sig_bi = _SIGNIFICANCE[significance][0].label
    a.name = Bi(
        f"의료기기 소프트웨어 (SaMD · {sig_bi.ko})",
        f"Software as a medical device (SaMD, {sig_bi.en})",
    )
    a.description = Bi(
        f"{_SIGNIFICANCE[significance][0].label.ko} 목적의 독립형 소프트웨어",
        f"Standalone software intended to {_SIGNIFICANCE[significance][0].label.en}",
    )
    a.tags |= {"software", "health_software", "connected"}
    a.source = f"{rd.SRC_IMDRF}; {rd.SRC_RULE11}; {rd.SRC_MFDS_SW}"
    a.related = ["SW-CADE", "SW-CADX"] if "imaging" in a.tags else []
    a.rules_fired += [
        f"IMDRF N12 Table 1 ({significance} × {situation} → {a.imdrf})",
        f"EU MDR Annex VIII Rule 11 → {a.eu_class}",
        f"IEC 62304 §4.3 → {a.iec62304}",
    ]
    quoted = _quote(sit_hits + sig_hits)
    a.reasons.append(
        Bi(
            f"소프트웨어 단독 제품으로, 정보의 중요도 '{sig_label}' × 상황 '{sit_label}' "
            f"({quoted}) → IMDRF SaMD 범주 {a.imdrf} (IMDRF N12 표 1).",
            f"Standalone software: significance '{sig_label}' × situation '{sit_label}' "
            f"({quoted}) → IMDRF SaMD category {a.imdrf} (IMDRF N12 Table 1).",
        ).get(lang)
    )


def _classify_hardware(a: Assessment, sig: _Signals, features: set[str], lang: Lang) -> None:
    assumed_duration = False
    if "implant" in features:
        features.add("long_term")
    if features & {"surgical", "orifice"} and not features & {
        "transient",
        "short_term",
        "long_term",
    }:
        features.add("transient")
        assumed_duration = True
    if sig.software:
        features.add("active")
    fired = [r for r in rd.HARDWARE_RULES if r.requires <= features and not (r.excludes & features)]
    winner = max(fired, key=lambda r: (rd.EU_CLASS_RANK[r.eu_class], len(r.requires)))
    a.eu_class = winner.eu_class
    a.eu_rule = f"{winner.rule_id} ({winner.note.en})"
    a.mfds = rd.EU_TO_MFDS[winner.eu_class]
    a.fda_class, a.fda_pathway = rd.EU_TO_FDA[winner.eu_class]
    if sig.novel and a.fda_class == "II":
        a.fda_pathway = "De Novo"
    a.fda_regulation = "21 CFR 860 (classification by product code; predicate search needed)"
    a.source = f"{rd.SRC_ANNEX8}; {rd.SRC_MFDS_ITEMS} (EU↔MFDS class correspondence)"
    fired_text = "; ".join(
        f"{r.rule_id}: {r.note.get(lang)}"
        for r in sorted(fired, key=lambda r: -rd.EU_CLASS_RANK[r.eu_class])[:4]
    )
    a.reasons.append(
        Bi(
            f"하드웨어 규칙 적용 — {fired_text}. 둘 이상이면 가장 높은 등급을 적용합니다 "
            "(EU MDR Annex VIII §3.5).",
            f"Hardware rules fired — {fired_text}. When several apply the strictest wins "
            "(EU MDR Annex VIII §3.5).",
        ).get(lang)
    )
    if assumed_duration:
        a.confidence -= 0.08
        a.reasons.append(
            Bi(
                "사용 기간 정보가 없어 일시 사용(60분 미만)으로 가정했습니다.",
                "No contact duration given; transient use (< 60 min) was assumed.",
            ).get(lang)
        )
    a.confidence += 0.03 * min(len(features), 4)
    a.rules_fired += [f"EU MDR Annex VIII {r.rule_id} → {r.eu_class}" for r in fired if r.requires]
    a.rules_fired.append(f"WINNER {winner.rule_id} → {winner.eu_class}")
    if "active" in features:
        a.tags |= {"active", "software"}
        a.iec62304 = _CLASS_TO_62304[a.mfds]
    if features & (_INVASIVE | {"orifice"}) or "wound" in features:
        a.tags.add("body_contact")
    if features & {"surgical", "implant"}:
        a.tags.add("sterile")
    if "implant" in features:
        a.tags.add("implant")
    if "reusable" in features:
        a.tags.add("reusable")
    if sig.software:
        a.tags.add("connected")
    if a.eu_class == "III" or "implant" in features:
        a.tags.add("clinical_investigation")
    kind = (
        Bi("이식형 의료기기", "Implantable medical device")
        if "implant" in features
        else Bi("수술적 침습 의료기기", "Surgically invasive medical device")
        if "surgical" in features
        else Bi("체강 침습 의료기기", "Body-orifice invasive medical device")
        if "orifice" in features
        else Bi("능동 의료기기", "Active medical device")
        if "active" in features
        else Bi("비침습 의료기기", "Non-invasive medical device")
    )
    a.code = "HW-GENERIC"
    a.name = kind
    a.description = Bi(
        f"{kind.ko} (EU MDR Annex VIII {winner.rule_id} 기준 {winner.eu_class})",
        f"{kind.en} (EU MDR Annex VIII {winner.rule_id}, class {winner.eu_class})",
    )


# --- non-device path ----------------------------------------------------------------------


def _non_device(sig: _Signals, lang: Lang) -> Assessment:
    if sig.non_device:
        table, hits = sig.non_device[0]
        confidence = 0.85 if not sig.purposes else 0.7
        a = Assessment(
            language=lang,
            is_device=False,
            confidence=confidence,
            code=table.key,
            name=Bi(f"비의료기기 — {table.label.ko}", f"Not a medical device — {table.label.en}"),
            description=table.label,
            source=table.source,
        )
        a.rules_fired.append(f"NON-DEVICE:{table.key}")
        a.reasons.append(
            Bi(
                f"{_quote(hits)} 표현으로 {table.label.ko}에 해당하며, 질병의 진단·치료·예방 등 "
                f"의료 목적을 표방하지 않으므로 의료기기가 아닙니다 (근거: {table.source}).",
                f"{_quote(hits)} point to {table.label.en}, with no claim to diagnose, treat "
                f"or prevent disease, so it is not a medical device (source: {table.source}).",
            ).get(lang)
        )
    elif sig.purposes:
        a = Assessment(
            language=lang,
            is_device=False,
            confidence=0.45,
            code="ND-NO-DISEASE-CLAIM",
            name=Bi("비의료기기 (질병 관련 주장 없음)", "Not a medical device (no disease claim)"),
            description=Bi(
                "질병 관련 주장이 없는 측정·관찰 제품", "Measurement without a disease claim"
            ),
            source=rd.SRC_MFDS_WELLNESS,
        )
        a.rules_fired.append("NON-DEVICE:NO-DISEASE-CLAIM")
        a.reasons.append(
            Bi(
                f"{_purpose_phrase(sig, 'ko')} 표현은 있으나 특정 질병·상해와 연결되지 않아 "
                "건강관리(웰니스) 제품으로 봅니다. 질병 관련 주장을 추가하면 의료기기가 됩니다.",
                f"It mentions {_purpose_phrase(sig, 'en')} but not a disease or injury, so it "
                "reads as a wellness product; adding a disease claim would make it a device.",
            ).get(lang)
        )
    else:
        a = Assessment(
            language=lang,
            is_device=False,
            confidence=0.35,
            code="ND-NO-MEDICAL-PURPOSE",
            name=Bi("비의료기기 (의료 목적 미확인)", "Not a medical device (no medical purpose)"),
            description=Bi("의료 목적이 확인되지 않은 제품", "No medical purpose identified"),
            source=rd.SRC_MFDS_DEF,
        )
        a.rules_fired.append("NON-DEVICE:NO-MEDICAL-PURPOSE")
        a.reasons.append(
            Bi(
                "의료기기법 제2조의 의료 목적(진단·치료·예방·모니터링·완화·해부/생리 검사·임신 "
                "조절)을 나타내는 표현을 찾지 못했습니다. 사용목적을 더 구체적으로 적어 주세요.",
                "No medical purpose under the MFDS definition (diagnose, treat, prevent, "
                "monitor, alleviate, examine anatomy/physiology, control conception) was found; "
                "describe the intended use in more detail.",
            ).get(lang)
        )
    if sig.thin:
        a.confidence -= 0.1
    a.confidence = _clamp(a.confidence)
    return a


def _append_class_reasons(a: Assessment, lang: Lang) -> None:
    if a.mfds is None:
        return
    route = rd.MFDS_ROUTE[a.mfds].get(lang)
    parts_ko = [f"MFDS {MFDS_GRADE[a.mfds]}등급 ({route})"]
    parts_en = [f"MFDS class {a.mfds} ({route})"]
    if a.eu_class:
        parts_ko.append(f"{a.eu_framework} {a.eu_class} [{a.eu_rule}]")
        parts_en.append(f"{a.eu_framework} {a.eu_class} [{a.eu_rule}]")
    if a.fda_class:
        parts_ko.append(f"FDA Class {a.fda_class} · {a.fda_pathway}")
        parts_en.append(f"FDA class {a.fda_class} · {a.fda_pathway}")
    if a.imdrf:
        parts_ko.append(f"IMDRF SaMD 범주 {a.imdrf}")
        parts_en.append(f"IMDRF SaMD category {a.imdrf}")
    if a.iec62304:
        parts_ko.append(f"IEC 62304 안전등급 {a.iec62304}")
        parts_en.append(f"IEC 62304 safety class {a.iec62304}")
    a.reasons.append(
        Bi(
            "1차 판정: " + "; ".join(parts_ko) + ".", "First pass: " + "; ".join(parts_en) + "."
        ).get(lang)
    )
    if a.confidence < 0.6:
        a.reasons.append(
            Bi(
                "근거 표현이 적어 신뢰도가 낮습니다. 사용목적·대상 질환·사용 환경을 보완해 주세요.",
                "Few signals were found, so confidence is low; add intended use, target "
                "condition and use environment.",
            ).get(lang)
        )


def archetype(code: str) -> Archetype | None:
    """Look up an archetype by its category code."""
    return ad.ARCHETYPES_BY_CODE.get(code.strip().upper()) if code else None


def assess_category(code: str, text: str, language: Lang) -> Assessment:
    """Assess a chosen category: a known code decides the archetype, else read the text."""
    arch = archetype(code)
    if arch is None:
        return assess(text, language)
    sig = _signals(text)
    sig.archetypes = [(arch, [arch.name.get(language)])]
    sig.thin = False
    return _from_archetype(sig, language)
