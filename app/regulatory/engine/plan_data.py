"""Planning tables of the offline engine: tier durations, review clocks, fees, exchange rate
and the tags a device profile implies. `planner.py` holds only the procedure that reads them.

Every number names its source (or says it is a planning estimate) and the review dates say
when to check it again. See docs/regulatory-rules.md.
"""

from __future__ import annotations

from dataclasses import dataclass

from app.regulatory.engine.text import Bi
from app.regulatory.schemas.analysis import Tier

TIERS: tuple[Tier, ...] = ("fastest", "normal", "conservative", "innovative")
# Planning exchange rate only (costs are order-of-magnitude estimates); re-check it on the
# review date below against the source and move both together.
KRW_PER_USD = 1350
FX_REVIEWED_ON = "2026-12-04"
FX_NEXT_REVIEW_ON = "2027-06-01"
SRC_FX = "Bank of Korea base rate KRW/USD (ECOS), rounded to the nearest 50 for planning"

# Official review clocks turned into realistic elapsed weeks (incl. deficiency rounds).
MFDS_REVIEW_WEEKS: dict[str, int] = {"I": 2, "II": 14, "III": 20, "IV": 24}
FDA_REVIEW_WEEKS: dict[str, int] = {"exempt": 2, "510(k)": 22, "De Novo": 40, "PMA": 56}
FDA_FEES_MKRW: dict[str, float] = {"exempt": 12, "510(k)": 33, "De Novo": 220, "PMA": 730}
EU_NB_WEEKS: dict[str, int] = {"I": 4, "IIa": 36, "IIb": 44, "III": 56, "B": 36, "C": 44}
EU_NB_FEES_MKRW: dict[str, float] = {
    "I": 5,
    "IIa": 80,
    "IIb": 120,
    "III": 200,
    "B": 80,
    "C": 120,
}
REVIEW_FACTOR: dict[str, float] = {
    "fastest": 1.0,
    "normal": 1.0,
    "conservative": 1.15,
    "innovative": 0.8,
}
REVIEWED_ON = "2026-12-04"  # clocks and fees: re-check each fiscal year (FDA fees: 1 Oct)
SRC_REVIEW = (
    "MFDS 의료기기 허가·신고·심사 등에 관한 규정 (처리기한); FDA MDUFA V performance goals; "
    "FDA user fees FY2025; MDCG/NB published lead times"
)


@dataclass(frozen=True, slots=True)
class PhaseSpec:
    """A timeline phase: weeks per tier (0 = not in that tier) and when it applies."""

    key: str
    section: str
    names: tuple[Bi, ...]
    description: tuple[Bi, ...]
    weeks: tuple[int, int, int, int]
    deps: tuple[str, ...]
    deliverables: tuple[Bi, ...]
    when: frozenset[str]
    rate: float  # million KRW per week of work

    def name(self, tier_index: int) -> Bi:
        """Name in a tier (one name, or one per tier)."""
        return self.names[tier_index] if len(self.names) == len(TIERS) else self.names[0]

    def desc(self, tier_index: int) -> Bi:
        """Description in a tier."""
        if len(self.description) == len(TIERS):
            return self.description[tier_index]
        return self.description[0]


def _p(
    key: str,
    section: str,
    names: Bi | tuple[Bi, ...],
    description: Bi | tuple[Bi, ...],
    weeks: tuple[int, int, int, int],
    deps: tuple[str, ...],
    deliverables: tuple[Bi, ...],
    when: set[str],
    rate: float,
) -> PhaseSpec:
    return PhaseSpec(
        key,
        section,
        names if isinstance(names, tuple) else (names,),
        description if isinstance(description, tuple) else (description,),
        weeks,
        deps,
        deliverables,
        frozenset(when),
        rate,
    )


PERFORMANCE_PHASE_KEYS: tuple[str, ...] = (
    "bench",
    "elec",
    "biocomp",
    "sterile",
    "sw_vv",
    "ai_perf",
    "cyber_test",
    "clinical",
)

