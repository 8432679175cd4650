"""Plans for a product that is not a medical device (route "non-device").

A wellness app or a step counter still has a next step: confirm the status (MFDS 의료기기
해당 여부 질의; FDA general-wellness policy; EU borderline position), keep the claims on
the non-device side, and meet the obligations that apply to any product (electrical
safety/KC, radio, privacy). The steps are data with sources; the procedure is below them.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from app.regulatory.engine import rules_data as rd
from app.regulatory.engine.planner import format_cost
from app.regulatory.engine.text import Bi, Lang, compile_terms, normalise
from app.regulatory.engine.timeline import format_total, format_weeks, total_weeks
from app.regulatory.schemas.analysis import (
    PerformanceSection,
    Plan,
    PlanSection,
    RiskLevel,
    Tier,
    TimelineItem,
)

TIERS: tuple[Tier, ...] = ("fastest", "normal", "conservative", "innovative")

SRC_MFDS_INQUIRY = "식약처 민원 '의료기기 해당 여부 질의' (민원 처리에 관한 법률)"
SRC_AD = "의료기기법 제24조 (광고 금지); 의료기기법 제2조"
SRC_FDA_513G = "FD&C Act §513(g) (request for classification information)"
SRC_EU_BORDERLINE = (
    "EU MDR 2017/745 Art. 2(1); MDCG Manual on borderline and classification (2022); "
    "MDCG 2019-11 (software)"
)
SRC_PRIVACY = "개인정보 보호법 제23조 (민감정보); GDPR Art. 9; HIPAA where a covered entity"
SRC_KC_SAFETY = "전기용품 및 생활용품 안전관리법 (KC); IEC 62368-1; EU LVD 2014/35/EU"
SRC_KC_EMC = (
    "전파법 제58조의2 (방송통신기자재 적합성평가, KC); FCC 47 CFR Part 15; EU EMC 2014/30/EU"
)
SRC_RADIO = "전파법 제58조의2 (무선기기 적합성평가); FCC 47 CFR Part 15; EU RED 2014/53/EU"


@dataclass(frozen=True, slots=True)
class Step:
    """One step of the non-device route: weeks per tier (0 = not in that tier)."""

    key: str
    section: str
    name: Bi
    description: Bi
    weeks: tuple[int, int, int, int]
    deps: tuple[str, ...]
    deliverable: Bi
    when: str  # "all", "software", "hardware" or "wireless"
    source: str
    rate: float  # million KRW per week of work


# fmt: off
STEPS: tuple[Step, ...] = (
    Step("qualify", "common",
         Bi("의료기기 해당 여부 판단 및 근거 문서화", "Qualification decision and rationale"),
         Bi("사용목적·표방 효과를 의료기기법 제2조와 웰니스 판단기준에 비추어 판단하고 기록",
            "Assess intended use and claims against the device definition and wellness criteria"),
         (2, 2, 3, 2), (), Bi("의료기기 해당 여부 판단서", "Qualification memo"), "all",
         f"{rd.SRC_MFDS_DEF}; {rd.SRC_MFDS_WELLNESS}", 2),
    Step("claims", "common",
         Bi("표시·광고 문구 검토 (질병 관련 표현 배제)", "Claims review (no disease claims)"),
         Bi("제품 설명·앱 스토어·광고에서 진단·치료·예방 표현을 빼고 건강관리 표현으로 통일",
            "Keep labelling, store listings and ads free of diagnose/treat/prevent claims"),
         (1, 2, 3, 2), ("qualify",), Bi("표시·광고 문구 검토서", "Claims review record"), "all",
         SRC_AD, 2),
    Step("mfds_inquiry", "common",
         Bi("MFDS 의료기기 해당 여부 질의", "MFDS device-status inquiry (의료기기 해당 여부 질의)"),
         Bi("식약처에 제품 설명·사용목적을 제출해 의료기기 해당 여부 회신을 받음",
            "Submit the product description and intended use to MFDS for a written status answer"),
         (0, 6, 6, 6), ("claims",), Bi("MFDS 회신 공문", "MFDS reply letter"), "all",
         SRC_MFDS_INQUIRY, 1),
    Step("fda_position", "common",
         Bi("FDA 일반 웰니스 정책 검토 (필요 시 513(g) 질의)",
            "FDA position: General Wellness policy (513(g) request if unsure)"),
         Bi("FDA General Wellness 지침의 두 범주에 해당함을 문서화하고, 불확실하면 513(g)로 확인",
            "Document fit with the two General Wellness categories; ask via 513(g) when unsure"),
         (0, 0, 10, 4), ("claims",), Bi("FDA 웰니스 해당성 메모", "FDA wellness memo"), "all",
         f"{rd.SRC_FDA_WELLNESS}; {SRC_FDA_513G}; {rd.SRC_FDA_520O}", 2),
    Step("eu_borderline", "common",
         Bi("EU 경계 제품 검토 (MDR 제2조(1))", "EU borderline position (MDR Art. 2(1))"),
         Bi("EU 경계·분류 매뉴얼과 MDCG 2019-11에 따라 의료기기 해당성 판단을 기록",
            "Record the qualification per the EU borderline manual and MDCG 2019-11"),
         (0, 0, 4, 0), ("claims",), Bi("EU 해당성 판단서", "EU qualification memo"), "all",
         SRC_EU_BORDERLINE, 2),
    Step("privacy", "common",
         Bi("개인정보 보호 (민감정보·동의·보안조치)", "Privacy (sensitive data, consent, security)"),
         Bi("건강정보의 민감정보 처리 동의, 개인정보처리방침, 암호화·접근통제",
            "Consent for health data, privacy notice, encryption and access control"),
         (2, 4, 6, 4), ("qualify",), Bi("개인정보 영향 검토서·처리방침", "Privacy review and notice"),
         "software", SRC_PRIVACY, 3),
    Step("roadmap", "common",
         Bi("의료기기 기능 확장 로드맵", "Roadmap for a future medical claim"),
         Bi("질병 관련 기능을 추가할 때 필요한 등급·인허가·임상 근거를 미리 설계",
            "Plan the class, pathway and evidence a future disease claim would need"),
         (0, 0, 0, 4), ("qualify",), Bi("인허가 전환 로드맵", "Regulatory transition roadmap"),
         "all", f"{rd.SRC_MFDS_DEF}; {rd.SRC_IMDRF}", 3),
    Step("elec", "performance",
         Bi("전기안전·EMC 시험 및 KC 인증", "Electrical safety, EMC and KC certification"),
         Bi("IEC 62368-1 전기안전, 전자파적합성(KN 32/35) 시험 및 KC 인증 (미국 FCC Part 15, EU CE)",
            "IEC 62368-1 safety and EMC tests; KC (Korea), FCC Part 15 (US), CE LVD/EMC (EU)"),
         (6, 8, 10, 8), ("qualify",), Bi("KC 인증서·시험성적서", "KC certificate and test reports"),
         "hardware", f"{SRC_KC_SAFETY}; {SRC_KC_EMC}", 5),
    Step("radio", "performance",
         Bi("무선 적합성평가 (전파법 KC)", "Radio conformity (KC radio, FCC, RED)"),
         Bi("블루투스·Wi-Fi 무선기기 적합성평가 (미국 FCC ID, EU RED)",
            "Bluetooth/Wi-Fi radio approval (KC, FCC ID, EU RED)"),
         (4, 6, 8, 6), ("qualify",), Bi("무선 적합성평가 인증서", "Radio approval certificates"),
         "wireless", SRC_RADIO, 4),
    Step("sw_check", "performance",
         Bi("소프트웨어 품질·보안 점검", "Software quality and security check"),
         Bi("기능 시험, 취약점 점검, 데이터 정확도 확인 (IEC 82304-1 준용은 선택)",
            "Functional tests, vulnerability scan, data accuracy (IEC 82304-1 optional)"),
         (2, 3, 4, 3), ("qualify",), Bi("소프트웨어 시험 보고서", "Software test report"),
         "software", "IEC 82304-1:2016 (voluntary for non-device health software)", 4),
    Step("launch", "common",
         Bi("출시 준비 (표시사항·약관·처리방침)", "Launch readiness (labels, terms, privacy notice)"),
         Bi("최종 표시사항, 이용약관, 개인정보처리방침 확정 및 출시 후 민원 모니터링 체계",
            "Final labels, terms and privacy notice; complaint monitoring after launch"),
         (1, 2, 2, 2), ("claims", "mfds_inquiry", "fda_position", "eu_borderline", "privacy",
                        "elec", "radio", "sw_check", "roadmap"),
         Bi("출시 체크리스트", "Launch checklist"), "all", SRC_AD, 2),
)
# fmt: on

_WIRELESS = compile_terms(
    "wireless",
    ("블루투스", "무선", "와이파이", "bluetooth", "wireless", "wi-fi", "wifi", "nfc", "ble"),
)
_HARDWARE = compile_terms(
    "nd_hardware",
    (
        *rd.HARDWARE_TERMS,
        "밴드",
        "트래커",
        "인솔",
        "깔창",
        "워치",
        "체중계",
        "체성분",
        "반지",
        "만보기",
        "pedometer*",
        "band",
        "tracker*",
        "insole*",
        "watch",
        "smartwatch*",
        "scale",
        "ring",
        "device*",
    ),
)
_SOFTWARE = compile_terms("nd_software", rd.SOFTWARE_TERMS)
_LABEL_WORDS = (
    "비의료기기",
    "의료기기",
    "not a medical device",
    "medical device",
    "제품",
    "product",
)

_TITLES: dict[str, Bi] = {
    "fastest": Bi("비의료기기 경로 — 자체 판단 후 출시", "Non-device route — self-assessed launch"),
    "normal": Bi("비의료기기 경로 — MFDS 해당 여부 확인", "Non-device route — confirm with MFDS"),
    "conservative": Bi(
        "비의료기기 경로 — 한국·미국·EU 입장 확인", "Non-device route — KR, US and EU positions"
    ),
    "innovative": Bi(
        "비의료기기 경로 — 출시 후 의료기기 전환 준비",
        "Non-device route — launch now, prepare a medical claim",
    ),
}
_SUMMARY: dict[str, Bi] = {
    "fastest": Bi(
        "의료기기 해당 여부를 자체 판단·문서화하고 일반 제품 의무만 갖춰 출시합니다.",
        "Document the non-device decision and meet general product obligations only.",
    ),
    "normal": Bi(
        "식약처 의료기기 해당 여부 질의로 비의료기기임을 확인한 뒤 출시합니다.",
        "Confirm the non-device status with MFDS (의료기기 해당 여부 질의) before launch.",
    ),
    "conservative": Bi(
        "MFDS 질의에 더해 FDA 일반 웰니스 정책과 EU 경계 제품 입장까지 확인합니다.",
        "Adds the FDA general-wellness and EU borderline positions to the MFDS answer.",
    ),
    "innovative": Bi(
        "비의료기기로 먼저 출시하고, 질병 관련 기능 추가 시의 인허가 로드맵을 준비합니다.",
        "Launch as a non-device and prepare the pathway a future disease claim would need.",
    ),
}
_RISK: dict[str, RiskLevel] = {
    "fastest": "medium",
    "normal": "low",
    "conservative": "low",
    "innovative": "medium",
}


@dataclass(frozen=True, slots=True)
class Profile:
    """What kind of product it is, read from its names and purpose."""

    software: bool
    hardware: bool
    wireless: bool

    def has(self, when: str) -> bool:
        """Whether a step's condition holds."""
        return when == "all" or getattr(self, when)


