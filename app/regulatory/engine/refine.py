"""Apply a free-text modification ("임상시험 기간을 줄여줘", "add cybersecurity") to a plan.

Each recognised intent edits the plan for real (phases, tests, documents, standards) and
the total duration is recomputed from the critical path. Text no rule understands is
kept as a recommendation, and applied_changes says so: nothing is silently dropped.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass

from app.regulatory.engine.plan_data import KRW_PER_USD
from app.regulatory.engine.text import Bi, Lang, Lexicon, compile_terms, normalise
from app.regulatory.engine.timeline import (
    format_total,
    format_weeks,
    parse_weeks,
    total_weeks,
)
from app.regulatory.schemas.analysis import Plan, TimelineItem

_T = compile_terms  # short alias keeps the intent table readable

# fmt: off
CLINICAL = _T("clinical", ("임상", "clinical", "trial", "trials", "clinical stud*"))
APPROVAL = _T("approval", ("승인", "approval", "ide", "irb", "ind"))
SHORTEN = _T("shorten", (
    "줄", "단축", "짧", "빠르", "빨리", "감소", "축소",
    "shorten*", "reduc*", "cut", "cuts", "fewer", "faster", "less", "speed up",
    "accelerat*", "quicker", "compress*", "shorter", "shrink*", "trim*", "halve", "quick*",
    "decreas*", "sooner",
))
TIME = _T("time", (
    "기간", "일정", "전체", "시간", "빠르게", "빨리", "timeline*", "schedule*", "duration",
    "time", "faster", "quicker", "speed up", "sooner", "accelerat*", "overall", "total",
    "months", "weeks", "quick*", "전반",
))
ADD = _T("add", (
    "추가", "강화", "늘려", "늘리", "확대", "보강", "포함", "넣어", "더 많은", "add*", "more",
    "strengthen*", "extend*", "increase*", "include*", "prospective", "전향", "bolster*",
    "expand*", "additional", "another", "reinforc*",
))
COST = _T("cost", (
    "비용", "예산", "저렴", "돈", "가격", "cost*", "budget*", "cheap*", "expens*", "price*",
    "spend*",
))
REDUCE = _T("reduce", (
    "줄", "절감", "낮", "감소", "아끼", "저렴", "싸게", "reduc*", "cut", "cuts", "lower*", "sav*",
    "cheap*", "less", "minimi*", "decreas*", "trim*",
))
CYBER = _T("cyber", (
    "사이버", "보안", "해킹", "침투", "취약점", "cyber*", "security", "penetration", "pentest*",
    "sbom", "vulnerabilit*", "81001",
))
USABILITY = _T("usability", (
    "사용적합성", "사용성", "인간공학", "사용 적합성", "휴먼팩터", "usability", "human factors",
    "human factor", "62366", "use error*", "사용오류",
))
REMOVE = _T("remove", (
    "제외", "빼", "삭제", "없이", "제거", "필요 없", "필요없", "안 해도", "remove*", "drop*",
    "exclude*", "without", "skip*", "omit*", "eliminat*", "take out", "leave out", "not needed",
    "don't need", "dont need",
))
EU = _T("eu", ("유럽", "ce 인증", "ce 마킹", "ce", "mdr", "eu", "europe*", "notified body"))
FDA = _T("fda", (
    "fda", "미국", "510(k)", "de novo", "usa", "united states", "us market", "america*",
    "u.s. market",
))
MFDS = _T("mfds", ("식약처", "mfds", "한국", "국내", "korea*", "kfda"))
PCCP = _T("pccp", (
    "pccp", "변경관리계획", "변경 관리 계획", "사전 변경", "change control plan", "predetermined change",
))
REVIEW = _T("review", (
    "심사", "신고", "적합성평가", "review", "listing", "conformity assessment", "notified body",
))
DOCS = _T("docs", ("기술문서", "technical documentation", "technical file"))
DESIGN = _T("design", ("62304", "설계", "design"))
# fmt: on
_STANDARD_CODE = re.compile(r"\b((?:ISO|IEC|EN|ISO/IEC)\s?\d{4,5}(?:-\d+)*(?::\d{4})?)", re.I)


@dataclass(frozen=True, slots=True)
class Intent:
    """A modification the engine knows how to apply."""

    key: str
    all_of: tuple[Lexicon, ...]
    none_of: tuple[Lexicon, ...] = ()

    def matches(self, norm: str) -> bool:
        """Every required lexicon hits and no excluded one does."""
        return all(x.hit(norm) for x in self.all_of) and not any(x.hit(norm) for x in self.none_of)


INTENTS: tuple[Intent, ...] = (
    Intent("shorten_clinical", (CLINICAL, SHORTEN)),
    Intent("add_clinical", (CLINICAL, ADD), (SHORTEN, REMOVE)),
    Intent("shorten_overall", (SHORTEN, TIME), (CLINICAL, COST)),
    Intent("reduce_cost", (COST, REDUCE)),
    Intent("add_cyber", (CYBER,), (REMOVE,)),
    Intent("add_usability", (USABILITY,), (REMOVE,)),
    Intent("remove_market", (REMOVE,)),
    Intent("add_eu", (EU,), (REMOVE,)),
    Intent("add_fda", (FDA,), (REMOVE,)),
    Intent("add_mfds", (MFDS,), (REMOVE,)),
    Intent("add_pccp", (PCCP,), (REMOVE,)),
)


# What each intent means, for `understood` in the answer (same coverage in both languages).
INTENT_LABELS: dict[str, Bi] = {
    "shorten_clinical": Bi("임상 단계 기간 단축", "shorten the clinical phase"),
    "add_clinical": Bi("임상 근거 추가", "add clinical evidence"),
    "shorten_overall": Bi("전체 일정 단축", "shorten the overall timeline"),
    "reduce_cost": Bi("비용 절감", "reduce cost"),
    "add_cyber": Bi("사이버보안 추가", "add cybersecurity"),
    "add_usability": Bi("사용적합성 추가", "add usability engineering"),
    "remove_market": Bi("시장(심사 단계) 제외", "remove a market's review phase"),
    "add_eu": Bi("EU 적합성평가 추가", "add the EU conformity assessment"),
    "add_fda": Bi("FDA 심사 추가", "add the FDA review"),
    "add_mfds": Bi("MFDS 심사 추가", "add the MFDS review"),
    "add_pccp": Bi("PCCP 추가", "add a PCCP"),
}


# Intents that only make sense on a device route (submissions, clinical evidence, PCCP).
DEVICE_ONLY_INTENTS = frozenset(
    {"shorten_clinical", "add_clinical", "add_eu", "add_fda", "add_mfds", "add_pccp"}
)


class _Ctx:
    """The plan being edited plus the language and the change log."""

    def __init__(self, plan: Plan, lang: Lang, norm: str) -> None:
        self.plan = plan
        self.lang = lang
        self.norm = norm
        self.changes: list[str] = []
        self.timeline_changed = False

    def say(self, ko: str, en: str) -> str:
        return Bi(ko, en).get(self.lang)

    def log(self, ko: str, en: str) -> None:
        self.changes.append(self.say(ko, en))

    def items(self) -> list[TimelineItem]:
        return [*self.plan.common_standards.timeline, *self.plan.performance_evaluation.timeline]

    def find(self, lex: Lexicon) -> list[TimelineItem]:
        return [i for i in self.items() if lex.hit(normalise(i.phase))]

    def add_unique(self, target: list[str], text: str, marker: str | None = None) -> bool:
        key = (marker or text).lower()
        if any(key in t.lower() for t in target):
            return False
        target.append(text)
        return True

    def link_before_docs(self, phase: str) -> None:
        """Make the technical file wait for a new phase, so it counts in the total."""
        for item in self.find(DOCS):
            deps = item.dependencies or []
            if phase not in deps:
                item.dependencies = [*deps, phase]

    def docs_phase(self) -> list[str] | None:
        docs = self.find(DOCS)
        return [docs[0].phase] if docs else None


def _shorten_clinical(c: _Ctx) -> None:
    targets = [i for i in c.find(CLINICAL) if not APPROVAL.hit(normalise(i.phase))]
    if not targets:
        c.log(
            "단축할 임상 단계가 없어 변경하지 않았습니다.",
            "There is no clinical phase to shorten; nothing changed.",
        )
        return
    for item in targets:
        old = parse_weeks(item.duration) or 0
        new = max(2, round(old * 0.6))
        item.duration = format_weeks(new, c.lang)
        note = c.say(
            " (단축: 중간분석·적응형 설계, 참여기관 확대)",
            " (shortened: interim analysis, adaptive design, more sites)",
        )
        if note not in item.description:  # repeated refines must not grow the text
            item.description += note
        c.log(f"'{item.phase}' 기간 {old}주 → {new}주", f"'{item.phase}' {old} → {new} weeks")
    c.timeline_changed = True
    c.add_unique(
        c.plan.cons,
        c.say(
            "임상 기간 단축으로 표본·추적 기간이 줄어 보완 요청 위험이 커집니다",
            "A shorter clinical phase means smaller samples/follow-up and more deficiency risk",
        ),
    )
    c.add_unique(
        c.plan.recommendations,
        c.say(
            "임상 참여기관을 늘리고 중간분석을 사전에 규정하세요",
            "Add sites and pre-specify an interim analysis",
        ),
    )


def _add_clinical(c: _Ctx) -> None:
    clinical = [i for i in c.find(CLINICAL) if not APPROVAL.hit(normalise(i.phase))]
    name = c.say(
        "추가 임상 근거 확보 (전향적 연구, ISO 14155)",
        "Additional clinical evidence (prospective study, ISO 14155)",
    )
    if any(i.phase == name for i in c.items()):
        c.log("추가 임상 단계가 이미 있습니다.", "The additional clinical phase already exists.")
        return
    deps = [clinical[-1].phase] if clinical else None
    c.plan.performance_evaluation.timeline.append(
        TimelineItem(
            phase=name,
            description=c.say(
                "전향적 설계로 임상적 유효성 보강", "Prospective evidence of effectiveness"
            ),
            duration=format_weeks(26, c.lang),
            dependencies=deps,
            deliverables=[c.say("임상시험 결과보고서", "Clinical study report")],
        )
    )
    c.link_before_docs(name)
    c.add_unique(c.plan.common_standards.standards, "ISO 14155:2020", "14155")
    c.add_unique(
        c.plan.performance_evaluation.documentation,
        c.say("임상시험계획서·결과보고서", "Clinical investigation plan and report"),
    )
    c.timeline_changed = True
    c.log(f"'{name}' 26주 추가", f"Added '{name}' (26 weeks)")


def _shorten_overall(c: _Ctx) -> None:
    changed = 0
    for item in c.items():
        if REVIEW.hit(normalise(item.phase)):
            continue  # regulators' clocks cannot be compressed by the applicant
        old = parse_weeks(item.duration) or 0
        new = max(1, round(old * 0.85))
        if new < old:
            item.duration = format_weeks(new, c.lang)
            changed += 1
    if changed:
        c.timeline_changed = True
        c.log(
            f"심사를 제외한 {changed}개 단계를 약 15% 단축 (병행 수행)",
            f"Compressed {changed} non-review phases by ~15% (run in parallel)",
        )
        c.add_unique(
            c.plan.cons,
            c.say("병행 수행으로 인력·비용 부담 증가", "Parallel work raises staffing and cost"),
        )
    else:
        c.log("단축할 수 있는 단계가 없습니다.", "No phase could be shortened.")


_KO_COST = re.compile(r"(\d+(?:\.\d+)?)억")
_EN_COST = re.compile(r"(\d+(?:\.\d+)?)([kM])\b")


def _scale_cost(text: str, factor: float, add_mkrw: float) -> str:
    def ko(m: re.Match[str]) -> str:
        return f"{float(m.group(1)) * factor + add_mkrw / 100:.1f}억"

    def en(m: re.Match[str]) -> str:
        usd_k = float(m.group(1)) * (1000 if m.group(2) == "M" else 1)
        usd_k = usd_k * factor + add_mkrw * 1000 / KRW_PER_USD
        return f"{usd_k / 1000:.1f}M" if usd_k >= 1000 else f"{usd_k:.0f}k"

    scaled = _KO_COST.sub(ko, text)
    return _EN_COST.sub(en, scaled)


def _adjust_cost(c: _Ctx, factor: float = 1.0, add_mkrw: float = 0.0) -> None:
    before = c.plan.estimated_cost
    if not before:
        return
    after = _scale_cost(before, factor, add_mkrw)
    if after != before:
        c.plan.estimated_cost = after
        c.log(f"예상 비용 {before} → {after}", f"Estimated cost {before} → {after}")


def _reduce_cost(c: _Ctx) -> None:
    if not c.plan.estimated_cost:
        c.log(
            "예상 비용 정보가 없어 권고만 추가했습니다.",
            "No cost estimate on the plan; only advice was added.",
        )
    _adjust_cost(c, factor=0.8)
    for ko, en in (
        (
            "시험을 공인시험기관 한 곳에 묶어 의뢰하고 기존 시험성적서를 재활용하세요",
            "Bundle tests at one accredited lab and reuse existing reports",
        ),
        (
            "동등 제품·문헌 근거를 최대한 활용해 신규 임상 규모를 줄이세요",
            "Lean on equivalence and literature to shrink new clinical work",
        ),
    ):
        c.add_unique(c.plan.recommendations, c.say(ko, en))
    c.add_unique(
        c.plan.cons,
        c.say(
            "비용 절감으로 근거가 얇아져 보완 요청 위험이 커집니다",
            "Thinner evidence after cost cuts raises deficiency risk",
        ),
    )


def _add_cyber(c: _Ctx) -> None:
    logged = len(c.changes)
    std = c.plan.common_standards
    perf = c.plan.performance_evaluation
    if c.add_unique(
        std.standards,
        c.say(
            "IEC 81001-5-1:2021 — 헬스 소프트웨어 사이버보안",
            "IEC 81001-5-1:2021 — health software cybersecurity",
        ),
        "81001-5-1",
    ):
        c.log("표준 IEC 81001-5-1 추가", "Added standard IEC 81001-5-1")
    for ko, en, marker in (
        ("침투 시험 (penetration testing)", "Penetration testing", "penetration"),
        ("취약점 스캔 및 SBOM 검토", "Vulnerability scanning and SBOM review", "sbom"),
        (
            "위협 모델 기반 보안 시험 (IEC 81001-5-1 §5.7)",
            "Threat-model-based security testing (IEC 81001-5-1 §5.7)",
            "81001-5-1 §5.7",
        ),
    ):
        if c.add_unique(perf.tests, c.say(ko, en), marker):
            c.log(f"시험 추가: {ko}", f"Added test: {en}")
    c.add_unique(
        std.documentation,
        c.say(
            "사이버보안 문서 (위협 모델, SBOM, 취약점 관리 계획 — FD&C Act §524B)",
            "Cybersecurity documentation (threat model, SBOM, vulnerability plan — FD&C Act §524B)",
        ),
        "sbom",
    )
    c.add_unique(perf.documentation, c.say("사이버보안 시험 보고서", "Cybersecurity test report"))
    has_phase = any(CYBER.hit(normalise(i.phase)) for i in c.items())
    if not has_phase:
        design = c.find(DESIGN)
        cyber = c.say("사이버보안 (IEC 81001-5-1)", "Cybersecurity (IEC 81001-5-1)")
        test = c.say("사이버보안 시험", "Cybersecurity testing")
        std.timeline.append(
            TimelineItem(
                phase=cyber,
                description=c.say(
                    "위협 모델링, 보안 요구사항, SBOM", "Threat model, requirements, SBOM"
                ),
                duration=format_weeks(6, c.lang),
                dependencies=[design[0].phase] if design else None,
                deliverables=[c.say("위협 모델·SBOM", "Threat model and SBOM")],
            )
        )
        perf.timeline.append(
            TimelineItem(
                phase=test,
                description=c.say(
                    "침투 시험 및 취약점 스캔", "Penetration test and vulnerability scan"
                ),
                duration=format_weeks(4, c.lang),
                dependencies=[cyber],
                deliverables=[c.say("사이버보안 시험 보고서", "Cybersecurity test report")],
            )
        )
        c.link_before_docs(test)
        c.timeline_changed = True
        c.log(
            "사이버보안 단계(6주)와 시험 단계(4주) 추가",
            "Added cybersecurity (6 weeks) and cybersecurity testing (4 weeks) phases",
        )
    if len(c.changes) == logged:
        c.log(
            "사이버보안 표준·시험·단계가 이미 계획에 있습니다.",
            "Cybersecurity standards, tests and phases are already in the plan.",
        )
        return
    _adjust_cost(c, add_mkrw=40)


def _add_usability(c: _Ctx) -> None:
    logged = len(c.changes)
    std = c.plan.common_standards
    perf = c.plan.performance_evaluation
    if c.add_unique(
        std.standards,
        c.say(
            "IEC 62366-1:2015+A1:2020 — 사용적합성 엔지니어링",
            "IEC 62366-1:2015+A1:2020 — usability engineering",
        ),
        "62366-1",
    ):
        c.log("표준 IEC 62366-1 추가", "Added standard IEC 62366-1")
    for ko, en, marker in (
        ("사용적합성 형성평가", "Formative usability evaluation", None),
        (
            "사용적합성 총괄평가 (사용자군별 15명 이상, IEC 62366-1)",
            "Summative usability validation (≥ 15 users per group, IEC 62366-1)",
            "15",
        ),
    ):
        if c.add_unique(perf.tests, c.say(ko, en), marker):
            c.log(f"시험 추가: {ko}", f"Added test: {en}")
    c.add_unique(
        std.documentation,
        c.say(
            "사용적합성 엔지니어링 파일 (IEC 62366-1)", "Usability engineering file (IEC 62366-1)"
        ),
        "62366",
    )
    if not any(USABILITY.hit(normalise(i.phase)) for i in c.items()):
        design = c.find(DESIGN)
        name = c.say("사용적합성 엔지니어링 (IEC 62366-1)", "Usability engineering (IEC 62366-1)")
        std.timeline.append(
            TimelineItem(
                phase=name,
                description=c.say("형성평가 및 총괄평가", "Formative and summative evaluation"),
                duration=format_weeks(8, c.lang),
                dependencies=[design[0].phase] if design else None,
                deliverables=[c.say("사용적합성 엔지니어링 파일", "Usability file")],
            )
        )
        c.link_before_docs(name)
        c.timeline_changed = True
        c.log("사용적합성 단계(8주) 추가", "Added a usability phase (8 weeks)")
    if len(c.changes) == logged:
        c.log(
            "사용적합성 표준·시험·단계가 이미 계획에 있습니다.",
            "Usability standards, tests and phases are already in the plan.",
        )


_MARKETS: dict[str, tuple[Lexicon, Bi, int, float, Bi]] = {
    "eu": (
        EU,
        Bi("EU 적합성평가 (인증기관)", "EU conformity assessment (Notified Body)"),
        44,
        150,
        Bi(
            "EU 기술문서 (MDR Annex II/III), 임상평가보고서 (CER), PMS/PMCF 계획",
            "EU technical documentation (MDR Annex II/III), CER, PMS/PMCF plan",
        ),
    ),
    "fda": (
        FDA,
        Bi("FDA 510(k) 심사", "FDA 510(k) review"),
        22,
        80,
        Bi("FDA eSTAR 제출 문서", "FDA eSTAR submission"),
    ),
    "mfds": (
        MFDS,
        Bi("MFDS 인증·허가 심사", "MFDS certification/approval review"),
        16,
        30,
        Bi(
            "MFDS 기술문서 (STED) 및 KGMP 적합인정 자료",
            "MFDS technical file (STED) and KGMP certificate",
        ),
    ),
}
_MARKET_PHASE = {
    "eu": _T("eu_phase", ("eu", "인증기관", "notified body", "ce")),
    "fda": _T("fda_phase", ("fda",)),
    "mfds": _T("mfds_phase", ("mfds", "식약처")),
}


def _add_market(c: _Ctx, market: str) -> None:
    _, name_bi, weeks, fee, docs = _MARKETS[market]
    existing = [i for i in c.find(_MARKET_PHASE[market]) if REVIEW.hit(normalise(i.phase))]
    if existing:
        c.log(
            f"'{existing[0].phase}' 단계가 이미 있습니다.",
            f"'{existing[0].phase}' is already in the plan.",
        )
        return
    name = name_bi.get(c.lang)
    c.plan.common_standards.timeline.append(
        TimelineItem(
            phase=name,
            description=c.say("제출 및 보완 대응", "Submission and deficiency responses"),
            duration=format_weeks(weeks, c.lang),
            dependencies=c.docs_phase(),
            deliverables=[c.say("인증서·허가증", "Certificate / clearance")],
        )
    )
    c.add_unique(c.plan.common_standards.documentation, docs.get(c.lang))
    if market == "eu":
        c.add_unique(
            c.plan.common_standards.standards,
            "EU MDR 2017/745 Annex I (GSPR) / MDCG 2020-13 (CER)",
            "MDR",
        )
    c.add_unique(c.plan.pathways, name)
    c.timeline_changed = True
    c.log(f"'{name}' 단계({weeks}주) 추가", f"Added '{name}' ({weeks} weeks)")
    _adjust_cost(c, add_mkrw=fee)


def _remove_market(c: _Ctx) -> None:
    removed: list[str] = []
    if not any(lex.hit(c.norm) for lex, *_rest in _MARKETS.values()):
        return  # "remove" without a market: leave it to the unknown-request note
    for market, (lex, *_rest) in _MARKETS.items():
        if not lex.hit(c.norm):
            continue
        phase_lex = _MARKET_PHASE[market]
        for section in (c.plan.common_standards, c.plan.performance_evaluation):
            keep = [
                i
                for i in section.timeline
                if not (phase_lex.hit(normalise(i.phase)) and REVIEW.hit(normalise(i.phase)))
            ]
            removed += [i.phase for i in section.timeline if i not in keep]
            section.timeline = keep
        c.plan.pathways = [p for p in c.plan.pathways if not phase_lex.hit(normalise(p))]
    if removed:
        c.timeline_changed = True
        c.log("제외한 단계: " + ", ".join(removed), "Removed phases: " + ", ".join(removed))
    else:
        c.log("제외할 시장 단계를 찾지 못했습니다.", "No market phase matched the removal request.")


def _add_pccp(c: _Ctx) -> None:
    name = c.say("사전 변경관리계획 (PCCP)", "Predetermined change control plan (PCCP)")
    if any(PCCP.hit(normalise(i.phase)) for i in c.items()):
        c.log("PCCP 단계가 이미 있습니다.", "A PCCP phase already exists.")
        return
    design = c.find(DESIGN)
    c.plan.common_standards.timeline.append(
        TimelineItem(
            phase=name,
            description=c.say(
                "출시 후 모델 변경 범위·검증 방법 사전 승인",
                "Pre-authorised model changes and their verification",
            ),
            duration=format_weeks(6, c.lang),
            dependencies=[design[0].phase] if design else None,
            deliverables=[c.say("PCCP 문서", "PCCP document")],
        )
    )
    c.link_before_docs(name)
    c.add_unique(c.plan.common_standards.standards, "FDA PCCP guidance (2024)", "pccp")
    c.add_unique(c.plan.common_standards.documentation, c.say("PCCP 문서", "PCCP document"))
    c.timeline_changed = True
    c.log("PCCP 단계(6주) 추가", "Added a PCCP phase (6 weeks)")


_HANDLERS: dict[str, Callable[[_Ctx], None]] = {
    "shorten_clinical": _shorten_clinical,
    "add_clinical": _add_clinical,
    "shorten_overall": _shorten_overall,
    "reduce_cost": _reduce_cost,
    "add_cyber": _add_cyber,
    "add_usability": _add_usability,
    "remove_market": _remove_market,
    "add_eu": lambda c: _add_market(c, "eu"),
    "add_fda": lambda c: _add_market(c, "fda"),
    "add_mfds": lambda c: _add_market(c, "mfds"),
    "add_pccp": _add_pccp,
}


def detect_intents(modifications: str) -> list[str]:
    """Keys of the intents a modification text asks for, in table order."""
    norm = normalise(modifications)
    return [i.key for i in INTENTS if i.matches(norm)]


def refine_plan(plan: Plan, modifications: str, language: Lang) -> tuple[Plan, list[str]]:
    """Apply the modification to a copy of `plan`; the id is kept, versioning is the caller's."""
    edited = plan.model_copy(deep=True)
    c = _Ctx(edited, language, normalise(modifications))
    before = c.plan.total_duration
    intents = detect_intents(modifications)
    for key in intents:
        if plan.route == "non-device" and key in DEVICE_ONLY_INTENTS:
            label = INTENT_LABELS[key]
            c.log(
                f"비의료기기 경로의 계획이라 '{label.ko}'은(는) 적용하지 않았습니다 "
                "(의료기기 심사·임상 단계가 없습니다).",
                f"'{label.en}' does not apply to a non-device plan (it has no device "
                "submission or clinical phase).",
            )
            continue
        _HANDLERS[key](c)
    for code in _STANDARD_CODE.findall(modifications):
        code = " ".join(code.upper().split())
        if c.add_unique(edited.common_standards.standards, code):
            c.add_unique(
                edited.performance_evaluation.tests,
                c.say(f"{code} 적합성 시험", f"{code} conformity testing"),
            )
            c.log(f"표준 {code} 추가", f"Added standard {code}")
    if c.timeline_changed:
        weeks = total_weeks(
            edited.common_standards.timeline, edited.performance_evaluation.timeline
        )
        edited.total_duration = format_total(weeks, language)
        c.log(
            f"총 기간 {before} → {edited.total_duration}",
            f"Total duration {before} → {edited.total_duration}",
        )
    if not c.changes:
        c.log(
            "이해한 수정 요청이 없어 계획을 바꾸지 않았습니다. 예: '임상 기간 단축', "
            "'사이버보안 추가', 'EU 추가', '비용 절감', 'ISO 11607-1 추가'.",
            "No modification rule understood this request, so nothing was changed. For example: "
            "'shorten the clinical trial', 'add cybersecurity', 'add the EU', 'reduce cost', "
            "'add ISO 11607-1'.",
        )
    edited.id = plan.id
    return edited, c.changes


def understood(modifications: str, language: Lang) -> list[str]:
    """What the request was understood to ask for: intents, then standards named in it."""
    out = [INTENT_LABELS[key].get(language) for key in detect_intents(modifications)]
    for code in _STANDARD_CODE.findall(modifications):
        code = " ".join(code.upper().split())
        out.append(Bi(f"표준 {code} 추가", f"add standard {code}").get(language))
    return out