# fmt: off
PHASES: tuple[PhaseSpec, ...] = (
    _p("qms", "common", Bi("품질경영시스템 구축 (ISO 13485 / KGMP)", "Quality system (ISO 13485 / QMSR)"),
       (Bi("기존 QMS를 활용하고 제품 관련 절차만 보완", "Reuse an existing QMS; add product SOPs"),
        Bi("설계관리·구매·CAPA를 포함한 QMS 구축", "Build a QMS with design control, CAPA"),
        Bi("QMS 구축 후 내부심사·모의 GMP 심사까지 완료", "QMS plus internal and mock audits"),
        Bi("eQMS 도구로 QMS 구축, 지정 프로그램 요구사항 반영",
           "QMS built on eQMS tooling, aligned with expedited programmes")),
       (8, 12, 16, 10), (), (Bi("품질매뉴얼·절차서", "Quality manual and SOPs"),
                            Bi("설계 및 개발 계획서", "Design and development plan")), {"all"}, 3),
    _p("risk", "common", Bi("위험관리 (ISO 14971)", "Risk management (ISO 14971)"),
       Bi("위해요인 분석, 위험통제, 잔여위험 평가", "Hazard analysis, risk controls, residual risk"),
       (4, 6, 8, 6), (), (Bi("위험관리계획서", "Risk management plan"),
                          Bi("위험분석(FMEA/FTA)", "Risk analysis (FMEA/FTA)")), {"all"}, 2),
    _p("swdev", "common", Bi("소프트웨어 수명주기 문서화 (IEC 62304)", "Software lifecycle (IEC 62304)"),
       Bi("안전등급에 맞춘 개발계획·요구사항·아키텍처·SOUP 관리",
          "Plan, requirements, architecture and SOUP per safety class"),
       (8, 12, 16, 10), ("risk",), (Bi("SW 개발계획서·요구사항 명세", "SDP and SRS"),
                                    Bi("아키텍처·SOUP 목록", "Architecture and SOUP list")),
       {"software"}, 8),
    _p("ai_data", "common", Bi("학습데이터 관리 및 모델 개발 (GMLP)", "Data management & model (GMLP)"),
       Bi("학습·조정·시험 데이터 분리, 라벨링 품질, 대표성 확보",
          "Independent train/tune/test sets, labelling quality, representativeness"),
       (6, 10, 14, 10), ("risk",), (Bi("데이터 관리계획서", "Data management plan"),
                                    Bi("모델 개발 보고서", "Model development report")),
       {"ai"}, 8),
    _p("hwdesign", "common", Bi("설계 검증 준비 및 설계 동결", "Design verification prep & freeze"),
       Bi("설계입력·출력 확정, 시험 시료 제작", "Fix design inputs/outputs; build test units"),
       (6, 10, 14, 8), ("risk",), (Bi("설계 입력·출력 문서", "Design input/output records"),),
       {"hardware"}, 8),
    _p("usability", "common", Bi("사용적합성 엔지니어링 (IEC 62366-1)", "Usability engineering (IEC 62366-1)"),
       (Bi("사용 시나리오 분석과 형성평가", "Use scenarios and formative evaluation"),
        Bi("형성평가 및 총괄평가(summative)", "Formative and summative evaluation"),
        Bi("사용자군별 총괄평가(각 15명 이상)", "Summative per user group (≥ 15 each)"),
        Bi("형성평가 및 총괄평가(summative)", "Formative and summative evaluation")),
       (3, 6, 10, 6), ("swdev", "hwdesign"), (Bi("사용적합성 엔지니어링 파일", "Usability file"),),
       {"all"}, 3),
    _p("cyber", "common", Bi("사이버보안 (IEC 81001-5-1)", "Cybersecurity (IEC 81001-5-1)"),
       Bi("위협 모델링, 보안 요구사항, SBOM", "Threat model, security requirements, SBOM"),
       (4, 6, 8, 6), ("swdev", "hwdesign"), (Bi("위협 모델·SBOM", "Threat model and SBOM"),),
       {"connected"}, 4),
    _p("presub", "common", Bi("사전 상담 (FDA Pre-Sub / MFDS 사전검토)", "Pre-submission (FDA Q-Sub)"),
       Bi("시험·임상 설계에 대한 규제기관 사전 의견 확보",
          "Agree test and clinical designs with the regulator"),
       (0, 10, 12, 0), ("risk",), (Bi("사전상담 회의록", "Pre-Sub meeting minutes"),),
       {"presub"}, 2),
    _p("designation", "common",
       Bi("혁신 지정 (FDA Breakthrough / MFDS 혁신의료기기)", "Breakthrough / MFDS innovative designation"),
       Bi("FDA Breakthrough Device 지정 및 MFDS 혁신의료기기 지정 신청",
          "Apply for FDA Breakthrough Device and MFDS innovative device designation"),
       (0, 0, 0, 10), ("risk",), (Bi("지정 신청서 및 결과", "Designation requests and letters"),),
       {"designation"}, 2),
    _p("pccp", "common", Bi("사전 변경관리계획 (PCCP)", "Predetermined change control plan (PCCP)"),
       Bi("출시 후 모델 재학습·성능 변경 범위와 검증 방법을 사전 승인",
          "Pre-authorise model retraining scope and verification"),
       (0, 0, 0, 6), ("ai_data",), (Bi("PCCP 문서 (변경 기술·수정 프로토콜·영향평가)",
                                       "PCCP (description, modification protocol, impact)"),),
       {"ai"}, 6),
    # --- performance evaluation ---
    _p("bench", "performance", Bi("성능시험 (설계검증)", "Bench performance testing"),
       Bi("제품 규격의 성능 항목 검증", "Verify the performance specification"),
       (6, 8, 12, 8), ("hwdesign",), (Bi("성능 시험성적서", "Performance test report"),),
       {"hardware"}, 6),
    _p("elec", "performance", Bi("전기·기계적 안전 및 EMC 시험", "Electrical safety and EMC testing"),
       Bi("IEC 60601-1, 60601-1-2 및 개별규격, 공인시험기관 시험",
          "IEC 60601-1, 60601-1-2 and particular standards at an accredited lab"),
       (8, 10, 14, 10), ("hwdesign",), (Bi("전기안전·EMC 시험성적서", "Safety and EMC reports"),),
       {"active_hw"}, 7),
    _p("biocomp", "performance", Bi("생물학적 안전성 평가 (ISO 10993-1)", "Biocompatibility (ISO 10993-1)"),
       Bi("접촉 부위·기간에 따른 생물학적 평가 및 시험",
          "Biological evaluation and tests by contact type and duration"),
       (8, 12, 16, 12), ("hwdesign",), (Bi("생물학적 안전성 평가 보고서", "Biological evaluation report"),),
       {"body_contact"}, 5),
    _p("sterile", "performance", Bi("멸균 밸리데이션 및 포장 시험", "Sterilisation & packaging validation"),
       Bi("ISO 11135/11137 멸균, ISO 11607 포장, 유효기간 가속노화",
          "ISO 11135/11137, ISO 11607 packaging, accelerated ageing"),
       (8, 10, 14, 10), ("hwdesign",), (Bi("멸균 밸리데이션 보고서", "Sterilisation validation report"),),
       {"sterile"}, 5),
    _p("sw_vv", "performance", Bi("소프트웨어 검증 및 밸리데이션", "Software verification & validation"),
       Bi("단위·통합·시스템 시험과 이상 목록 관리", "Unit, integration, system tests; anomaly list"),
       (4, 6, 8, 6), ("swdev",), (Bi("SW 검증·밸리데이션 보고서", "Software V&V report"),),
       {"software"}, 6),
    _p("ai_perf", "performance", Bi("독립 성능평가 (외부 데이터)", "Standalone performance (external data)"),
       Bi("학습에 쓰지 않은 다기관 데이터로 민감도·특이도·AUC 평가",
          "Sensitivity, specificity, AUC on unseen multi-site data"),
       (4, 6, 10, 6), ("ai_data", "sw_vv"), (Bi("독립 성능평가 보고서", "Standalone performance report"),),
       {"ai"}, 8),
    _p("cyber_test", "performance", Bi("사이버보안 시험", "Cybersecurity testing"),
       (Bi("취약점 스캔 및 SBOM 검토", "Vulnerability scan and SBOM review"),
        Bi("침투 시험 및 취약점 스캔", "Penetration test and vulnerability scan"),
        Bi("제3자 침투 시험, 퍼징, 취약점 스캔", "Third-party penetration test, fuzzing, scans"),
        Bi("침투 시험 및 취약점 스캔", "Penetration test and vulnerability scan")),
       (2, 4, 6, 4), ("cyber",), (Bi("사이버보안 시험 보고서", "Cybersecurity test report"),),
       {"connected"}, 6),
)

