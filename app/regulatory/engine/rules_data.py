"""Rule tables of the offline regulatory engine.

Everything a regulatory-affairs expert may want to check or extend lives here as data:
keyword tables, device archetypes (the MFDS 품목 idea: a named kind of device has a
known class), the EU MDR Annex VIII hardware rules, the IMDRF SaMD matrix and the
standards list. Each entry names its `source`. See docs/regulatory-rules.md.

Terms: Hangul terms match as substrings (Korean attaches particles), Latin terms on word
boundaries; a trailing "*" allows any English suffix.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from app.regulatory.engine.text import Bi

RiskClass = Literal["I", "II", "III", "IV"]
Significance = Literal["treat_diagnose", "drive", "inform"]
Situation = Literal["critical", "serious", "non_serious"]

# fmt: off
SRC_MFDS_DEF = "의료기기법 제2조 (의료기기의 정의)"
SRC_MFDS_ITEMS = "MFDS 의료기기 품목 및 품목별 등급에 관한 규정 (식약처 고시)"
SRC_MFDS_IVD = "MFDS 체외진단의료기기 품목 및 품목별 등급에 관한 규정"
SRC_MFDS_WELLNESS = "MFDS 의료기기와 개인용 건강관리(웰니스)제품 판단기준"
SRC_MFDS_SW = "MFDS 의료기기 소프트웨어 허가·심사 가이드라인"
SRC_MFDS_AI = "MFDS 인공지능 기반 의료기기 허가·심사 가이드라인"
SRC_IMDRF = "IMDRF/SaMD WG/N12FINAL:2014"
SRC_RULE11 = "EU MDR 2017/745 Annex VIII Rule 11; MDCG 2019-11"
SRC_ANNEX8 = "EU MDR 2017/745 Annex VIII"
SRC_IVDR = "EU IVDR 2017/746 Annex VIII"
SRC_FDA_WELLNESS = "FDA General Wellness: Policy for Low Risk Devices (2019)"
SRC_FDA_520O = "FD&C Act §520(o) (21st Century Cures Act §3060)"
SRC_FDA_CLASS = "21 CFR 860 (device classification)"
SRC_62304 = "IEC 62304:2006+A1:2015 §4.3"


@dataclass(frozen=True, slots=True)
class TermTable:
    """Keywords that signal one thing, in both languages."""

    key: str
    label: Bi
    terms: tuple[str, ...]
    source: str


# --- Medical purpose (MFDS definition) ------------------------------------------------------

PURPOSE_TABLES: tuple[TermTable, ...] = (
    TermTable(
        "diagnose",
        Bi("질병의 진단·검출·예측", "diagnosis, detection or prediction of disease"),
        (
            "진단", "검출", "탐지", "판독", "감별", "선별검사", "스크리닝", "판별", "조기 발견",
            "예측", "예후", "위험도 평가",
            "diagnos*", "detect*", "screening", "triage", "cade", "cadx", "differential",
            "predict*", "prognos*", "risk of",
        ),
        SRC_MFDS_DEF,
    ),
    TermTable(
        "treat",
        Bi("질병의 치료·경감", "treatment of disease or injury"),
        (
            "치료", "수술", "시술", "절제", "재활", "처치", "투여", "주입", "봉합", "지혈", "소작",
            "treat*", "therap*", "surgery", "surgical", "ablat*", "rehabilit*", "infus*",
            "inject*", "sutur*", "hemosta*", "cauter*", "resect*",
        ),
        SRC_MFDS_DEF,
    ),
    TermTable(
        "prevent",
        Bi("질병의 예방", "prevention of disease"),
        ("예방", "감염 방지", "prevent*", "prophyla*"),
        SRC_MFDS_DEF,
    ),
    TermTable(
        "monitor",
        Bi("생리 상태의 감시(모니터링)", "monitoring of a physiological state"),
        ("모니터링", "감시", "추적 관찰", "측정", "monitor*", "surveillance", "measur*"),
        SRC_MFDS_DEF,
    ),
    TermTable(
        "alleviate",
        Bi("상해·장애의 완화 또는 보정", "alleviation of or compensation for injury/disability"),
        (
            "완화", "경감", "보정", "청력 보조", "시력 교정", "기능 보완",
            "alleviat*", "relie*", "compensat*", "mitigat*", "vision correction",
        ),
        SRC_MFDS_DEF,
    ),
    TermTable(
        "anatomy",
        Bi("구조·기능의 검사·대체·변형", "examination, replacement or modification of anatomy"),
        (
            "해부", "생리 기능", "기능 대체", "보형물", "인공 관절", "검사",
            "anatom*", "physiolog*", "prosthe*", "replacement",
        ),
        SRC_MFDS_DEF,
    ),
    TermTable(
        "conception",
        Bi("임신 조절", "control of conception"),
        ("피임", "임신 조절", "콘돔", "contracept*", "condom*", "birth control", "conception"),
        SRC_MFDS_DEF,
    ),
)

# Disease, injury or disability words: a medical claim needs one of these or a strong verb.
CONDITION_TERMS = TermTable(
    "condition",
    Bi("질병·상해·장애", "disease, injury or disability"),
    (
        "질환", "질병", "병변", "환자", "암 진단", "암 환자", "암 검출", "암을", "암의", "암이", "폐암", "유방암", "위암", "간암",
        "대장암", "갑상선암", "전립선암", "피부암", "췌장암", "종양", "결절", "부정맥", "심방세동", "당뇨", "혈당",
        "고혈압", "심전도", "패혈증", "뇌졸중", "뇌출혈", "골절", "폐렴", "결핵", "치매", "파킨슨",
        "우울증", "불면증", "adhd", "자폐", "천식", "copd", "심부전", "심근경색", "외상", "상처",
        "화상", "감염", "난청", "근시", "망막병증", "녹내장", "치주", "충치", "통증", "장애",
        "수면무호흡", "수면 무호흡", "저산소", "발열", "중독",
        "disease*", "disorder*", "lesion*", "patient*", "cancer*", "tumo*", "nodul*",
        "arrhythmi*", "atrial fibrillation", "afib", "diabet*", "glucose", "hypertension",
        "ecg", "ekg", "electrocardiogra*", "sepsis", "septic", "stroke", "hemorrhag*",
        "fracture*", "pneumonia", "tuberculosis", "dementia", "alzheimer*", "parkinson*",
        "depression", "insomnia", "autism", "asthma", "heart failure", "infarction",
        "injur*", "trauma*", "wound*", "infection*", "hearing loss", "myopia", "retinopathy",
        "glaucoma", "caries", "pain", "disabilit*", "apnea", "hypoxi*", "fever", "addiction",
    ),
    SRC_MFDS_DEF,
)

# Product claims that MFDS/FDA treat as outside device regulation when no disease claim is made.
NON_DEVICE_TABLES: tuple[TermTable, ...] = (
    TermTable(
        "ND-WELLNESS",
        Bi("개인 건강관리(웰니스)·피트니스 제품", "general wellness / fitness product"),
        (
            "피트니스", "운동 기록", "운동량", "걸음", "만보기", "칼로리", "다이어트", "체중 관리",
            "식단", "수면 기록", "수면 패턴", "명상", "스트레스 해소", "마음챙김", "웰니스", "요가",
            "fitness", "workout", "exercise", "step", "step count*", "pedometer*", "calorie*",
            "diet", "weight loss", "nutrition", "meditation", "mindfulness", "relaxation",
            "wellness", "yoga", "sleep tracking", "lifestyle",
        ),
        f"{SRC_MFDS_WELLNESS}; {SRC_FDA_WELLNESS}",
    ),
    TermTable(
        "ND-ADMIN",
        Bi("병원 행정·예약·청구 소프트웨어", "administrative / scheduling / billing software"),
        (
            "예약", "접수", "수납", "청구", "보험 청구", "결제", "일정 관리", "병원 관리", "재고 관리",
            "인사 관리", "회계", "행정",
            "appointment*", "booking", "schedul*", "billing", "invoic*", "insurance claim*",
            "payment*", "administrative", "inventory", "staffing", "reimbursement",
        ),
        f"{SRC_FDA_520O}(1)(A); MDCG 2019-11 §3.5",
    ),
    TermTable(
        "ND-RECORDS",
        Bi("기록 저장·전송·통신 전용 소프트웨어", "storage / transfer / communication-only software"),
        (
            "저장", "전송", "보관", "아카이브", "전자의무기록", "진료 기록", "의무기록", "메신저",
            "화상 통화", "화상 상담", "emr", "ehr",
            "storage", "store", "archiv*", "transfer", "transmi*", "electronic health record*",
            "medical record*", "messaging", "messenger", "video call*", "chat",
        ),
        f"{SRC_FDA_520O}(1)(C)-(D); MDCG 2019-11 §3.5; {SRC_MFDS_SW}",
    ),
)

SOFTWARE_TERMS: tuple[str, ...] = (
    "소프트웨어", "앱", "애플리케이션", "어플", "프로그램", "알고리즘", "인공지능", "딥러닝",
    "머신러닝", "플랫폼", "클라우드", "모바일", "웹 서비스",
    "software", "app", "application", "algorithm*", "ai", "artificial intelligence",
    "machine learning", "deep learning", "samd", "platform", "cloud", "mobile", "web",
    "decision support",
)
AI_TERMS: tuple[str, ...] = (
    "인공지능", "ai", "딥러닝", "머신러닝", "기계학습", "신경망", "컴퓨터 비전", "cnn",
    "artificial intelligence", "machine learning", "deep learning", "neural network*", "llm",
    "computer vision",
)
HARDWARE_TERMS: tuple[str, ...] = (
    "기기", "장치", "장비", "기구", "센서", "패치", "웨어러블", "기계", "부착", "삽입", "이식",
    "착용", "프로브", "전극",
    "hardware", "instrument*", "equipment", "sensor*", "patch", "wearable*", "machine*",
    "implant*", "probe*", "scanner*", "electrode*", "apparatus",
)
NOVELTY_TERMS: tuple[str, ...] = (
    "세계 최초", "국내 최초", "새로운 방식", "신개념", "혁신", "first-of-its-kind", "novel",
    "first in class", "breakthrough",
)
IMAGE_TERMS: tuple[str, ...] = (
    "영상", "이미지", "x선", "엑스레이", "흉부", "안저", "병리 슬라이드", "유방촬영", "ct", "mri",
    "image*", "imaging", "scan", "scans", "radiograph*", "chest", "fundus", "mammogra*",
    "pathology slide*", "whole slide",
)
AID_TERMS: tuple[str, ...] = (
    "보조", "지원", "참고", "aid", "aids", "assist*", "support*", "adjunct*", "second reader",
)

# --- IMDRF SaMD significance and situation --------------------------------------------------

SIGNIFICANCE_TABLES: tuple[TermTable, ...] = (
    TermTable(
        "treat_diagnose",
        Bi("치료·진단 (즉각적 임상 조치)", "treat or diagnose"),
        (
            "진단", "치료", "처방", "투여량", "용량 계산", "확진", "치료 계획", "자동 진단",
            "diagnos*", "treat*", "therap*", "dose", "dosing", "dosage", "treatment plan*",
        ),
        f"{SRC_IMDRF} §5.1.1",
    ),
    TermTable(
        "drive",
        Bi("임상 관리 유도 (진단·치료 보조, 조기 징후 검출)", "drive clinical management"),
        (
            "검출", "탐지", "예측", "위험도", "조기", "우선순위", "알림", "경보", "선별", "스크리닝",
            "트리아지", "권고", "감지",
            "detect*", "predict*", "risk score*", "early", "triage", "prioriti*", "alert*",
            "alarm*", "notif*", "screen*", "recommend*", "cade",
        ),
        f"{SRC_IMDRF} §5.1.2",
    ),
    TermTable(
        "inform",
        Bi("임상 관리에 정보 제공", "inform clinical management"),
        (
            "정보 제공", "표시", "시각화", "기록", "추세", "모니터링", "조회", "요약",
            "inform*", "display*", "visuali*", "trend*", "monitor*", "track*", "log", "logs",
            "summar*",
        ),
        f"{SRC_IMDRF} §5.1.3",
    ),
)

SITUATION_TABLES: tuple[TermTable, ...] = (
    TermTable(
        "critical",
        Bi("위급(critical) 상황", "critical situation"),
        (
            "패혈증", "중환자", "응급", "뇌졸중", "뇌출혈", "심정지", "심근경색", "쇼크", "생명",
            "치명", "급성", "폐색전", "대동맥 박리", "신생아 중환자",
            "sepsis", "septic", "icu", "intensive care", "emergenc*", "stroke", "hemorrhag*",
            "cardiac arrest", "myocardial infarction", "shock", "life-threatening", "fatal",
            "acute", "pulmonary embolism", "large vessel occlusion", "critical care", "nicu",
        ),
        f"{SRC_IMDRF} §5.2.1",
    ),
    TermTable(
        "serious",
        Bi("심각(serious) 상황", "serious situation"),
        (
            "암 진단", "암 환자", "암 검출", "암을", "암의", "폐암", "유방암", "위암", "간암", "대장암", "종양", "결절", "부정맥",
            "심방세동", "당뇨", "혈당", "고혈압", "골절", "폐렴",
            "결핵", "치매", "파킨슨", "심부전", "망막병증", "녹내장", "우울증", "천식", "copd",
            "만성", "신장", "수면무호흡", "수면 무호흡",
            "cancer*", "tumo*", "nodul*", "malignan*", "arrhythmi*", "afib",
            "atrial fibrillation", "diabet*", "hypertension", "fracture*", "pneumonia",
            "tuberculosis", "dementia", "parkinson*", "heart failure", "retinopathy",
            "glaucoma", "depression", "asthma", "chronic", "kidney", "apnea",
        ),
        f"{SRC_IMDRF} §5.2.2",
    ),
    TermTable(
        "non_serious",
        Bi("비심각(non-serious) 상황", "non-serious situation"),
        (
            "경증", "여드름", "감기", "비염", "근시", "불면", "가벼운", "두통", "약시",
            "mild", "minor", "acne", "common cold", "rhinitis", "myopia", "insomnia",
            "headache", "amblyopia",
        ),
        f"{SRC_IMDRF} §5.2.3",
    ),
)

# IMDRF N12 Table 1: rows are situations, columns significance.
SAMD_MATRIX: dict[tuple[Situation, Significance], RiskClass] = {
    ("critical", "treat_diagnose"): "IV",
    ("critical", "drive"): "III",
    ("critical", "inform"): "II",
    ("serious", "treat_diagnose"): "III",
    ("serious", "drive"): "II",
    ("serious", "inform"): "I",
    ("non_serious", "treat_diagnose"): "II",
    ("non_serious", "drive"): "I",
    ("non_serious", "inform"): "I",
}

# MDCG 2019-11 §6.1 table: the same grid read as EU MDR Rule 11 classes.
RULE11_MATRIX: dict[tuple[Situation, Significance], str] = {
    ("critical", "treat_diagnose"): "III",
    ("critical", "drive"): "IIb",
    ("critical", "inform"): "IIa",
    ("serious", "treat_diagnose"): "IIb",
    ("serious", "drive"): "IIa",
    ("serious", "inform"): "IIa",
    ("non_serious", "treat_diagnose"): "IIa",
    ("non_serious", "drive"): "IIa",
    ("non_serious", "inform"): "IIa",
}

# First-pass correspondences; the 품목 table (archetypes) overrides them where it knows better.
EU_TO_MFDS: dict[str, RiskClass] = {"I": "I", "IIa": "II", "IIb": "III", "III": "IV"}
EU_TO_FDA: dict[str, tuple[str, str]] = {
    "I": ("I", "510(k)-exempt (registration & listing)"),
    "IIa": ("II", "510(k)"),
    "IIb": ("II", "510(k)"),
    "III": ("III", "PMA"),
}
SAMD_TO_FDA: dict[RiskClass, tuple[str, str]] = {
    "I": ("I", "510(k)-exempt / enforcement discretion"),
    "II": ("II", "510(k)"),
    "III": ("II", "De Novo"),
    "IV": ("III", "PMA"),
}

MFDS_ROUTE: dict[RiskClass, Bi] = {
    "I": Bi("1등급 신고 (한국의료기기안전정보원)", "Class 1 notification (NIDS)"),
    "II": Bi("2등급 인증 (기술문서 심사)", "Class 2 certification (technical-file review)"),
    "III": Bi("3등급 허가 (기술문서·임상자료 심사)", "Class 3 approval (technical + clinical)"),
    "IV": Bi("4등급 허가 (임상시험자료 포함 심사)", "Class 4 approval (clinical-trial data)"),
}
SRC_MFDS_ROUTE = "의료기기법 제6조; MFDS 의료기기 허가·신고·심사 등에 관한 규정"


# --- Device archetypes (품목) ------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Archetype:
    """A named kind of device with its known classes: matched when every term group hits."""

    code: str
    name: Bi
    description: Bi
    all_of: tuple[tuple[str, ...], ...]
    mfds: RiskClass
    eu_class: str
    eu_rule: str
    fda_class: str
    fda_pathway: str
    fda_regulation: str
    source: str
    tags: frozenset[str]
    imdrf: RiskClass | None = None
    iec62304: str | None = None
    extra_standards: tuple[str, ...] = ()
    related: tuple[str, ...] = ()
    confidence: float = 0.88
    eu_framework: str = "EU MDR 2017/745"
    # Terms that veto the match (e.g. CADx words on a detection-aid type): keeps two
    # archetypes with overlapping terms from shadowing each other.
    none_of: tuple[str, ...] = ()
    # More specific types of these archetypes: when both match, this one wins (intended
    # shadowing, checked by the table-integrity test).
    refines: tuple[str, ...] = ()

    @property
    def imdrf_class(self) -> str:
        """GHTF/IMDRF class A–D (GHTF/SG1/N77:2012, N045) read from the EU class."""
        return GHTF_CLASS.get(self.eu_class, "D")


# EU MDR/IVDR classes read as the GHTF/IMDRF risk classes A (lowest) to D.
GHTF_CLASS: dict[str, str] = {
    "I": "A", "IIa": "B", "IIb": "C", "III": "D", "A": "A", "B": "B", "C": "C", "D": "D",
}
_SW = SOFTWARE_TERMS
_ANALYSE = (
    "분석", "검출", "탐지", "감지", "진단", "판독", "분류", "알림", "analy*", "detect*",
    "diagnos*", "classif*", "interpret*", "alert*", "notif*",
)
_SCALPEL = (
    "수술용 메스", "수술용메스", "외과용 메스", "메스 날", "수술 칼", "수술용 칼", "scalpel*",
    "surgical blade*", "surgical knife",
)
_CATHETER = ("카테터", "catheter*")
_STENT = ("스텐트", "stent*")
_CONTACT_LENS = ("콘택트렌즈", "콘택트 렌즈", "컨택트렌즈", "contact lens*", "contact lenses")
_SOFTWARE_TAGS = frozenset({"software", "health_software", "connected"})
_AI_TAGS = _SOFTWARE_TAGS | {"ai"}

ARCHETYPES: tuple[Archetype, ...] = (
    # -- standalone software (SaMD) --
    Archetype(
        "SW-CADE-LUNG",
        Bi("의료영상 검출보조 소프트웨어 (폐결절 CADe)", "Lung-nodule detection-aid software (CADe)"),
        Bi(
            "흉부 CT·X선 영상에서 폐결절 후보를 표시해 의료인의 판독을 보조",
            "Marks candidate lung nodules on chest CT/X-ray to aid the reading clinician",
        ),
        (
            ("폐결절", "폐 결절", "lung nodul*", "pulmonary nodul*"),
            ("검출", "탐지", "발견", "표시", "detect*", "cade", "locali*", "find*", "mark*"),
            IMAGE_TERMS,
        ),
        mfds="II",
        eu_class="IIa",
        eu_rule="Rule 11 (drive clinical management × serious → IIa, MDCG 2019-11)",
        fda_class="II",
        fda_pathway="510(k)",
        fda_regulation="21 CFR 892.2070 (medical image analyzer, radiological CADe)",
        source=f"{SRC_MFDS_ITEMS} — 의료영상검출보조소프트웨어 (2등급); {SRC_MFDS_AI}",
        tags=_AI_TAGS | {"imaging"},
        imdrf="II",
        iec62304="B",
        related=("SW-CADX", "SW-CADE"),
        refines=("SW-CADE",),
        confidence=0.9,
        extra_standards=("FDA CADe guidance: Clinical Performance Assessment (2022)",),
    ),
    Archetype(
        "SW-CADX",
        Bi("의료영상 진단보조 소프트웨어 (CADx)", "Medical-image diagnosis-aid software (CADx)"),
        Bi(
            "영상에서 병변의 악성 가능성 등 진단 정보를 산출해 의료인의 진단을 보조",
            "Characterises lesions on medical images (e.g. likelihood of malignancy)",
        ),
        (
            (
                "진단", "감별", "악성", "판별", "양성", "diagnos*", "characteri*", "malignan*",
                "cadx", "benign",
            ),
            IMAGE_TERMS,
            _SW,
        ),
        mfds="III",
        eu_class="IIb",
        eu_rule="Rule 11 (diagnosis decisions that may cause serious deterioration → IIb)",
        fda_class="II",
        fda_pathway="510(k)",
        fda_regulation="21 CFR 892.2060 (radiological computer-assisted diagnostic software)",
        source=f"{SRC_MFDS_ITEMS} — 의료영상진단보조소프트웨어 (3등급); {SRC_MFDS_AI}",
        tags=_AI_TAGS | {"imaging"},
        imdrf="III",
        iec62304="C",
        related=("SW-CADE",),
        confidence=0.85,
        # A detection aid that mentions diagnosis is still CADe (it marks, the reader decides).
        none_of=("cade", "검출보조", "검출 보조", "detection aid", "detection-aid", "second reader"),
    ),
    Archetype(
        "SW-CADE",
        Bi("의료영상 검출보조 소프트웨어 (CADe)", "Medical-image detection-aid software (CADe)"),
        Bi(
            "의료영상에서 병변 후보를 검출·표시해 판독을 보조",
            "Detects and marks candidate lesions on medical images to aid reading",
        ),
        (("검출", "탐지", "detect*", "cade"), IMAGE_TERMS, _SW),
        mfds="II",
        eu_class="IIa",
        eu_rule="Rule 11 (drive clinical management × serious → IIa, MDCG 2019-11)",
        fda_class="II",
        fda_pathway="510(k)",
        fda_regulation="21 CFR 892.2070 (medical image analyzer)",
        source=f"{SRC_MFDS_ITEMS} — 의료영상검출보조소프트웨어 (2등급)",
        tags=_AI_TAGS | {"imaging"},
        imdrf="II",
        iec62304="B",
        related=("SW-CADX",),
        confidence=0.82,
        # Characterising a lesion (benign vs malignant) is CADx, not detection.
        none_of=("cadx", "악성도", "benign", "malignan*", "characteri*", "감별"),
    ),
    Archetype(
        "SW-ECG-ARRHYTHMIA",
        Bi("심전도 분석 소프트웨어 (부정맥 검출)", "ECG analysis software (arrhythmia detection)"),
        Bi(
            "심전도 신호를 분석해 심방세동 등 부정맥 의심 리듬을 알림",
            "Analyses ECG signals and flags suspected arrhythmia such as atrial fibrillation",
        ),
        (
            (
                "심전도", "부정맥", "심방세동", "ecg", "ekg", "electrocardiogra*", "arrhythmi*",
                "atrial fibrillation", "afib",
            ),
            (*_SW, "워치", "웨어러블", "smartwatch*", "watch", "wearable*"),
            _ANALYSE,
        ),
        mfds="II",
        eu_class="IIa",
        eu_rule="Rule 11 (drive clinical management × serious → IIa)",
        fda_class="II",
        fda_pathway="510(k)",
        fda_regulation="21 CFR 870.2345 (ECG software for over-the-counter use)",
        source=f"{SRC_MFDS_ITEMS} — 심전도분석소프트웨어 (2등급)",
        tags=_SOFTWARE_TAGS,
        imdrf="II",
        iec62304="B",
        extra_standards=("IEC 60601-2-47:2012 / ANSI/AAMI EC57 (arrhythmia algorithm testing)",),
        confidence=0.88,
    ),
    Archetype(
        "SW-DTX",
        Bi("디지털 치료기기 (소프트웨어)", "Digital therapeutic (software)"),
        Bi(
            "인지행동치료 등 근거 기반 중재를 소프트웨어로 제공해 질환을 치료",
            "Delivers an evidence-based intervention (e.g. CBT) in software to treat a disorder",
        ),
        (
            ("치료", "인지행동", "therap*", "treat*", "cbt"),
            (
                "불면", "우울", "adhd", "중독", "공황", "불안", "자폐", "편두통", "약시",
                "insomnia", "depress*", "addiction", "substance use", "anxiety", "panic",
                "autism", "migraine", "amblyopia",
            ),
            _SW,
        ),
        mfds="II",
        eu_class="IIa",
        eu_rule="Rule 11 (therapeutic decisions × non-serious/serious → IIa)",
        fda_class="II",
        fda_pathway="De Novo",
        fda_regulation="21 CFR 882.5801 (computerized behavioral therapy device)",
        source=f"{SRC_MFDS_ITEMS} — 디지털치료기기; MFDS 디지털치료기기 허가·심사 가이드라인",
        tags=_SOFTWARE_TAGS | {"clinical_investigation"},
        imdrf="II",
        iec62304="B",
        confidence=0.85,
    ),
    Archetype(
        "SW-INSULIN-DOSING",
        Bi("인슐린 용량 계산 소프트웨어", "Insulin dose calculation software"),
        Bi("혈당값으로 인슐린 투여량을 계산", "Calculates insulin doses from glucose readings"),
        (("인슐린", "insulin"), ("용량", "투여량", "계산", "dose", "dosing", "bolus", "calculat*"), _SW),
        mfds="III",
        eu_class="IIb",
        eu_rule="Rule 11 (therapy decisions that may cause serious deterioration → IIb)",
        fda_class="II",
        fda_pathway="510(k)",
        fda_regulation="21 CFR 868.1890 (drug dose calculator, product code NDC)",
        source=SRC_MFDS_ITEMS,
        tags=_SOFTWARE_TAGS,
        imdrf="III",
        iec62304="C",
        confidence=0.8,
    ),
    Archetype(
        "SW-RT-PLANNING",
        Bi("방사선치료계획 소프트웨어", "Radiation therapy planning software"),
        Bi("방사선 치료 선량 계획을 수립", "Plans radiation therapy dose delivery"),
        (
            ("방사선 치료", "방사선치료", "radiotherapy", "radiation therapy"),
            ("계획", "planning", "plan"),
            _SW,
        ),
        mfds="III",
        eu_class="IIb",
        eu_rule="Rule 11 (therapy decisions that may cause serious deterioration → IIb)",
        fda_class="II",
        fda_pathway="510(k)",
        fda_regulation="21 CFR 892.5050 (medical charged-particle radiation therapy system)",
        source=SRC_MFDS_ITEMS,
        tags=_SOFTWARE_TAGS,
        imdrf="III",
        iec62304="C",
        extra_standards=("IEC 62083:2009 (radiotherapy treatment planning systems)",),
        confidence=0.82,
    ),
    # -- in vitro diagnostics --
    Archetype(
        "IVD-GLUCOSE-METER",
        Bi("자가혈당측정기 (체외진단)", "Blood glucose meter for self-testing (IVD)"),
        Bi("모세혈 혈당을 측정해 당뇨 관리에 사용", "Measures capillary blood glucose for diabetes"),
        ((
            "혈당측정기", "혈당계", "혈당 측정기", "자가혈당", "glucose meter*", "glucometer*",
            "blood glucose monitoring system*", "blood glucose monitor*",
        ),),
        mfds="III",
        eu_class="C",
        eu_rule="IVDR Annex VIII Rule 4(a) (self-testing → class C)",
        fda_class="II",
        fda_pathway="510(k)",
        fda_regulation="21 CFR 862.1345 (glucose test system)",
        source=f"{SRC_MFDS_IVD} — 자가검사용 혈당 (3등급)",
        tags=frozenset({"ivd", "active", "software", "home_use"}),
        iec62304="B",
        extra_standards=("ISO 15197:2013 (self-monitoring blood glucose systems)",),
        eu_framework="EU IVDR 2017/746",
        confidence=0.88,
    ),
    Archetype(
        "HW-CGM",
        Bi("연속혈당측정시스템", "Continuous glucose monitoring system (CGM)"),
        Bi("피하 센서로 간질액 포도당을 연속 측정", "Subcutaneous sensor measuring glucose"),
        (("연속혈당", "연속 혈당", "continuous glucose", "cgm"),),
        mfds="III",
        eu_class="IIb",
        eu_rule="Rule 10 (monitoring of vital physiological parameters) / Rule 7",
        fda_class="II",
        fda_pathway="510(k)",
        fda_regulation="21 CFR 862.1355 (integrated continuous glucose monitoring system)",
        source=SRC_MFDS_ITEMS,
        tags=frozenset({"active", "software", "connected", "body_contact", "sterile"}),
        iec62304="C",
        confidence=0.85,
        refines=("IVD-GLUCOSE-METER",),
    ),
    Archetype(
        "IVD-GENERIC",
        Bi("체외진단의료기기 (시약·키트)", "In vitro diagnostic device (reagent/kit)"),
        Bi("인체 유래 검체를 검사해 진단 정보를 제공", "Examines human specimens for diagnosis"),
        ((
            "체외진단", "진단키트", "진단 키트", "검사키트", "자가검사키트", "신속진단", "시약",
            "in vitro diagnostic*", "ivd", "test kit*", "assay*", "reagent*", "rapid test*",
        ),),
        mfds="II",
        eu_class="B",
        eu_rule="IVDR Annex VIII (class depends on analyte; B is the common default)",
        fda_class="II",
        fda_pathway="510(k)",
        fda_regulation="21 CFR 862–866 (clinical chemistry, hematology, microbiology devices)",
        source=SRC_MFDS_IVD,
        tags=frozenset({"ivd"}),
        extra_standards=("ISO 20916:2019 (IVD clinical performance studies)",),
        eu_framework="EU IVDR 2017/746",
        confidence=0.65,
    ),
    # -- active implants and high-risk implants --
    Archetype(
        "HW-PACEMAKER",
        Bi("이식형 심장박동기", "Implantable cardiac pacemaker"),
        Bi("심장 리듬을 전기 자극으로 조율하는 능동 이식형 기기", "Active implant pacing the heart"),
        (("심장박동기", "심박조율기", "페이스메이커", "인공심박동기", "pacemaker*"),),
        mfds="IV",
        eu_class="III",
        eu_rule="Rule 8 (active implantable device → III)",
        fda_class="III",
        fda_pathway="PMA",
        fda_regulation="21 CFR 870.3610 (implantable pacemaker pulse generator)",
        source=f"{SRC_MFDS_ITEMS} — 이식형심장박동기 (4등급)",
        tags=frozenset({
            "active", "software", "implant", "body_contact", "sterile", "clinical_investigation",
            "connected",
        }),
        iec62304="C",
        extra_standards=("ISO 14708-1/-2 (active implantable medical devices; pacemakers)",),
        confidence=0.93,
    ),
    Archetype(
        "HW-NEUROSTIM-IMPLANT",
        Bi("이식형 신경자극기", "Implantable neurostimulator"),
        Bi("신경을 전기 자극하는 능동 이식형 기기", "Active implant stimulating nerves"),
        ((
            "뇌심부자극", "척수자극기", "척수 자극기", "척수 신경자극", "이식형 신경자극기",
            "이식형 척수", "미주신경자극", "천골신경자극", "deep brain stimulat*",
            "spinal cord stimulator*", "implantable neurostimulator*", "vagus nerve stimulat*",
        ),),
        mfds="IV",
        eu_class="III",
        eu_rule="Rule 8 (active implantable device → III)",
        fda_class="III",
        fda_pathway="PMA",
        fda_regulation="21 CFR 882.5820 / PMA product codes (implanted neurostimulators)",
        source=SRC_MFDS_ITEMS,
        tags=frozenset({
            "active", "software", "implant", "body_contact", "sterile", "clinical_investigation",
            "connected",
        }),
        iec62304="C",
        extra_standards=("ISO 14708-3 (implantable neurostimulators)",),
        confidence=0.9,
    ),
    Archetype(
        "HW-COCHLEAR",
        Bi("인공와우", "Cochlear implant"),
        Bi("청신경을 전기 자극해 청각을 보정하는 이식형 기기", "Implant stimulating hearing nerve"),
        (("인공와우", "인공 와우", "cochlear implant*"),),
        mfds="IV",
        eu_class="III",
        eu_rule="Rule 8 (active implantable device → III)",
        fda_class="III",
        fda_pathway="PMA",
        fda_regulation="21 CFR 874.3950 / PMA (cochlear implant)",
        source=SRC_MFDS_ITEMS,
        tags=frozenset({
            "active", "software", "implant", "body_contact", "sterile", "clinical_investigation",
        }),
        iec62304="C",
        extra_standards=("ISO 14708-7 (cochlear implant systems)",),
        confidence=0.9,
    ),
    Archetype(
        "HW-CORONARY-STENT",
        Bi("관상동맥 스텐트", "Coronary stent"),
        Bi("관상동맥 협착 부위를 확장·유지하는 이식형 기기", "Implant scaffolding a coronary artery"),
        (_STENT, ("관상동맥", "심장", "심혈관", "coronary", "cardiac", "heart")),
        mfds="IV",
        eu_class="III",
        eu_rule="Rule 8 (implant in contact with the heart/central circulatory system → III)",
        fda_class="III",
        fda_pathway="PMA",
        fda_regulation="21 CFR 870 — coronary stent (PMA product codes MAF/NIQ)",
        source=f"{SRC_MFDS_ITEMS} — 관상동맥용스텐트 (4등급)",
        tags=frozenset({"implant", "body_contact", "sterile", "clinical_investigation"}),
        extra_standards=("ISO 25539-2 (vascular stents)",),
        confidence=0.92,
    ),
    Archetype(
        "HW-STENT",
        Bi("스텐트 (혈관·비혈관)", "Stent (vascular or non-vascular)"),
        Bi("관강을 확장·유지하는 이식형 기기", "Implant holding a body lumen open"),
        (_STENT,),
        mfds="III",
        eu_class="IIb",
        eu_rule="Rule 8 (implantable device → IIb; III if in contact with heart/CCS)",
        fda_class="II–III",
        fda_pathway="510(k) or PMA (depends on site)",
        fda_regulation="21 CFR 870.3460 / 876.5010 (site-dependent)",
        source=SRC_MFDS_ITEMS,
        tags=frozenset({"implant", "body_contact", "sterile", "clinical_investigation"}),
        extra_standards=("ISO 25539-2 (vascular stents)",),
        confidence=0.7,
    ),
    Archetype(
        "HW-HEART-VALVE",
        Bi("인공심장판막", "Prosthetic heart valve"),
        Bi("손상된 심장판막을 대체하는 이식형 기기", "Implant replacing a heart valve"),
        (("심장판막", "인공판막", "heart valve*", "valve prosthes*", "tavi", "tavr"),),
        mfds="IV",
        eu_class="III",
        eu_rule="Rule 8 (implant in contact with the heart → III)",
        fda_class="III",
        fda_pathway="PMA",
        fda_regulation="21 CFR 870.3925 (replacement heart valve)",
        source=SRC_MFDS_ITEMS,
        tags=frozenset({"implant", "body_contact", "sterile", "clinical_investigation"}),
        extra_standards=("ISO 5840-1/-2/-3 (cardiac valve prostheses)",),
        confidence=0.92,
    ),
    Archetype(
        "HW-BREAST-IMPLANT",
        Bi("유방보형물", "Breast implant"),
        Bi("유방 재건·확대용 이식형 보형물", "Implant for breast reconstruction/augmentation"),
        (("유방 보형물", "유방보형물", "유방 임플란트", "가슴 보형물", "breast implant*"),),
        mfds="IV",
        eu_class="III",
        eu_rule="Rule 8 (breast implants → III)",
        fda_class="III",
        fda_pathway="PMA",
        fda_regulation="21 CFR 878.3540 (silicone gel-filled breast prosthesis)",
        source=SRC_MFDS_ITEMS,
        tags=frozenset({"implant", "body_contact", "sterile", "clinical_investigation"}),
        extra_standards=("ISO 14607:2018 (breast implants)",),
        confidence=0.92,
    ),
    Archetype(
        "HW-JOINT",
        Bi("인공관절 (고관절·슬관절)", "Joint replacement implant (hip/knee)"),
        Bi("손상된 관절을 대체하는 이식형 기기", "Implant replacing a joint"),
        ((
            "인공관절", "인공 관절", "인공고관절", "인공 고관절", "인공슬관절", "인공 슬관절",
            "고관절 치환", "슬관절 치환", "고관절 임플란트", "슬관절 임플란트", "인공 어깨관절",
            "hip joint implant*", "hip arthroplast*", "knee arthroplast*", "artificial hip*",
            "artificial knee*", "hip stem*", "acetabular cup*",
            "hip replacement*", "knee replacement*", "hip prosthes*", "knee prosthes*",
            "joint replacement*", "arthroplast*", "hip implant*", "knee implant*",
        ),),
        mfds="IV",
        eu_class="III",
        eu_rule="Rule 8 (total or partial joint replacements → III)",
        fda_class="II",
        fda_pathway="510(k)",
        fda_regulation="21 CFR 888.3358 / 888.3560 (hip / knee joint prostheses)",
        source=SRC_MFDS_ITEMS,
        tags=frozenset({"implant", "body_contact", "sterile", "clinical_investigation"}),
        extra_standards=("ISO 21534 / ISO 7206 (joint replacement implants)",),
        confidence=0.88,
    ),
    Archetype(
        "HW-DENTAL-IMPLANT",
        Bi("치과용 임플란트", "Dental implant"),
        Bi("치조골에 식립되어 인공치아를 지지", "Endosseous implant supporting a dental prosthesis"),
        (
            (
                "치과용 임플란트", "치과 임플란트", "치과용임플란트", "임플란트 고정체", "임플란트",
                "dental implant*", "endosseous implant*", "implant*", "fixture*",
            ),
            (
                "치과", "치아", "치조골", "구강", "어금니", "잇몸", "상실치", "dental", "tooth",
                "teeth", "endosseous", "jaw", "molar*", "edentul*",
            ),
        ),
        mfds="III",
        eu_class="IIb",
        eu_rule="Rule 8 (implantable / long-term surgically invasive → IIb)",
        fda_class="II",
        fda_pathway="510(k)",
        fda_regulation="21 CFR 872.3640 (endosseous dental implant)",
        source=f"{SRC_MFDS_ITEMS} — 치과용임플란트고정체 (3등급)",
        tags=frozenset({"implant", "body_contact", "sterile"}),
        extra_standards=("ISO 14801:2016 (dynamic loading of endosseous dental implants)",),
        confidence=0.88,
    ),
    # -- active and non-active hardware --
    Archetype(
        "HW-INSULIN-PUMP",
        Bi("인슐린 주입 펌프", "Insulin infusion pump"),
        Bi("피하로 인슐린을 지속 주입하는 능동 기기", "Active device infusing insulin"),
        (("인슐린 펌프", "인슐린펌프", "인슐린 주입기", "인슐린주입기", "insulin pump*"),),
        mfds="III",
        eu_class="IIb",
        eu_rule="Rule 12 (administers medicine in a potentially hazardous way → IIb)",
        fda_class="II",
        fda_pathway="510(k)",
        fda_regulation="21 CFR 880.5730 (alternate controller enabled insulin infusion pump)",
        source=SRC_MFDS_ITEMS,
        tags=frozenset({"active", "software", "connected", "body_contact", "home_use"}),
        iec62304="C",
        extra_standards=("IEC 60601-2-24:2012 (infusion pumps)",),
        confidence=0.9,
    ),
    Archetype(
        "HW-INFUSION-PUMP",
        Bi("주입 펌프", "Infusion pump"),
        Bi("수액·약물을 정해진 속도로 주입", "Delivers fluids or drugs at a set rate"),
        ((
            "수액 펌프", "수액펌프", "주입 펌프", "주입펌프", "약물 주입 펌프", "인퓨전 펌프",
            "infusion pump*", "syringe pump*",
        ),),
        mfds="III",
        eu_class="IIb",
        eu_rule="Rule 12 (administers medicine in a potentially hazardous way → IIb)",
        fda_class="II",
        fda_pathway="510(k)",
        fda_regulation="21 CFR 880.5725 (infusion pump)",
        source=SRC_MFDS_ITEMS,
        tags=frozenset({"active", "software", "connected"}),
        iec62304="C",
        extra_standards=("IEC 60601-2-24:2012 (infusion pumps)",),
        confidence=0.88,
    ),
    Archetype(
        "HW-DEFIBRILLATOR",
        Bi("자동심장충격기 (AED)", "Automated external defibrillator (AED)"),
        Bi("심실세동을 분석해 전기 충격을 전달", "Analyses rhythm and delivers a shock"),
        (("자동심장충격기", "제세동기", "심장충격기", "defibrillator*", "aed"),),
        mfds="III",
        eu_class="IIb",
        eu_rule="Rule 9 (energy delivered in a potentially hazardous way → IIb)",
        fda_class="III",
        fda_pathway="PMA",
        fda_regulation="21 CFR 870.5310 (automated external defibrillator system)",
        source=SRC_MFDS_ITEMS,
        tags=frozenset({"active", "software", "clinical_investigation"}),
        iec62304="C",
        extra_standards=("IEC 60601-2-4:2010 (cardiac defibrillators)",),
        confidence=0.88,
        none_of=("이식형", "삽입형", "implantable", "icd", "s-icd", "wearable cardioverter"),
    ),
    Archetype(
        "HW-VENTILATOR",
        Bi("인공호흡기", "Ventilator"),
        Bi("환자의 호흡을 기계적으로 보조·대체", "Mechanically supports or replaces breathing"),
        (("인공호흡기", "인공 호흡기", "벤틸레이터", "ventilator*"),),
        mfds="III",
        eu_class="IIb",
        eu_rule="Rule 9 (energy/gas exchange in a potentially hazardous way → IIb)",
        fda_class="II",
        fda_pathway="510(k)",
        fda_regulation="21 CFR 868.5895 (continuous ventilator)",
        source=SRC_MFDS_ITEMS,
        tags=frozenset({"active", "software", "connected", "alarm"}),
        iec62304="C",
        extra_standards=("ISO 80601-2-12:2020 (critical care ventilators)",),
        confidence=0.88,
    ),
    Archetype(
        "HW-SURGICAL-ROBOT",
        Bi("수술 로봇", "Robotic surgical system"),
        Bi("의사의 조작으로 수술 기구를 정밀 제어", "Surgeon-controlled robotic instruments"),
        ((
            "수술 로봇", "수술용 로봇", "로봇 수술", "surgical robot*", "robotic surgical system*",
            "robot-assisted surgery",
        ),),
        mfds="III",
        eu_class="IIb",
        eu_rule="Rule 9 / Rule 6 (active surgical device → IIb)",
        fda_class="II",
        fda_pathway="510(k)",
        fda_regulation="21 CFR 876.1500 (endoscope and accessories; robotic systems)",
        source=SRC_MFDS_ITEMS,
        tags=frozenset({"active", "software", "connected", "sterile", "reusable"}),
        iec62304="C",
        extra_standards=("IEC 80601-2-77:2019 (robotically assisted surgical equipment)",),
        confidence=0.86,
    ),
    Archetype(
        "HW-ELECTROSURGICAL",
        Bi("전기수술기", "Electrosurgical unit"),
        Bi("고주파 전류로 조직을 절개·응고", "Cuts/coagulates tissue with HF current"),
        (("전기수술기", "전기 수술기", "전기소작기", "electrosurgical*", "electrocautery"),),
        mfds="III",
        eu_class="IIb",
        eu_rule="Rule 9 (energy delivered in a potentially hazardous way → IIb)",
        fda_class="II",
        fda_pathway="510(k)",
        fda_regulation="21 CFR 878.4400 (electrosurgical cutting and coagulation device)",
        source=SRC_MFDS_ITEMS,
        tags=frozenset({"active", "software"}),
        iec62304="B",
        extra_standards=("IEC 60601-2-2:2017 (HF surgical equipment)",),
        confidence=0.86,
    ),
    Archetype(
        "HW-MRI",
        Bi("자기공명영상장치 (MRI)", "MRI scanner"),
        Bi("자기장과 RF로 인체 단면 영상을 획득", "Acquires cross-sectional images by MR"),
        ((
            "자기공명영상장치", "자기공명 영상 장치", "자기공명영상 촬영", "자기공명전산화단층촬영",
            "mri 장치", "mri 장비",
            "mri 스캐너", "mri scanner*", "mri system*", "mri machine*",
            "magnetic resonance imaging system*", "magnetic resonance scanner*",
        ),),
        mfds="II",
        eu_class="IIa",
        eu_rule="Rule 10 (active device supplying energy for imaging → IIa)",
        fda_class="II",
        fda_pathway="510(k)",
        fda_regulation="21 CFR 892.1000 (magnetic resonance diagnostic device)",
        source=SRC_MFDS_ITEMS,
        tags=frozenset({"active", "software", "connected", "imaging"}),
        iec62304="B",
        extra_standards=("IEC 60601-2-33:2022 (MR equipment)",),
        confidence=0.88,
    ),
    Archetype(
        "HW-CT",
        Bi("전산화단층촬영장치 (CT)", "CT scanner"),
        Bi("X선으로 인체 단면 영상을 획득", "Acquires cross-sectional X-ray images"),
        ((
            "전산화단층", "컴퓨터단층촬영장치", "ct 장치", "ct 장비", "ct 스캐너", "ct scanner*",
            "ct system*", "computed tomography system*", "computed tomography scanner*",
        ),),
        mfds="II",
        eu_class="IIb",
        eu_rule="Rule 10 (emits ionising radiation for diagnosis → IIb)",
        fda_class="II",
        fda_pathway="510(k)",
        fda_regulation="21 CFR 892.1750 (computed tomography x-ray system)",
        source=SRC_MFDS_ITEMS,
        tags=frozenset({"active", "software", "connected", "imaging", "radiation"}),
        iec62304="B",
        extra_standards=("IEC 60601-2-44:2009+A2:2016 (CT equipment)",),
        confidence=0.86,
    ),
    Archetype(
        "HW-XRAY",
        Bi("진단용 엑스선 촬영장치", "Diagnostic X-ray system"),
        Bi("X선으로 투과 영상을 획득", "Acquires projection X-ray images"),
        ((
            "엑스선 촬영", "x선 촬영", "엑스레이 장비", "엑스레이 촬영", "진단용 엑스선",
            "x-ray system*", "x-ray machine*", "radiographic system*",
        ),),
        mfds="II",
        eu_class="IIb",
        eu_rule="Rule 10 (emits ionising radiation for diagnosis → IIb)",
        fda_class="II",
        fda_pathway="510(k)",
        fda_regulation="21 CFR 892.1680 (stationary x-ray system)",
        source=SRC_MFDS_ITEMS,
        tags=frozenset({"active", "software", "imaging", "radiation"}),
        iec62304="B",
        extra_standards=("IEC 60601-2-54:2022 (radiography equipment)",),
        confidence=0.84,
    ),
    Archetype(
        "HW-ULTRASOUND",
        Bi("초음파영상진단장치", "Diagnostic ultrasound system"),
        Bi("초음파로 인체 영상을 획득", "Acquires images with ultrasound"),
        ((
            "초음파영상진단장치", "초음파 영상진단장치", "초음파 진단기", "초음파 장비", "초음파 영상 장치",
            "ultrasound scanner*", "ultrasound system*", "diagnostic ultrasound",
            "ultrasound imaging",
        ),),
        mfds="II",
        eu_class="IIa",
        eu_rule="Rule 10 (active device supplying energy for imaging → IIa)",
        fda_class="II",
        fda_pathway="510(k)",
        fda_regulation="21 CFR 892.1550 (ultrasonic pulsed doppler imaging system)",
        source=SRC_MFDS_ITEMS,
        tags=frozenset({"active", "software", "imaging", "body_contact", "reusable"}),
        iec62304="B",
        extra_standards=("IEC 60601-2-37:2024 (ultrasonic diagnostic equipment)",),
        confidence=0.86,
    ),
    Archetype(
        "HW-ENDOSCOPE",
        Bi("내시경", "Endoscope"),
        Bi("체강 내부를 관찰하는 기구", "Instrument to view inside body cavities"),
        (("내시경", "endoscop*", "colonoscop*", "gastroscop*"),),
        mfds="II",
        eu_class="IIa",
        eu_rule="Rule 5 / Rule 10 (transient body-orifice, active imaging → IIa)",
        fda_class="II",
        fda_pathway="510(k)",
        fda_regulation="21 CFR 876.1500 (endoscope and accessories)",
        source=SRC_MFDS_ITEMS,
        tags=frozenset({"active", "body_contact", "reusable", "imaging"}),
        iec62304="B",
        extra_standards=("IEC 60601-2-18 / ISO 8600 (endoscopic equipment)",),
        confidence=0.8,
    ),
    Archetype(
        "HW-HEARING-AID",
        Bi("보청기", "Hearing aid"),
        Bi("소리를 증폭해 난청을 보정", "Amplifies sound to compensate for hearing loss"),
        (("보청기", "hearing aid*"),),
        mfds="II",
        eu_class="IIa",
        eu_rule="Rule 9 (active therapeutic device exchanging energy → IIa)",
        fda_class="II",
        fda_pathway="510(k)",
        fda_regulation="21 CFR 874.3305 / 874.3325 (OTC / self-fitting air-conduction hearing aid)",
        source=f"{SRC_MFDS_ITEMS} — 보청기 (2등급)",
        tags=frozenset({"active", "software", "body_contact", "home_use", "connected"}),
        iec62304="A",
        extra_standards=("IEC 60118 series (hearing aids)",),
        confidence=0.9,
    ),
    Archetype(
        "HW-BP-MONITOR",
        Bi("자동전자혈압계", "Automated blood pressure monitor"),
        Bi("커프로 혈압을 측정", "Measures blood pressure with a cuff"),
        ((
            "혈압계", "혈압 측정기", "혈압측정기", "blood pressure monitor*",
            "sphygmomanometer*", "blood pressure meter*",
        ),),
        mfds="II",
        eu_class="IIa",
        eu_rule="Rule 10 (direct diagnosis/monitoring of vital physiological processes → IIa)",
        fda_class="II",
        fda_pathway="510(k)",
        fda_regulation="21 CFR 870.1130 (noninvasive blood pressure measurement system)",
        source=SRC_MFDS_ITEMS,
        tags=frozenset({"active", "software", "body_contact", "home_use"}),
        iec62304="B",
        extra_standards=("IEC 80601-2-30:2018 / ISO 81060-2:2018 (automated NIBP)",),
        confidence=0.88,
    ),
    Archetype(
        "HW-THERMOMETER",
        Bi("전자 체온계", "Clinical electronic thermometer"),
        Bi("체온을 측정", "Measures body temperature"),
        (("체온계", "thermometer*"),),
        mfds="II",
        eu_class="IIa",
        eu_rule="Rule 10 (active diagnostic device → IIa)",
        fda_class="II",
        fda_pathway="510(k)",
        fda_regulation="21 CFR 880.2910 (clinical electronic thermometer)",
        source=SRC_MFDS_ITEMS,
        tags=frozenset({"active", "software", "body_contact", "home_use"}),
        iec62304="A",
        extra_standards=("ISO 80601-2-56:2017 (clinical thermometers)",),
        confidence=0.86,
    ),
    Archetype(
        "HW-PULSE-OXIMETER",
        Bi("펄스옥시미터", "Pulse oximeter"),
        Bi("말초 산소포화도와 맥박을 측정", "Measures SpO2 and pulse rate"),
        (("산소포화도 측정기", "맥박산소", "펄스옥시미터", "pulse oximeter*", "oximeter*"),),
        mfds="II",
        eu_class="IIb",
        eu_rule="Rule 10 (monitoring of vital physiological parameters → IIb)",
        fda_class="II",
        fda_pathway="510(k)",
        fda_regulation="21 CFR 870.2700 (oximeter)",
        source=SRC_MFDS_ITEMS,
        tags=frozenset({"active", "software", "body_contact", "alarm"}),
        iec62304="B",
        extra_standards=("ISO 80601-2-61:2017 (pulse oximeter equipment)",),
        confidence=0.86,
    ),
    Archetype(
        "HW-PATIENT-MONITOR",
        Bi("환자감시장치", "Patient monitor"),
        Bi("활력징후를 연속 감시하고 경보", "Continuously monitors vital signs with alarms"),
        ((
            "환자감시장치", "환자 감시 장치", "생체신호 감시", "활력징후 모니터", "patient monitor*",
            "vital signs monitor*",
        ),),
        mfds="II",
        eu_class="IIb",
        eu_rule="Rule 10 (vital parameters whose variation could be an immediate danger → IIb)",
        fda_class="II",
        fda_pathway="510(k)",
        fda_regulation="21 CFR 870.2300 (cardiac monitor incl. cardiotachometer and rate alarm)",
        source=SRC_MFDS_ITEMS,
        tags=frozenset({"active", "software", "connected", "alarm", "body_contact"}),
        iec62304="C",
        extra_standards=("IEC 60601-2-49:2018 / IEC 60601-1-8 (multifunction monitors; alarms)",),
        confidence=0.85,
    ),
    Archetype(
        "HW-TENS",
        Bi("경피전기신경자극기 (TENS)", "TENS unit"),
        Bi("피부 전극으로 전기 자극해 통증을 완화", "Relieves pain by skin-electrode stimulation"),
        ((
            "저주파 자극기", "저주파자극기", "경피적 전기신경자극", "경피전기신경자극",
            "transcutaneous electrical nerve stimulat*", "tens unit*", "tens device*",
        ),),
        mfds="II",
        eu_class="IIa",
        eu_rule="Rule 9 (active therapeutic device exchanging energy → IIa)",
        fda_class="II",
        fda_pathway="510(k)",
        fda_regulation="21 CFR 882.5890 (TENS for pain relief)",
        source=SRC_MFDS_ITEMS,
        tags=frozenset({"active", "software", "body_contact", "home_use"}),
        iec62304="A",
        extra_standards=("IEC 60601-2-10:2012 (nerve and muscle stimulators)",),
        confidence=0.86,
    ),
    Archetype(
        "HW-CONTACT-LENS-EXT",
        Bi("연속착용 콘택트렌즈", "Extended-wear contact lens"),
        Bi("수면 중에도 연속 착용하는 시력보정 렌즈", "Vision-correcting lens worn overnight"),
        (_CONTACT_LENS, ("연속 착용", "연속착용", "장기 착용", "extended wear", "overnight")),
        mfds="III",
        eu_class="IIb",
        eu_rule="Rule 5 (long-term invasive via body orifice (eye surface) → IIb)",
        fda_class="III",
        fda_pathway="PMA",
        fda_regulation="21 CFR 886.5925 (soft contact lens, extended wear: class III)",
        source=SRC_MFDS_ITEMS,
        tags=frozenset({"body_contact", "sterile", "clinical_investigation"}),
        extra_standards=("ISO 18369 series; ISO 11979 (ophthalmic optics)",),
        confidence=0.86,
    ),
    Archetype(
        "HW-CONTACT-LENS",
        Bi("시력보정용 콘택트렌즈", "Vision-correcting contact lens"),
        Bi("각막 위에 착용해 굴절 이상을 교정", "Lens worn on the cornea correcting refraction"),
        (_CONTACT_LENS,),
        mfds="II",
        eu_class="IIa",
        eu_rule="Rule 5 (short-term invasive via body orifice (eye surface) → IIa)",
        fda_class="II",
        fda_pathway="510(k)",
        fda_regulation="21 CFR 886.5925 (soft (hydrophilic) contact lens, daily wear)",
        source=f"{SRC_MFDS_ITEMS} — 소프트콘택트렌즈 (2등급)",
        tags=frozenset({"body_contact", "sterile"}),
        extra_standards=("ISO 18369 series (contact lenses)", "ISO 11986 / ISO 14534"),
        confidence=0.9,
    ),
    Archetype(
        "HW-CONDOM",
        Bi("남성용 콘돔", "Male condom"),
        Bi("피임 및 성매개감염 예방", "Contraception and prevention of STIs"),
        (("콘돔", "condom*"),),
        mfds="II",
        eu_class="IIb",
        eu_rule="Rule 15 (contraception / prevention of sexually transmitted disease → IIb)",
        fda_class="II",
        fda_pathway="510(k)",
        fda_regulation="21 CFR 884.5300 (condom)",
        source=f"{SRC_MFDS_ITEMS} — 남성용콘돔 (2등급)",
        tags=frozenset({"body_contact"}),
        extra_standards=("ISO 4074:2015 (natural rubber latex male condoms)",),
        confidence=0.92,
    ),
    Archetype(
        "HW-SYRINGE",
        Bi("주사기·주사침", "Hypodermic syringe / needle"),
        Bi("약물 주입을 위한 일회용 멸균 기구", "Single-use sterile device to inject drugs"),
        (("주사기", "주사침", "주사바늘", "syringe*", "hypodermic needle*"),),
        mfds="II",
        eu_class="IIa",
        eu_rule="Rule 6 (surgically invasive, transient use → IIa)",
        fda_class="II",
        fda_pathway="510(k)",
        fda_regulation="21 CFR 880.5860 (piston syringe)",
        source=SRC_MFDS_ITEMS,
        tags=frozenset({"body_contact", "sterile"}),
        extra_standards=("ISO 7886-1:2017 (sterile hypodermic syringes)",),
        confidence=0.88,
    ),
    Archetype(
        "HW-CATHETER-CCS",
        Bi("심혈관·중심정맥 카테터", "Cardiovascular / central venous catheter"),
        Bi(
            "중심순환계에 삽입되어 약물 주입·압력 측정 등에 사용",
            "Inserted into the central circulation for infusion or measurement",
        ),
        (
            _CATHETER,
            (
                "중심정맥", "심장", "관상동맥", "혈관", "central venous", "cardiac", "coronary",
                "intravascular", "vascular",
            ),
        ),
        mfds="III",
        eu_class="III",
        eu_rule="Rule 6/7 (surgically invasive in contact with the central circulatory system)",
        fda_class="II",
        fda_pathway="510(k)",
        fda_regulation="21 CFR 880.5970 (percutaneous implanted long-term intravascular catheter)",
        source=SRC_MFDS_ITEMS,
        tags=frozenset({"body_contact", "sterile", "clinical_investigation"}),
        extra_standards=("ISO 10555-1:2023 (intravascular catheters)",),
        confidence=0.8,
    ),
    Archetype(
        "HW-CATHETER",
        Bi("카테터 (요도 등 체강 삽입)", "Catheter (urinary / body orifice)"),
        Bi("체강에 삽입해 배액·주입에 사용", "Inserted in a body orifice for drainage or infusion"),
        (_CATHETER,),
        mfds="II",
        eu_class="IIa",
        eu_rule="Rule 5 (short-term invasive via body orifice → IIa)",
        fda_class="II",
        fda_pathway="510(k)",
        fda_regulation="21 CFR 876.5130 (urological catheter)",
        source=SRC_MFDS_ITEMS,
        tags=frozenset({"body_contact", "sterile"}),
        extra_standards=("ISO 20696:2018 (sterile urethral catheters)",),
        confidence=0.7,
    ),
    Archetype(
        "HW-SCALPEL-SINGLE-USE",
        Bi("일회용 수술용 메스", "Single-use surgical scalpel"),
        Bi("멸균 상태로 1회 사용하는 절개 기구", "Sterile cutting instrument used once"),
        (_SCALPEL, ("일회용", "disposable", "single-use", "single use")),
        mfds="II",
        eu_class="IIa",
        eu_rule="Rule 6 (surgically invasive, transient use → IIa)",
        fda_class="I",
        fda_pathway="510(k)-exempt (registration & listing)",
        fda_regulation="21 CFR 878.4800 (manual surgical instrument for general use)",
        source=SRC_MFDS_ITEMS,
        tags=frozenset({"body_contact", "sterile"}),
        extra_standards=("ISO 7740:1985 (scalpels with detachable blades)",),
        confidence=0.86,
    ),
    Archetype(
        "HW-SCALPEL",
        Bi("수술용 메스 (재사용)", "Reusable surgical scalpel"),
        Bi("세척·멸균 후 재사용하는 절개 기구", "Cutting instrument reprocessed between uses"),
        (_SCALPEL,),
        mfds="I",
        eu_class="I",
        eu_rule="Rule 6 (reusable surgical instrument → I, class Ir)",
        fda_class="I",
        fda_pathway="510(k)-exempt (registration & listing)",
        fda_regulation="21 CFR 878.4800 (manual surgical instrument for general use)",
        source=f"{SRC_MFDS_ITEMS} — 수술용칼 (1등급)",
        tags=frozenset({"body_contact", "reusable"}),
        extra_standards=("ISO 7740:1985 (scalpels)", "ISO 17664-1:2021 (reprocessing information)"),
        confidence=0.88,
    ),
    Archetype(
        "HW-TONGUE-DEPRESSOR",
        Bi("설압자", "Tongue depressor"),
        Bi("구강 검사 시 혀를 누르는 기구", "Holds the tongue down during oral examination"),
        (("설압자", "tongue depressor*", "tongue blade*"),),
        mfds="I",
        eu_class="I",
        eu_rule="Rule 5 (transient invasive via body orifice → I)",
        fda_class="I",
        fda_pathway="510(k)-exempt (registration & listing)",
        fda_regulation="21 CFR 880.6230 (tongue depressor)",
        source=f"{SRC_MFDS_ITEMS} — 설압자 (1등급)",
        tags=frozenset({"body_contact"}),
        confidence=0.92,
    ),
    Archetype(
        "HW-WHEELCHAIR",
        Bi("수동 휠체어", "Manual wheelchair"),
        Bi("보행 장애를 보정하는 이동 보조기", "Mobility aid compensating for a disability"),
        (("휠체어", "wheelchair*"),),
        mfds="I",
        eu_class="I",
        eu_rule="Rule 1 (non-invasive → I)",
        fda_class="I",
        fda_pathway="510(k)-exempt (registration & listing)",
        fda_regulation="21 CFR 890.3850 (mechanical wheelchair)",
        source=SRC_MFDS_ITEMS,
        tags=frozenset({"body_contact", "home_use"}),
        extra_standards=("ISO 7176 series (wheelchairs)",),
        confidence=0.88,
    ),
    Archetype(
        "HW-WOUND-DRESSING",
        Bi("창상피복재 (진피 손상 창상용)", "Wound dressing for dermis-breaching wounds"),
        Bi("화상·욕창 등 깊은 창상을 덮어 치유를 돕는 드레싱", "Dressing for burns, ulcers"),
        (
            ("드레싱", "창상피복재", "dressing*"),
            ("화상", "욕창", "궤양", "깊은", "진피", "burn*", "ulcer*", "deep", "full thickness"),
        ),
        mfds="II",
        eu_class="IIb",
        eu_rule="Rule 4 (in contact with wounds that breach the dermis → IIb)",
        fda_class="II",
        fda_pathway="510(k)",
        fda_regulation="21 CFR 878.4018 (hydrophilic wound dressing) / unclassified",
        source=SRC_MFDS_ITEMS,
        tags=frozenset({"body_contact", "sterile"}),
        confidence=0.8,
    ),
    Archetype(
        "HW-BANDAGE",
        Bi("반창고·붕대", "Adhesive bandage / gauze"),
        Bi("상처를 덮어 보호하는 기계적 장벽", "Mechanical barrier covering minor wounds"),
        (("반창고", "붕대", "거즈", "bandage*", "adhesive plaster*", "gauze"),),
        mfds="I",
        eu_class="I",
        eu_rule="Rule 4 (mechanical barrier on injured skin → I)",
        fda_class="I",
        fda_pathway="510(k)-exempt (registration & listing)",
        fda_regulation="21 CFR 880.5240 (medical adhesive tape and adhesive bandage)",
        source=SRC_MFDS_ITEMS,
        tags=frozenset({"body_contact"}),
        confidence=0.86,
    ),
    Archetype(
        "HW-SPECTACLES",
        Bi("시력보정용 안경", "Prescription spectacles"),
        Bi("굴절 이상을 보정하는 안경", "Spectacles correcting refractive error"),
        (("안경", "안경렌즈", "spectacle*", "eyeglass*"),),
        mfds="I",
        eu_class="I",
        eu_rule="Rule 1 (non-invasive → I)",
        fda_class="I",
        fda_pathway="510(k)-exempt (registration & listing)",
        fda_regulation="21 CFR 886.5842 (spectacle frame) / 886.5844 (prescription spectacle lens)",
        source=SRC_MFDS_ITEMS,
        tags=frozenset({"body_contact"}),
        extra_standards=("ISO 12870 / ISO 14889 (spectacle frames and lenses)",),
        confidence=0.84,
    ),
)

ARCHETYPES_BY_CODE: dict[str, Archetype] = {a.code: a for a in ARCHETYPES}


# --- EU MDR Annex VIII hardware rules -------------------------------------------------------


@dataclass(frozen=True, slots=True)
class HardwareRule:
    """Fires when every `requires` feature is present and no `excludes` feature is."""

    rule_id: str
    requires: frozenset[str]
    eu_class: str
    note: Bi
    excludes: frozenset[str] = frozenset()
    source: str = SRC_ANNEX8


def _r(
    rule_id: str,
    requires: set[str],
    eu_class: str,
    ko: str,
    en: str,
    excludes: set[str] | None = None,
) -> HardwareRule:
    return HardwareRule(
        rule_id, frozenset(requires), eu_class, Bi(ko, en), frozenset(excludes or set())
    )


HARDWARE_RULES: tuple[HardwareRule, ...] = (
    _r("Rule 1", set(), "I", "비침습 기기 → I", "non-invasive device → I"),
    _r("Rule 2", {"blood_channel"}, "IIa", "혈액·체액 보관·주입 경로 → IIa",
       "channels or stores blood/body fluids → IIa"),
    _r("Rule 4", {"wound"}, "IIa", "손상된 피부 접촉 → IIa", "in contact with injured skin → IIa",
       excludes={"deep_wound"}),
    _r("Rule 4", {"wound", "deep_wound"}, "IIb", "진피를 관통한 창상 접촉 → IIb",
       "wounds breaching the dermis → IIb"),
    _r("Rule 5", {"orifice"}, "I", "체강 침습, 일시 사용 → I", "body-orifice invasive, transient → I"),
    _r("Rule 5", {"orifice", "short_term"}, "IIa", "체강 침습, 단기 사용 → IIa",
       "body-orifice invasive, short-term → IIa", excludes={"oral_ear_nasal"}),
    _r("Rule 5", {"orifice", "long_term"}, "IIb", "체강 침습, 장기 사용 → IIb",
       "body-orifice invasive, long-term → IIb", excludes={"oral_ear_nasal"}),
    _r("Rule 5", {"orifice", "long_term", "oral_ear_nasal"}, "IIa",
       "구강·외이도·비강 장기 사용 → IIa", "long-term in oral cavity/ear canal/nose → IIa"),
    _r("Rule 6", {"surgical"}, "IIa", "수술적 침습, 일시 사용 → IIa",
       "surgically invasive, transient → IIa", excludes={"reusable"}),
    _r("Rule 6", {"surgical", "reusable"}, "I", "재사용 수술 기구 → I",
       "reusable surgical instrument → I"),
    _r("Rule 6", {"surgical", "heart_ccs_cns"}, "III", "심장·중심순환계·중추신경계 접촉 → III",
       "in contact with heart/central circulation/CNS → III"),
    _r("Rule 7", {"surgical", "short_term"}, "IIa", "수술적 침습, 단기 사용 → IIa",
       "surgically invasive, short-term → IIa"),
    _r("Rule 7", {"surgical", "short_term", "heart_ccs_cns"}, "III",
       "단기 사용, 심장·중심순환계·중추신경계 접촉 → III",
       "short-term, heart/central circulation/CNS → III"),
    _r("Rule 8", {"implant"}, "IIb", "이식형 또는 장기 수술적 침습 → IIb",
       "implantable or long-term surgically invasive → IIb", excludes={"teeth"}),
    _r("Rule 8", {"surgical", "long_term"}, "IIb", "장기 수술적 침습 → IIb",
       "long-term surgically invasive → IIb"),
    _r("Rule 8", {"implant", "teeth"}, "IIa", "치아에 적용 → IIa", "placed in the teeth → IIa"),
    _r("Rule 8", {"implant", "heart_ccs_cns"}, "III", "이식형, 심장·중심순환계·중추신경계 접촉 → III",
       "implant in contact with heart/central circulation/CNS → III"),
    _r("Rule 8", {"implant", "active"}, "III", "능동 이식형 → III", "active implantable → III"),
    _r("Rule 8", {"implant", "joint_breast"}, "III", "인공관절·유방보형물 → III",
       "joint replacement or breast implant → III"),
    _r("Rule 9", {"active", "energy_therapy"}, "IIa", "에너지를 주고받는 능동 치료기기 → IIa",
       "active therapeutic device exchanging energy → IIa"),
    _r("Rule 9", {"active", "hazardous_energy"}, "IIb", "잠재적으로 위험한 에너지 전달 → IIb",
       "energy delivered in a potentially hazardous way → IIb"),
    _r("Rule 10", {"active", "imaging_energy"}, "IIa", "영상용 에너지 공급 → IIa",
       "supplies energy for imaging → IIa"),
    _r("Rule 10", {"active", "diagnostic"}, "IIa", "생리 과정의 직접 진단·감시 → IIa",
       "direct diagnosis/monitoring of physiological processes → IIa"),
    _r("Rule 10", {"active", "vital"}, "IIb", "즉각적 위험이 될 수 있는 활력징후 감시 → IIb",
       "monitoring vital parameters where variation is an immediate danger → IIb"),
    _r("Rule 10", {"active", "ionizing"}, "IIb", "진단용 전리방사선 방출 → IIb",
       "emits ionising radiation for diagnosis → IIb"),
    _r("Rule 12", {"active", "administer"}, "IIa", "약물·체액 투여/제거 능동기기 → IIa",
       "active device administering/removing medicines or fluids → IIa"),
    _r("Rule 12", {"active", "administer", "hazardous_drug"}, "IIb",
       "잠재적으로 위험한 방식의 약물 투여 → IIb", "administers medicines in a hazardous way → IIb"),
    _r("Rule 13", {"active"}, "I", "기타 능동기기 → I", "all other active devices → I"),
    _r("Rule 14", {"medicinal"}, "III", "보조 작용 의약품 함유 → III",
       "incorporates a medicinal substance → III"),
    _r("Rule 15", {"contraception"}, "IIb", "피임·성매개감염 예방 → IIb",
       "contraception or STD prevention → IIb"),
    _r("Rule 15", {"contraception", "implant"}, "III", "이식형 피임기기 → III",
       "implantable contraceptive → III"),
    _r("Rule 16", {"disinfecting"}, "IIa", "의료기기 소독·멸균 전용 → IIa",
       "disinfects or sterilises medical devices → IIa"),
    _r("Rule 18", {"animal_tissue"}, "III", "인체·동물 유래 조직·세포 사용 → III",
       "uses tissues/cells of human or animal origin → III"),
)

EU_CLASS_RANK: dict[str, int] = {"I": 1, "IIa": 2, "IIb": 3, "III": 4}

# Terms that set the hardware features above (invasiveness, duration, activity, site).
FEATURE_TABLES: tuple[TermTable, ...] = (
    TermTable("implant", Bi("이식형", "implantable"), (
        "이식", "삽입형", "체내 삽입", "체내 이식", "보형물", "영구 삽입", "임플란트",
        "implant*", "permanently placed",
    ), f"{SRC_ANNEX8} §I.1 (implantable device)"),
    TermTable("surgical", Bi("수술적 침습", "surgically invasive"), (
        "수술", "절개", "경피", "주사", "바늘", "천자", "혈관 내", "혈관내", "피하", "복강경", "관절경",
        "surgical*", "surgery", "incision*", "percutaneous", "needle*", "inject*",
        "intravascular", "subcutaneous", "laparoscop*", "arthroscop*", "puncture",
    ), f"{SRC_ANNEX8} §I.2.2"),
    TermTable("orifice", Bi("체강 침습", "invasive via body orifice"), (
        "구강", "비강", "질 내", "질내", "요도", "항문", "외이도", "귓속", "기관 삽관", "기관내 삽관",
        "식도", "위장관", "안구 표면",
        "oral", "nasal", "vaginal", "urethra*", "rectal", "anal", "ear canal", "intubat*",
        "esophag*", "gastrointestinal", "eye surface",
    ), f"{SRC_ANNEX8} §I.2.1"),
    TermTable("oral_ear_nasal", Bi("구강·외이도·비강", "oral cavity / ear canal / nasal"), (
        "구강", "비강", "외이도", "귓속", "인두", "oral", "nasal", "ear canal", "pharyn*", "mouth",
    ), f"{SRC_ANNEX8} Rule 5"),
    TermTable("teeth", Bi("치아", "teeth"), ("치아", "치과", "치조골", "dental", "tooth", "teeth"),
              f"{SRC_ANNEX8} Rule 8"),
    TermTable("heart_ccs_cns", Bi("심장·중심순환계·중추신경계", "heart / central circulation / CNS"), (
        "심장", "관상동맥", "대동맥", "중심정맥", "뇌", "척수", "중추신경", "심혈관",
        "heart", "cardiac", "coronary", "aort*", "central venous", "brain", "cerebral",
        "spinal cord", "central nervous", "intracranial",
    ), f"{SRC_ANNEX8} §I.2.7-2.8"),
    TermTable("active", Bi("능동(전원 사용)", "active (energy source)"), (
        "전기", "전원", "배터리", "전자", "레이저", "초음파", "방사선", "엑스선", "x선", "모터",
        "펌프", "자극기", "센서", "로봇", "충전", "무선", "블루투스",
        "electric*", "powered", "battery", "electronic*", "laser*", "ultrasound",
        "ultrasonic", "radiation", "x-ray", "motor*", "pump*", "stimulator*", "sensor*",
        "robot*", "wireless", "bluetooth", "radiofrequency",
    ), f"{SRC_ANNEX8} §I.2.6 (active device)"),
    TermTable("ionizing", Bi("전리방사선", "ionising radiation"), (
        "방사선", "엑스선", "x선", "엑스레이", "컴퓨터단층", "투시",
        "x-ray", "xray", "ionizing", "ionising", "computed tomography", "fluoroscop*",
        "mammograph*",
    ), f"{SRC_ANNEX8} Rule 10"),
    TermTable("imaging_energy", Bi("영상용 에너지", "energy for imaging"), (
        "초음파 영상", "자기공명", "mri", "영상 촬영", "ultrasound imaging", "magnetic resonance",
        "imaging",
    ), f"{SRC_ANNEX8} Rule 10"),
    TermTable("diagnostic", Bi("진단·감시", "diagnosis / monitoring"), (
        "측정", "모니터링", "감시", "진단", "measur*", "monitor*", "diagnos*",
    ), f"{SRC_ANNEX8} Rule 10"),
    TermTable("vital", Bi("활력징후 감시", "vital-parameter monitoring"), (
        "활력징후", "산소포화도", "심전도 감시", "중환자", "호흡 감시", "마취 감시",
        "vital sign*", "spo2", "oxygen saturation", "intensive care", "anesthesia monitor*",
        "respiratory monitor*",
    ), f"{SRC_ANNEX8} Rule 10"),
    TermTable("energy_therapy", Bi("에너지 치료", "energy therapy"), (
        "전기자극", "레이저 치료", "고주파", "온열", "저주파", "광선 치료", "초음파 치료", "자기장 치료",
        "stimulat*", "laser therapy", "radiofrequency", "diathermy", "light therapy",
        "phototherapy", "hyperthermia",
    ), f"{SRC_ANNEX8} Rule 9"),
    TermTable("hazardous_energy", Bi("고위험 에너지", "potentially hazardous energy"), (
        "절제", "고강도", "소작", "전기수술", "제세동", "방사선 치료", "쇄석",
        "ablation", "hifu", "high intensity", "cauter*", "electrosurg*", "defibrillat*",
        "radiotherapy", "lithotripsy",
    ), f"{SRC_ANNEX8} Rule 9"),
    TermTable("administer", Bi("약물·체액 투여", "administers medicines/fluids"), (
        "주입", "투여", "수액", "약물 전달", "흡입기", "네뷸라이저",
        "infus*", "administer*", "drug delivery", "nebuliz*", "inhaler*",
    ), f"{SRC_ANNEX8} Rule 12"),
    TermTable("hazardous_drug", Bi("고위험 약물", "hazardous drug"), (
        "인슐린", "항암", "마취", "모르핀", "insulin", "chemotherap*", "anesthe*", "opioid*",
    ), f"{SRC_ANNEX8} Rule 12"),
    TermTable("wound", Bi("손상된 피부", "injured skin"), (
        "상처", "창상", "화상", "궤양", "드레싱", "wound*", "burn", "burns", "ulcer*", "dressing*",
    ), f"{SRC_ANNEX8} Rule 4"),
    TermTable("deep_wound", Bi("진피 손상 창상", "dermis-breaching wound"), (
        "진피", "깊은 상처", "욕창", "dermis", "full thickness", "deep wound*", "pressure ulcer*",
    ), f"{SRC_ANNEX8} Rule 4"),
    TermTable("reusable", Bi("재사용 기구", "reusable instrument"), (
        "재사용", "반복 사용", "reusable", "reprocess*",
    ), f"{SRC_ANNEX8} Rule 6"),
    TermTable("transient", Bi("일시 사용 (<60분)", "transient (< 60 min)"), (
        "일시", "순간", "검사 중", "60분 미만", "수 분", "transient", "few minutes", "momentar*",
    ), f"{SRC_ANNEX8} §I.1 (duration)"),
    TermTable("short_term", Bi("단기 사용 (≤30일)", "short-term (≤ 30 days)"), (
        "단기", "며칠", "30일 이내", "수일", "short-term", "short term", "days", "up to 30 days",
    ), f"{SRC_ANNEX8} §I.1 (duration)"),
    TermTable("long_term", Bi("장기 사용 (>30일)", "long-term (> 30 days)"), (
        "장기", "영구", "30일 이상", "장기간", "상시 착용", "수개월", "long-term", "long term",
        "permanent*", "months", "years", "more than 30 days",
    ), f"{SRC_ANNEX8} §I.1 (duration)"),
    TermTable("medicinal", Bi("의약품 함유", "incorporates a medicinal substance"), (
        "약물 방출", "약물방출", "약물 용출", "약물 코팅", "의약품 함유", "항생제 함유",
        "drug-eluting", "drug eluting", "drug-coated", "drug coated", "medicinal substance",
    ), f"{SRC_ANNEX8} Rule 14"),
    TermTable("contraception", Bi("피임", "contraception"), (
        "피임", "콘돔", "contracept*", "condom*", "birth control",
    ), f"{SRC_ANNEX8} Rule 15"),
    TermTable("disinfecting", Bi("기기 소독·멸균", "disinfects devices"), (
        "소독기", "멸균기", "세척소독", "disinfect*", "sterilizer*", "steriliser*",
    ), f"{SRC_ANNEX8} Rule 16"),
    TermTable("animal_tissue", Bi("인체·동물 유래 조직", "human/animal tissue"), (
        "동물 유래", "소 유래", "돼지 유래", "조직 유래", "animal-derived", "animal derived",
        "bovine", "porcine", "xenograft*",
    ), f"{SRC_ANNEX8} Rule 18"),
    TermTable("blood_channel", Bi("혈액 보관·주입 경로", "blood channelling/storage"), (
        "수혈", "혈액 보관", "혈액백", "blood bag*", "transfusion*", "blood storage",
    ), f"{SRC_ANNEX8} Rule 2"),
    TermTable("joint_breast", Bi("관절 치환·유방보형물", "joint replacement / breast implant"), (
        "인공관절", "고관절", "슬관절", "유방 보형물", "hip replacement", "knee replacement",
        "joint replacement", "breast implant*", "arthroplast*",
    ), f"{SRC_ANNEX8} Rule 8"),
)


# --- Standards --------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class StandardRule:
    """A standard that applies when the device profile has any of `when` ("all" = always)."""

    code: str
    title: Bi
    when: frozenset[str]
    source: str


def _s(code: str, ko: str, en: str, when: set[str], source: str) -> StandardRule:
    return StandardRule(code, Bi(ko, en), frozenset(when), source)


STANDARDS: tuple[StandardRule, ...] = (
    _s("ISO 13485:2016", "품질경영시스템 (KGMP/QMSR)", "quality management system (QMSR)",
       {"all"}, "MFDS KGMP 고시; 21 CFR 820 (QMSR, 2026); EU MDR Art. 10(9)"),
    _s("ISO 14971:2019", "위험관리", "risk management", {"all"}, "ISO/TR 24971:2020"),
    _s("IEC 62366-1:2015+A1:2020", "사용적합성 엔지니어링", "usability engineering",
       {"all"}, "EU MDR Annex I §5, §22; FDA Human Factors guidance (2016)"),
    _s("ISO 15223-1:2021 / ISO 20417:2021", "표시기재·기호 및 제조자 제공 정보",
       "labelling symbols and information supplied by the manufacturer", {"all"},
       "EU MDR Annex I §23; 의료기기법 제20-24조"),
    _s("IEC 62304:2006+A1:2015", "의료기기 소프트웨어 수명주기", "medical device software lifecycle",
       {"software"}, SRC_62304),
    _s("IEC 82304-1:2016", "헬스 소프트웨어 제품 안전", "health software product safety",
       {"health_software"}, "IEC 82304-1:2016"),
    _s("IEC 81001-5-1:2021", "헬스 소프트웨어 사이버보안", "health software cybersecurity",
       {"connected"}, "FD&C Act §524B; FDA Cybersecurity premarket guidance (2023)"),
    _s("IEC 60601-1:2005+A1:2012+A2:2020", "의료용 전기기기 기본 안전 및 필수 성능",
       "basic safety and essential performance of ME equipment", {"active"},
       "MFDS 의료기기 전기·기계적 안전에 관한 공통기준규격"),
    _s("IEC 60601-1-2:2014+A1:2020", "전자파 적합성 (EMC)", "electromagnetic compatibility",
       {"active"}, "MFDS 의료기기의 전자파안전에 관한 공통기준규격"),
    _s("IEC 60601-1-8:2006+A2:2020", "경보 시스템", "alarm systems", {"alarm"}, "IEC 60601-1-8"),
    _s("IEC 60601-1-11:2015+A1:2020", "가정 의료 환경", "home healthcare environment",
       {"home_use_active"}, "IEC 60601-1-11"),
    _s("ISO 10993-1:2018", "생물학적 안전성 평가", "biological evaluation", {"body_contact"},
       "MFDS 의료기기의 생물학적 안전에 관한 공통기준규격; FDA ISO 10993-1 guidance (2023)"),
    _s("ISO 11135 / ISO 11137 / ISO 11607", "멸균 밸리데이션 및 멸균 포장",
       "sterilisation validation and sterile packaging", {"sterile"}, "EU MDR Annex I §11"),
    _s("ISO 17664-1:2021", "재처리(세척·멸균) 정보", "reprocessing information", {"reusable"},
       "EU MDR Annex I §23.4(n)"),
    _s("ISO 14155:2020", "임상시험 실시기준 (GCP)", "clinical investigation GCP",
       {"clinical_investigation"}, "MFDS 의료기기 임상시험 관리기준; EU MDR Art. 62"),
    _s("ISO 20916:2019", "체외진단 임상적 성능시험", "IVD clinical performance studies", {"ivd"},
       "EU IVDR Annex XIII; 체외진단의료기기법"),
    _s("FDA GMLP (Good Machine Learning Practice) 10 principles", "기계학습 우수 개발 원칙",
       "good machine learning practice", {"ai"}, "FDA/Health Canada/MHRA GMLP (2021)"),
    _s("MFDS 인공지능 기반 의료기기 허가·심사 가이드라인", "인공지능 의료기기 허가·심사",
       "AI medical device review guideline (Korea)", {"ai"}, SRC_MFDS_AI),
)

PCCP_STANDARD = (
    "FDA PCCP guidance (Predetermined Change Control Plans for AI-enabled device software "
    "functions, 2024)"
)
# fmt: on
