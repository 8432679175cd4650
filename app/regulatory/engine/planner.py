"""Four regulatory plans (fastest / normal / conservative / innovative) for one device.

Plans differ by tier (markets, evidence, pre-submission, special programmes) and by
device (software/AI, hardware, body contact, class). Durations are phase lengths in
weeks; the plan's total is the critical path through phase dependencies. This module is
the procedure only: durations, clocks, fees, the exchange rate and tag inference are the
tables of `plan_data.py`.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, replace

from app.regulatory.engine import plan_data as pd
from app.regulatory.engine import rules_data as rd
from app.regulatory.engine.classifier import MFDS_GRADE, Assessment
from app.regulatory.engine.plan_data import KRW_PER_USD, PHASES, TIERS, ClinicalSpec
from app.regulatory.engine.text import Bi, Lang
from app.regulatory.engine.timeline import format_total, format_weeks, total_weeks
from app.regulatory.schemas.analysis import (
    PerformanceSection,
    Plan,
    PlanSection,
    RiskLevel,
    Tier,
    TimelineItem,
)


def _clinical(a: Assessment, tier: int) -> ClinicalSpec:
    """Clinical evidence grows with class and with tier caution (MFDS/FDA/EU practice)."""
    if "ivd" in a.tags:
        return pd.CLINICAL_IVD[tier]
    if a.standalone_software:
        return pd.CLINICAL_SAMD[tier]
    if a.mfds in ("III", "IV") or "clinical_investigation" in a.tags:
        spec = pd.CLINICAL_HIGH[tier]
        if a.mfds == "IV":
            spec = replace(spec, weeks=spec.weeks + pd.CLASS_IV_EXTRA_CLINICAL_WEEKS)
        return spec
    if a.mfds == "II":
        return pd.CLINICAL_CLASS_II[tier]
    return pd.CLINICAL_CLASS_I[tier]


def _tags(a: Assessment, tier: str) -> set[str]:
    tags = set(a.tags) | {"all"}
    for rule in pd.TAG_RULES:
        if rule.applies(tags, tier, a.mfds, a.fda_pathway):
            tags.add(rule.tag)
    return tags


def _markets(a: Assessment, tier: str, lang: Lang) -> list[str]:
    return [pd.HOME_MARKET[lang] if m == "home" else m for m in pd.MARKETS_BY_TIER[tier]]


def _fda_key(pathway: str | None) -> str:
    text = pathway or "510(k)"
    if "exempt" in text or "discretion" in text:
        return "exempt"
    for key in ("PMA", "De Novo"):
        if key in text:
            return key
    return "510(k)"


@dataclass(slots=True)
class _Phase:
    key: str
    section: str
    name: Bi
    description: Bi
    weeks: int
    deps: list[str]
    deliverables: list[Bi]
    cost: float


def _submissions(a: Assessment, tier: str, ti: int, lang: Lang) -> list[_Phase]:
    out: list[_Phase] = []
    factor = pd.REVIEW_FACTOR[tier]
    for market in _markets(a, tier, lang):
        if market == "mfds":
            cls = a.mfds or "II"
            grade = MFDS_GRADE[cls]
            route = rd.MFDS_ROUTE[cls]
            innovative = tier == "innovative" and cls != "I"
            name = (
                Bi(
                    f"MFDS 혁신의료기기 단계별·우선 심사 ({grade}등급)",
                    f"MFDS innovative device staged/priority review (class {grade})",
                )
                if innovative
                else Bi(f"MFDS {route.ko}", f"MFDS {route.en}")
            )
            out.append(
                _Phase(
                    "sub_mfds",
                    "common",
                    name,
                    Bi(
                        "기술문서·시험성적서·임상자료 제출 및 보완 대응",
                        "Submit technical file, test reports, clinical data; answer deficiencies",
                    ),
                    max(pd.MIN_REVIEW_WEEKS, round(pd.MFDS_REVIEW_WEEKS[cls] * factor)),
                    ["techdoc", "qms"],
                    [Bi("MFDS 인증서/허가증", "MFDS certificate / licence")],
                    pd.MFDS_SUBMISSION_BASE_MKRW
                    + pd.MFDS_COST_PER_REVIEW_WEEK_MKRW * pd.MFDS_REVIEW_WEEKS[cls],
                )
            )
        elif market == "fda":
            key = _fda_key(a.fda_pathway)
            label = {
                "exempt": "510(k)-exempt listing",
                "510(k)": "510(k)",
                "De Novo": "De Novo",
                "PMA": "PMA",
            }[key]
            breakthrough = tier == "innovative" and key != "exempt"
            name = (
                Bi(
                    f"FDA {label} (Breakthrough 우선 검토)",
                    f"FDA {label} (Breakthrough priority review)",
                )
                if breakthrough
                else Bi(f"FDA {label} 심사", f"FDA {label} review")
            )
            if tier == "fastest" and key == "510(k)":
                name = Bi(
                    "FDA 510(k) (기존 predicate 활용)", "FDA 510(k) with an existing predicate"
                )
            out.append(
                _Phase(
                    "sub_fda",
                    "common",
                    name,
                    Bi("eSTAR 제출, 추가정보요청(AI) 대응", "eSTAR submission; answer AI requests"),
                    max(pd.MIN_REVIEW_WEEKS, round(pd.FDA_REVIEW_WEEKS[key] * factor)),
                    ["techdoc", "qms"],
                    [Bi("FDA 결정 통지 (clearance/grant/approval)", "FDA decision letter")],
                    pd.FDA_FEES_MKRW[key]
                    + pd.FDA_COST_PER_REVIEW_WEEK_MKRW * pd.FDA_REVIEW_WEEKS[key],
                )
            )
        else:
            eu = a.eu_class or "IIa"
            weeks = pd.EU_NB_WEEKS.get(eu, pd.EU_DEFAULT_NB_WEEKS)
            out.append(
                _Phase(
                    "sub_eu",
                    "common",
                    Bi(
                        f"EU 적합성평가 (인증기관, {eu})",
                        f"EU conformity assessment (Notified Body, {eu})",
                    ),
                    Bi(
                        "기술문서(Annex II/III) 심사, QMS 심사, CE 표시",
                        "Technical documentation (Annex II/III) and QMS audit, CE marking",
                    ),
                    weeks,
                    ["techdoc", "qms"],
                    [Bi("CE 인증서", "CE certificate")],
                    pd.EU_NB_FEES_MKRW.get(eu, pd.EU_DEFAULT_NB_FEE_MKRW)
                    + pd.EU_COST_PER_REVIEW_WEEK_MKRW * weeks,
                )
            )
    return out


def _build_phases(a: Assessment, tier: str, lang: Lang) -> list[_Phase]:
    ti = TIERS.index(tier)
    tags = _tags(a, tier)
    phases: list[_Phase] = []
    for spec in PHASES:
        weeks = spec.weeks[ti]
        if weeks == 0 or not (spec.when & tags):
            continue
        if spec.key == "biocomp" and "implant" in tags:
            weeks += pd.IMPLANT_BIOCOMP_EXTRA_WEEKS
        phases.append(
            _Phase(
                spec.key,
                spec.section,
                spec.name(ti),
                spec.desc(ti),
                weeks,
                list(spec.deps),
                list(spec.deliverables),
                spec.rate * weeks,
            )
        )
    clinical = _clinical(a, ti)
    test_keys = [p.key for p in phases if p.section == "performance"]
    if clinical.weeks > 0:
        clin_deps = test_keys or ["risk"]
        if clinical.needs_approval:
            phases.append(
                _Phase(
                    "clinical_approval",
                    "performance",
                    Bi(
                        "임상시험계획 승인 (IRB · MFDS IND / FDA IDE)",
                        "Clinical investigation approval (IRB, MFDS IND / FDA IDE)",
                    ),
                    Bi(
                        "임상시험계획서 작성, IRB 및 규제기관 승인",
                        "Protocol, ethics committee and regulator approval",
                    ),
                    pd.CLINICAL_APPROVAL_WEEKS[ti],
                    clin_deps,
                    [Bi("임상시험계획서·승인서", "Protocol and approvals")],
                    pd.CLINICAL_APPROVAL_COST_MKRW,
                )
            )
            clin_deps = ["clinical_approval"]
        phases.append(
            _Phase(
                "clinical",
                "performance",
                clinical.name,
                clinical.description,
                clinical.weeks,
                clin_deps,
                [Bi("임상시험 결과보고서", "Clinical study report")],
                clinical.rate * clinical.weeks,
            )
        )
    present = {p.key for p in phases}
    doc_deps = [
        k
        for k in (*pd.PERFORMANCE_PHASE_KEYS, "usability", "cyber", "presub", "designation", "pccp")
        if k in present
    ]
    phases.append(
        _Phase(
            "techdoc",
            "common",
            Bi("기술문서 작성", "Technical documentation"),
            Bi(
                "STED/eSTAR/Annex II 형식으로 설계·시험·임상 근거 통합",
                "Compile design, test and clinical evidence (STED / eSTAR / Annex II)",
            ),
            pd.TECHDOC_WEEKS[ti],
            doc_deps,
            [Bi("기술문서 (STED)", "Technical file")],
            pd.TECHDOC_RATE_MKRW_PER_WEEK * pd.TECHDOC_WEEKS[ti],
        )
    )
    phases.extend(_submissions(a, tier, ti, lang))
    for p in phases:  # dependencies on phases absent for this device are dropped
        p.deps = [d for d in p.deps if d in present or d == "techdoc"]
    return phases


def _to_items(phases: list[_Phase], section: str, lang: Lang) -> list[TimelineItem]:
    names = {p.key: p.name.get(lang) for p in phases}
    return [
        TimelineItem(
            phase=p.name.get(lang),
            description=p.description.get(lang),
            duration=format_weeks(p.weeks, lang),
            dependencies=[names[d] for d in p.deps if d in names] or None,
            deliverables=[d.get(lang) for d in p.deliverables],
        )
        for p in phases
        if p.section == section
    ]


def format_cost(million_krw: float, lang: Lang) -> str:
    """A cost range around the estimate: −15 % / +30 % (plans err on the expensive side)."""
    low, high = (million_krw * f for f in pd.COST_RANGE)
    if lang == "ko":
        return f"약 {low / 100:.1f}억–{high / 100:.1f}억 원"
    return f"about USD {_usd(low)}–{_usd(high)}"


def _usd(million_krw: float) -> str:
    usd_k = million_krw * 1_000_000 / KRW_PER_USD / 1000
    return f"{usd_k / 1000:.1f}M" if usd_k >= 1000 else f"{usd_k:.0f}k"


def _standards(a: Assessment, tags: set[str], tier: str, lang: Lang) -> list[str]:
    out = [f"{s.code} — {s.title.get(lang)}" for s in rd.STANDARDS if s.when & tags]
    out += list(a.extra_standards)
    if tier == "innovative" and "ai" in tags:
        out.append(rd.PCCP_STANDARD)
    if "eu" in _markets(a, tier, lang):
        out.append("EU MDR 2017/745 Annex I (GSPR) / MDCG 2020-13 (CER)")
    return out


def _tests(a: Assessment, tags: set[str], tier: str, lang: Lang) -> list[str]:
    ti = TIERS.index(tier)
    t: list[Bi] = []
    if "software" in tags:
        t.append(
            Bi(
                "소프트웨어 단위·통합·시스템 시험 (IEC 62304 §5.5–5.7)",
                "Software unit, integration and system testing (IEC 62304 §5.5–5.7)",
            )
        )
    if "ai" in tags:
        t.append(
            Bi(
                "독립 성능평가: 민감도·특이도·AUC (외부 다기관 데이터)",
                "Standalone performance: sensitivity, specificity, AUC (external data)",
            )
        )
        if ti >= 1:
            t.append(
                Bi(
                    "하위군 성능 분석 (성별·연령·장비 제조사)",
                    "Subgroup analysis (sex, age, scanner vendor)",
                )
            )
        if ti == 2:
            t.append(
                Bi("다판독자 다증례(MRMC) 판독자 연구", "Multi-reader multi-case (MRMC) study")
            )
        if ti == 3:
            t.append(
                Bi(
                    "PCCP 수정 프로토콜에 따른 재학습 모델 재검증",
                    "Re-verification of retrained models per the PCCP protocol",
                )
            )
    if "active_hw" in tags:
        t += [
            Bi("전기·기계적 안전 시험 (IEC 60601-1)", "Electrical/mechanical safety (IEC 60601-1)"),
            Bi("전자파 적합성 시험 (IEC 60601-1-2)", "EMC testing (IEC 60601-1-2)"),
        ]
    if "hardware" in tags:
        t.append(
            Bi("제품 성능시험 (규격 기반 설계검증)", "Bench performance (design verification)")
        )
    if "body_contact" in tags:
        t.append(
            Bi(
                "생물학적 안전성 시험 (ISO 10993-5 세포독성, -10 감작, -23 자극)",
                "Biocompatibility (ISO 10993-5 cytotoxicity, -10 sensitisation, -23 irritation)",
            )
        )
        if "implant" in tags:
            t.append(
                Bi(
                    "이식·유전독성·만성독성 시험 (ISO 10993-3, -6, -11)",
                    "Implantation, genotoxicity, chronic toxicity (ISO 10993-3, -6, -11)",
                )
            )
    if "sterile" in tags:
        t.append(
            Bi(
                "멸균 밸리데이션 및 포장 무결성·가속노화 (ISO 11135/11137, ISO 11607)",
                "Sterilisation validation, packaging integrity, ageing (ISO 11607)",
            )
        )
    if "connected" in tags:
        t.append(Bi("취약점 스캔 및 SBOM 검토", "Vulnerability scanning and SBOM review"))
        if ti >= 1:
            t.append(Bi("침투 시험 (penetration testing)", "Penetration testing"))
    t.append(
        Bi("사용적합성 형성평가", "Formative usability evaluation")
        if ti == 0
        else Bi("사용적합성 총괄평가 (IEC 62366-1)", "Summative usability validation (IEC 62366-1)")
    )
    out = [x.get(lang) for x in t]
    out += [
        Bi(f"{s} 적합성 시험", f"{s} conformity testing").get(lang)
        for s in a.extra_standards
        if s.startswith(("ISO", "IEC"))
    ]
    return out


def _documentation(a: Assessment, tags: set[str], tier: str, lang: Lang) -> list[str]:
    markets = _markets(a, tier, lang)
    d = [
        Bi("품질매뉴얼·절차서 (ISO 13485)", "Quality manual and procedures (ISO 13485)"),
        Bi("위험관리 파일 (ISO 14971)", "Risk management file (ISO 14971)"),
        Bi("사용적합성 엔지니어링 파일 (IEC 62366-1)", "Usability engineering file (IEC 62366-1)"),
        Bi("사용설명서 및 표시기재", "Instructions for use and labelling"),
    ]
    if "mfds" in markets:
        d.append(
            Bi(
                "MFDS 기술문서 (STED) 및 KGMP 적합인정 자료",
                "MFDS technical file (STED) and KGMP certificate",
            )
        )
    if "fda" in markets:
        d.append(Bi("FDA eSTAR 제출 문서 (510(k)/De Novo/PMA)", "FDA eSTAR submission"))
    if "eu" in markets:
        d += [
            Bi("EU 기술문서 (MDR Annex II/III)", "EU technical documentation (MDR Annex II/III)"),
            Bi("임상평가보고서 (CER)", "Clinical evaluation report (CER)"),
            Bi("시판 후 감시 계획 (PMS/PMCF)", "Post-market surveillance plan (PMS/PMCF)"),
        ]
    if "software" in tags:
        d.append(
            Bi(
                "소프트웨어 문서 (SDP, SRS, 아키텍처, SOUP, 이상 목록)",
                "Software documentation (SDP, SRS, architecture, SOUP, anomalies)",
            )
        )
    if "connected" in tags:
        d.append(
            Bi(
                "사이버보안 문서 (위협 모델, SBOM, 보안 위험관리)",
                "Cybersecurity documentation (threat model, SBOM, security risk)",
            )
        )
    if "ai" in tags:
        d.append(
            Bi("데이터 관리 및 모델 개발 보고서 (GMLP)", "Data management & model report (GMLP)")
        )
        if tier == "innovative":
            d.append(Bi("PCCP 문서", "PCCP document"))
    if tier == "innovative" and "designation" in tags:
        d.append(
            Bi(
                "혁신 지정 신청서 (Breakthrough / 혁신의료기기)",
                "Designation requests (Breakthrough / MFDS innovative device)",
            )
        )
    return [x.get(lang) for x in d]


def _performance_docs(tags: set[str], has_approval: bool, lang: Lang) -> list[str]:
    d = [
        Bi("시험성적서 (공인시험기관)", "Test reports (accredited laboratory)"),
        Bi("성능평가 보고서", "Performance evaluation report"),
    ]
    if "body_contact" in tags:
        d.append(Bi("생물학적 안전성 평가 보고서", "Biological evaluation report"))
    if has_approval:
        d.append(Bi("임상시험계획서·결과보고서", "Clinical investigation plan and report"))
    else:
        d.append(Bi("임상적 근거 보고서", "Clinical evidence report"))
    return [x.get(lang) for x in d]


_TIER_TEXT: dict[str, tuple[Bi, Bi]] = {
    "fastest": (
        Bi("최단 경로", "Fastest path"),
        Bi(
            "최소 요건으로 주 시장 1곳에 먼저 진입하는 경로입니다.",
            "Minimum-compliant route into one home market first.",
        ),
    ),
    "normal": (
        Bi("표준 경로", "Standard path"),
        Bi(
            "한국과 미국에 표준 근거로 진입하는 균형 잡힌 경로입니다.",
            "Balanced route into Korea and the US with standard evidence.",
        ),
    ),
    "conservative": (
        Bi("보수적 경로", "Conservative path"),
        Bi(
            "사전상담과 추가 임상 근거로 보완 요청 위험을 최소화하고 EU까지 확장합니다.",
            "Pre-submissions and extra clinical evidence minimise deficiency risk; adds the EU.",
        ),
    ),
    "innovative": (
        Bi("혁신 경로", "Innovative path"),
        Bi(
            "혁신 지정 프로그램(FDA Breakthrough, MFDS 혁신의료기기)을 활용합니다.",
            "Uses expedited programmes (FDA Breakthrough, MFDS innovative device).",
        ),
    ),
}


_INNOVATIVE_LOW_RISK = Bi(
    "저위험 제품은 지정 프로그램 대상이 아니므로 eQMS와 시장 병행 등록으로 속도를 냅니다.",
    "Low-risk products do not qualify for expedited programmes; eQMS tooling and parallel "
    "registrations provide the speed.",
)


def _pros_cons(a: Assessment, tier: str, lang: Lang) -> tuple[list[str], list[str], list[str]]:
    pros: list[Bi] = []
    cons: list[Bi] = []
    recs: list[Bi] = []
    if tier == "fastest":
        pros += [
            Bi("가장 빠른 첫 매출", "Earliest first revenue"),
            Bi("초기 비용 최소", "Lowest upfront cost"),
        ]
        cons += [
            Bi("보완 요청·반려 위험이 큼", "Higher risk of deficiency letters or refusal"),
            Bi("다른 시장 진입 시 근거 재작성 필요", "Evidence must be reworked for other markets"),
        ]
        recs.append(
            Bi(
                "동등 제품(predicate)과 사용목적·기술 특성을 일치시키세요",
                "Match intended use and technology to a cleared predicate",
            )
        )
    elif tier == "normal":
        pros += [
            Bi("한·미 동시 진입", "Korea and US in parallel"),
            Bi("검증된 표준 근거 패키지", "Well-trodden evidence package"),
        ]
        cons += [Bi("최단 경로보다 수개월 길어짐", "Months longer than the fastest path")]
        recs.append(
            Bi(
                "시험 항목을 공인시험기관 한 곳에 묶어 일정을 단축하세요",
                "Bundle tests at one accredited lab to save time",
            )
        )
    elif tier == "conservative":
        pros += [
            Bi("보완 요청 위험 최소", "Lowest deficiency risk"),
            Bi("보험 등재·학회 채택에 유리한 임상 근거", "Evidence that supports reimbursement"),
        ]
        cons += [
            Bi("가장 긴 기간과 높은 비용", "Longest and most expensive"),
            Bi("전향적 임상 모집 지연 위험", "Prospective enrolment may slip"),
        ]
        recs.append(
            Bi(
                "사전상담 결과를 임상 프로토콜에 반영하세요",
                "Feed pre-submission feedback into the clinical protocol",
            )
        )
    elif a.mfds == "I":
        pros += [
            Bi("eQMS와 병행 등록으로 초기 일정 단축", "eQMS and parallel registrations save time"),
            Bi("시판 후 사용자 데이터로 빠른 개선", "Fast iteration on post-market user data"),
        ]
        cons += [
            Bi("혁신 지정 프로그램 대상이 아님", "Not eligible for expedited programmes"),
        ]
        recs.append(
            Bi(
                "시판 후 사용자 피드백을 CAPA·설계변경 절차에 연결하세요",
                "Route post-market feedback into CAPA and design change",
            )
        )
    else:
        pros += [
            Bi("우선 심사와 규제기관 상시 소통", "Priority review and frequent regulator contact"),
            Bi(
                "혁신의료기술 평가 유예 등 시장 진입 지원 가능",
                "Possible early-access and reimbursement support",
            ),
        ]
        cons += [
            Bi(
                "지정 요건(기존 대비 의미 있는 개선) 입증 부담",
                "Must show meaningful improvement to qualify",
            ),
            Bi("지정 실패 시 표준 경로로 복귀", "Falls back to the standard path if refused"),
        ]
        recs.append(
            Bi(
                "지정 신청 전에 기존 치료 대비 임상적 이점을 정량화하세요",
                "Quantify the clinical advantage over current care before applying",
            )
        )
    if a.ai:
        recs.append(
            Bi(
                "학습·시험 데이터의 독립성과 대표성을 문서화하세요 (GMLP)",
                "Document independence and representativeness of data (GMLP)",
            )
        )
        if tier == "innovative":
            pros.append(
                Bi(
                    "PCCP로 출시 후 모델 업데이트를 재심사 없이 반영",
                    "PCCP lets the model be updated without new submissions",
                )
            )
    if a.mfds in ("III", "IV") and tier in ("fastest", "normal"):
        recs.append(
            Bi(
                "고위험 등급이므로 임상시험 설계를 사전상담으로 확인하세요",
                "High class: confirm the clinical design in a pre-submission",
            )
        )
    if "connected" in a.tags:
        recs.append(
            Bi(
                "FDA §524B 사이버보안 요구사항(SBOM, 취약점 관리 계획)을 충족하세요",
                "Meet FDA §524B cybersecurity requirements (SBOM, vulnerability plan)",
            )
        )
    if tier != "conservative":
        recs.append(
            Bi(
                "EU MDR 진입은 인증기관 일정(6–12개월)을 고려해 별도 계획하세요",
                "Plan EU MDR separately; Notified Body lead times are 6–12 months",
            )
        )
    return [x.get(lang) for x in pros], [x.get(lang) for x in cons], [x.get(lang) for x in recs]


def _risk_level(a: Assessment, tier: str) -> RiskLevel:
    if tier == "conservative" or (a.mfds == "I" and tier != "innovative"):
        return "low"
    if tier == "fastest":
        return "high"
    if tier == "innovative":
        return "medium" if a.standalone_software or a.mfds == "I" else "high"
    return "medium"


def build_plan(
    a: Assessment, tier: Tier, *, lang: Lang, plan_id: str, session_id: str | None = None
) -> Plan:
    """One plan for one tier."""
    tags = _tags(a, tier)
    phases = _build_phases(a, tier, lang)
    common = _to_items(phases, "common", lang)
    perf = _to_items(phases, "performance", lang)
    weeks = total_weeks(common, perf)
    cost = sum(p.cost for p in phases)
    label, summary = _TIER_TEXT[tier]
    if tier == "innovative" and "designation" not in tags:
        summary = _INNOVATIVE_LOW_RISK
    submissions = [p for p in phases if p.key.startswith("sub_")]
    pathway_names = [p.name.get(lang) for p in submissions]
    name = a.name.get(lang)
    title = f"{label.get(lang)}: {pathway_names[0]}" if pathway_names else label.get(lang)
    pros, cons, recs = _pros_cons(a, tier, lang)
    description = Bi(
        f"{name} — {summary.ko} 경로: {', '.join(pathway_names)}.",
        f"{name} — {summary.en} Pathways: {', '.join(pathway_names)}.",
    ).get(lang)
    return Plan(
        id=plan_id,
        tier=tier,
        title=title,
        description=description,
        total_duration=format_total(weeks, lang),
        estimated_cost=format_cost(cost, lang),
        risk_level=_risk_level(a, tier),
        common_standards=PlanSection(
            timeline=common,
            standards=_standards(a, tags, tier, lang),
            documentation=_documentation(a, tags, tier, lang),
        ),
        performance_evaluation=PerformanceSection(
            timeline=perf,
            tests=_tests(a, tags, tier, lang),
            documentation=_performance_docs(
                tags, any(p.key == "clinical_approval" for p in phases), lang
            ),
        ),
        pros=pros,
        cons=cons,
        recommendations=recs,
        version=1,
        session_id=session_id,
        language=lang,
        pathways=pathway_names,
    )


def build_plans(
    a: Assessment, *, lang: Lang, id_factory: Callable[[], str], session_id: str | None = None
) -> list[Plan]:
    """All four tiers, each with a fresh server-generated id."""
    return [
        build_plan(a, tier, lang=lang, plan_id=id_factory(), session_id=session_id)
        for tier in TIERS
    ]