# fmt: on
PHASES_BY_KEY: dict[str, PhaseSpec] = {p.key: p for p in PHASES}


# --- Clinical evidence by device family and tier --------------------------------------------


@dataclass(frozen=True, slots=True)
class ClinicalSpec:
    """Clinical evidence phase for one device family and tier."""

    name: Bi
    description: Bi
    weeks: int
    rate: float
    needs_approval: bool


SRC_CLINICAL = (
    "MFDS 의료기기 임상시험 계획 승인에 관한 규정; ISO 14155:2020; ISO 20916:2019; "
    "FDA Clinical Decision Support / AI-enabled device software guidance (2022, 2025 draft); "
    "planning estimates of typical study lengths"
)
_IVD = Bi("임상적 성능시험 (ISO 20916)", "Clinical performance study (ISO 20916)")
_IVD_DESC = Bi(
    "임상 검체로 민감도·특이도 또는 정확도 평가",
    "Sensitivity/specificity or accuracy on clinical specimens",
)
# fmt: off
CLINICAL_IVD: tuple[ClinicalSpec, ...] = (
    ClinicalSpec(_IVD, _IVD_DESC, 8, 6, False),
    ClinicalSpec(_IVD, _IVD_DESC, 12, 6, False),
    ClinicalSpec(_IVD, _IVD_DESC, 20, 6, True),
    ClinicalSpec(_IVD, _IVD_DESC, 10, 6, False),
)
CLINICAL_SAMD: tuple[ClinicalSpec, ...] = (
    ClinicalSpec(
        Bi("후향적 임상 성능평가", "Retrospective clinical performance study"),
        Bi("기존 의료기관 데이터로 후향적 성능 확인", "Retrospective data from existing sites"),
        8, 5, False,
    ),
    ClinicalSpec(
        Bi("후향적 다기관 임상 성능시험 (판독자 연구)", "Retrospective multi-site reader study"),
        Bi("다기관 데이터와 판독자 연구(MRMC)로 임상적 유효성 확인",
           "Multi-site data and an MRMC reader study"),
        16, 8, False,
    ),
    ClinicalSpec(
        Bi("전향적 다기관 확증 임상시험 (ISO 14155)", "Prospective multi-site pivotal study"),
        Bi("전향적 설계로 임상적 유효성과 실제 사용 성능 확증",
           "Prospective design confirming clinical effectiveness in use"),
        36, 12, True,
    ),
    ClinicalSpec(
        Bi("후향적 임상시험 + 실사용 증거(RWE) 계획", "Retrospective study + real-world evidence"),
        Bi("후향적 확증 후 시판 후 실사용 데이터로 성능 추적",
           "Retrospective pivotal, then real-world performance monitoring"),
        12, 7, False,
    ),
)
_PIVOTAL = Bi("확증 임상시험 (ISO 14155)", "Pivotal clinical investigation (ISO 14155)")
# Class III/IV (or any device needing a clinical investigation); class IV adds follow-up.
CLINICAL_HIGH: tuple[ClinicalSpec, ...] = (
    ClinicalSpec(_PIVOTAL, Bi("최소 표본의 단일 확증 임상", "Single pivotal study, minimum sample"),
                 36, 20, True),
    ClinicalSpec(_PIVOTAL, Bi("다기관 확증 임상시험", "Multi-centre pivotal study"), 52, 20, True),
    ClinicalSpec(_PIVOTAL, Bi("다기관 확증 임상 + 장기 추적",
                              "Multi-centre pivotal with long-term follow-up"), 78, 20, True),
    ClinicalSpec(_PIVOTAL, Bi("적응형 설계 확증 임상 (지정 프로그램 협의)",
                              "Adaptive pivotal study agreed under the designation"), 44, 20, True),
)
CLASS_IV_EXTRA_CLINICAL_WEEKS = 12
_LITERATURE_II = Bi("임상평가 (문헌·동등 제품 비교)", "Clinical evaluation (literature, equivalence)")
_LITERATURE_II_DESC = Bi(
    "동등 제품과 문헌 근거로 안전성·성능 입증",
    "Safety and performance shown via equivalent device and literature",
)
CLINICAL_CLASS_II: tuple[ClinicalSpec, ...] = (
    ClinicalSpec(_LITERATURE_II, _LITERATURE_II_DESC, 4, 3, False),
    ClinicalSpec(_LITERATURE_II, _LITERATURE_II_DESC, 6, 3, False),
    ClinicalSpec(Bi("소규모 확증 임상시험 (ISO 14155)", "Small confirmatory clinical study"),
                 Bi("동등성 근거를 보강하는 소규모 임상", "Small study backing the equivalence"),
                 26, 10, True),
    ClinicalSpec(_LITERATURE_II, _LITERATURE_II_DESC, 8, 3, False),
)
_LITERATURE_I = Bi("임상평가 (문헌)", "Clinical evaluation (literature)")
_LITERATURE_I_DESC = Bi("문헌 근거 정리", "Literature-based evaluation")
CLINICAL_CLASS_I: tuple[ClinicalSpec, ...] = tuple(
    ClinicalSpec(_LITERATURE_I, _LITERATURE_I_DESC, weeks, 2, False) for weeks in (2, 3, 4, 3)
)
# fmt: on
CLINICAL_APPROVAL_WEEKS: tuple[int, int, int, int] = (8, 10, 12, 8)  # IRB + MFDS IND / FDA IDE
CLINICAL_APPROVAL_COST_MKRW = 20
TECHDOC_WEEKS: tuple[int, int, int, int] = (4, 6, 8, 6)
TECHDOC_RATE_MKRW_PER_WEEK = 3.0
# Long-term implants add chronic toxicity, genotoxicity and implantation (ISO 10993-3/-6/-11).
IMPLANT_BIOCOMP_EXTRA_WEEKS = 8