def profile(text: str, software_flag: bool | None) -> Profile:
    """Software / hardware / radio from the product's own words."""
    norm = normalise(text)
    # The classification's own label ("비의료기기 — …", "Not a medical device — …") says
    # nothing about the product's hardware: drop it before reading the product's words.
    for label in _LABEL_WORDS:
        norm = norm.replace(label, " ")
    software = bool(software_flag) or _SOFTWARE.hit(norm)
    hardware = _HARDWARE.hit(norm)
    if not software and not hardware:
        software = True  # an unnamed product is most often an app; privacy applies to it
    wireless = _WIRELESS.hit(norm) or (hardware and software)
    return Profile(software=software, hardware=hardware, wireless=wireless)


def _standards(p: Profile, tier: str, lang: Lang) -> list[str]:
    ti = TIERS.index(tier)
    out = [
        Bi(
            "의료기기법 제2조 및 MFDS 의료기기와 개인용 건강관리(웰니스)제품 판단기준",
            "MFDS device definition (의료기기법 제2조) and wellness product criteria",
        ).get(lang),
        rd.SRC_FDA_WELLNESS,
    ]
    if p.software:
        out.append(rd.SRC_FDA_520O)
        out.append(Bi("개인정보 보호법 (민감정보) / GDPR", "PIPA (Korea) / GDPR / HIPAA").get(lang))
    if ti == 2:
        out.append(SRC_EU_BORDERLINE)
    if p.hardware:
        out.append("IEC 62368-1 (KC 62368-1)")
        out.append("KN 32 / KN 35 (EMC) · FCC 47 CFR Part 15")
    if p.wireless:
        out.append(Bi("전파법 적합성평가 · FCC Part 15 · RED 2014/53/EU", SRC_RADIO).get(lang))
    if p.software and ti >= 2:
        out.append("IEC 82304-1:2016 (voluntary)")
    return out