# --- Submission costs (planning estimates on top of the fees above) -------------------------

MFDS_SUBMISSION_BASE_MKRW = 5.0
MFDS_COST_PER_REVIEW_WEEK_MKRW = 1.5
FDA_COST_PER_REVIEW_WEEK_MKRW = 2.0
EU_COST_PER_REVIEW_WEEK_MKRW = 2.0
EU_DEFAULT_NB_WEEKS = 40
EU_DEFAULT_NB_FEE_MKRW = 100.0
MIN_REVIEW_WEEKS = 2
# A plan's cost is shown as a range around the estimate (plans err on the expensive side).
COST_RANGE: tuple[float, float] = (0.85, 1.3)

# --- Markets per tier ------------------------------------------------------------------------

# "home" is the caller's market: Korean input plans MFDS first, English input the FDA.
MARKETS_BY_TIER: dict[str, tuple[str, ...]] = {
    "fastest": ("home",),
    "normal": ("mfds", "fda"),
    "conservative": ("mfds", "fda", "eu"),
    "innovative": ("mfds", "fda"),
}
HOME_MARKET: dict[str, str] = {"ko": "mfds", "en": "fda"}


# --- Tag inference: what a device profile and a tier imply for the plan -----------------------


@dataclass(frozen=True, slots=True)
class TagRule:
    """Adds `tag` when every condition holds (an empty condition always holds)."""

    tag: str
    requires: frozenset[str] = frozenset()
    excludes: frozenset[str] = frozenset()
    tiers: frozenset[str] = frozenset()
    classes: frozenset[str] = frozenset()
    not_classes: frozenset[str] = frozenset()
    fda_pathways: frozenset[str] = frozenset()
    why: str = ""

    def applies(self, tags: set[str], tier: str, mfds: str | None, fda: str | None) -> bool:
        """Whether the rule fires for this profile and tier."""
        return (
            self.requires <= tags
            and not (self.excludes & tags)
            and (not self.tiers or tier in self.tiers)
            and (not self.classes or mfds in self.classes)
            and (not self.not_classes or mfds not in self.not_classes)
            and (not self.fda_pathways or fda in self.fda_pathways)
        )


# Applied in order: later rules see the tags earlier ones added.
TAG_RULES: tuple[TagRule, ...] = (
    TagRule(
        "hardware",
        excludes=frozenset({"health_software"}),
        why="anything but standalone software has hardware to verify",
    ),
    TagRule(
        "active_hw",
        requires=frozenset({"hardware", "active"}),
        why="powered hardware needs IEC 60601-1 / -1-2 testing",
    ),
    TagRule(
        "presub",
        tiers=frozenset({"conservative"}),
        why="the conservative tier always agrees the evidence with the regulator first",
    ),
    TagRule(
        "presub",
        tiers=frozenset({"normal"}),
        classes=frozenset({"III", "IV"}),
        why="high-risk devices: FDA Q-Sub / MFDS 사전검토 before the pivotal study",
    ),
    TagRule(
        "presub",
        tiers=frozenset({"normal"}),
        fda_pathways=frozenset({"De Novo", "PMA"}),
        why="De Novo and PMA: FDA Q-Sub Program guidance (2023)",
    ),
    TagRule(
        "designation",
        not_classes=frozenset({"I"}),
        why="expedited programmes (FDA Breakthrough, MFDS 혁신의료기기) target serious "
        "conditions, not class I products",
    ),
)