def build_nondevice_plans(
    *,
    name: str,
    text: str,
    software: bool | None,
    lang: Lang,
    id_factory: Callable[[], str],
    session_id: str | None,
) -> list[Plan]:
    """Four plans for the non-device route of one product."""
    p = profile(f"{name} {text}", software)
    plans: list[Plan] = []
    for ti, tier in enumerate(TIERS):
        steps = [s for s in STEPS if s.weeks[ti] and p.has(s.when)]
        present = {s.key for s in steps}
        names = {s.key: s.name.get(lang) for s in steps}
        items: dict[str, list[TimelineItem]] = {"common": [], "performance": []}
        for s in steps:
            items[s.section].append(
                TimelineItem(
                    phase=names[s.key],
                    description=s.description.get(lang),
                    duration=format_weeks(s.weeks[ti], lang),
                    dependencies=[names[d] for d in s.deps if d in present] or None,
                    deliverables=[s.deliverable.get(lang)],
                )
            )
        weeks = total_weeks(items["common"], items["performance"])
        cost = sum(s.rate * s.weeks[ti] for s in steps) + (3 if "mfds_inquiry" in present else 0)
        summary = _SUMMARY[tier]
        plans.append(
            Plan(
                id=id_factory(),
                tier=tier,
                title=_TITLES[tier].get(lang),
                description=Bi(f"{name} — {summary.ko}", f"{name} — {summary.en}").get(lang),
                total_duration=format_total(weeks, lang),
                estimated_cost=format_cost(cost, lang),
                risk_level=_RISK[tier],
                common_standards=PlanSection(
                    timeline=items["common"],
                    standards=_standards(p, tier, lang),
                    documentation=[s.deliverable.get(lang) for s in steps if s.section == "common"],
                ),
                performance_evaluation=PerformanceSection(
                    timeline=items["performance"],
                    tests=[s.name.get(lang) for s in steps if s.section == "performance"]
                    or [Bi("제품 기능 점검", "Product function check").get(lang)],
                    documentation=[
                        s.deliverable.get(lang) for s in steps if s.section == "performance"
                    ],
                ),
                pros=_pros(tier, lang),
                cons=_cons(tier, lang),
                recommendations=_recommendations(tier, lang),
                version=1,
                session_id=session_id,
                language=lang,
                pathways=[
                    s.name.get(lang) for s in steps if s.key.endswith(("inquiry", "position"))
                ],
            )
        )
    return plans


def _pros(tier: str, lang: Lang) -> list[str]:
    pros = {
        "fastest": Bi("가장 빠른 출시, 인허가 비용 없음", "Fastest launch, no clearance fees"),
        "normal": Bi("규제기관 회신으로 분류 위험 해소", "A regulator's answer removes the doubt"),
        "conservative": Bi(
            "세 시장 모두에서 입장 확보", "A documented position in all three markets"
        ),
        "innovative": Bi(
            "출시 후 의료기기 전환이 빨라짐", "A faster switch to a medical claim later"
        ),
    }[tier]
    return [pros.get(lang)]


def _cons(tier: str, lang: Lang) -> list[str]:
    cons = {
        "fastest": Bi(
            "규제기관이 의료기기로 판단하면 판매 중지·회수 위험",
            "If a regulator disagrees, sales may have to stop",
        ),
        "normal": Bi("회신까지 수주 소요", "Weeks of waiting for the reply"),
        "conservative": Bi("가장 긴 준비 기간", "Longest preparation"),
        "innovative": Bi("로드맵 준비에 추가 비용", "Extra cost for the roadmap"),
    }[tier]
    return [cons.get(lang)]


def _recommendations(tier: str, lang: Lang) -> list[str]:
    recs = [
        Bi(
            "질병의 진단·치료·예방을 표방하는 순간 의료기기가 됩니다: 표현을 일관되게 관리하세요",
            "Any claim to diagnose, treat or prevent disease makes it a device: keep claims "
            "consistent everywhere",
        ),
    ]
    if tier != "fastest":
        recs.append(
            Bi(
                "회신·판단서를 보관하고 기능 변경 시 다시 판단하세요",
                "Keep the replies and memos; reassess whenever features change",
            )
        )
    return [r.get(lang) for r in recs]
