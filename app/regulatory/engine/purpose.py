"""Intended purpose (사용목적) from a concept and a category.

The frontend may send an uninformative concept ("네", "ok"): then everything comes from
the category. Texts follow the structure regulators ask for in an intended-use statement
(MFDS 사용목적 기재; 21 CFR 801.4; EU MDR Art. 2(12)): what, for whom, how, benefit, limits.
"""

from __future__ import annotations

from dataclasses import dataclass

from app.regulatory.engine.classifier import Assessment
from app.regulatory.engine.text import Bi, Lang


@dataclass(frozen=True, slots=True)
class PurposeTemplate:
    """Intended-purpose wording shared by a family of device types."""

    family: str
    mechanism: Bi
    population: Bi
    benefit: Bi
    contraindications: tuple[Bi, ...]
    use_note: Bi | None = None


# fmt: off
PURPOSE_TEMPLATES: dict[str, PurposeTemplate] = {
    "image_ai": PurposeTemplate(
        "image_ai",
        Bi(
            "의료영상(DICOM)을 입력받아 학습된 알고리즘(딥러닝 등)이 병변 후보 영역과 신뢰 점수를 "
            "산출하고, 판독 화면에 표시합니다. 최종 판단은 의료인이 합니다.",
            "Takes medical images (DICOM); a trained algorithm (e.g. deep learning) outputs "
            "candidate regions with scores shown on the reading screen; the clinician decides.",
        ),
        Bi(
            "해당 영상검사를 받는 성인 환자 (사용자: 영상의학과 전문의 등 판독 의료인)",
            "Adult patients undergoing the imaging exam (users: radiologists and other readers)",
        ),
        Bi(
            "작은 병변의 놓침 감소, 판독 일관성 향상, 판독 시간 단축",
            "Fewer missed small lesions, more consistent reads, shorter reading time",
        ),
        (
            Bi("단독 진단 용도로 사용 금지 (의료인의 판독을 대체하지 않음)",
               "Not for stand-alone diagnosis (does not replace the clinician's read)"),
            Bi("검증되지 않은 장비·프로토콜·소아 영상에는 사용 제한",
               "Not validated for unsupported scanners, protocols or paediatric images"),
        ),
        Bi("의료인의 판독을 보조하는 목적으로 사용합니다.", "It is intended to aid the reader."),
    ),
    "signal_sw": PurposeTemplate(
        "signal_sw",
        Bi(
            "생체신호(심전도 등)를 분석하는 알고리즘이 이상 리듬·패턴을 분류하고 사용자와 의료인에게 "
            "알림을 제공합니다.",
            "An algorithm analyses physiological signals (e.g. ECG), classifies abnormal rhythms "
            "or patterns and notifies the user and clinician.",
        ),
        Bi("성인 사용자 및 해당 질환 위험군 (22세 이상 등 적응 연령은 임상자료로 확정)",
           "Adult users and at-risk patients (age range to be fixed by clinical data)"),
        Bi("무증상 이상 리듬의 조기 발견과 적시 진료 연계",
           "Earlier detection of asymptomatic abnormal rhythms and timely referral"),
        (
            Bi("심박조율기 등 이식형 기기 사용자는 제외", "Not for users with implanted pacemakers"),
            Bi("응급 상황 판단 용도로 사용 금지", "Not for emergency decision-making"),
        ),
    ),
    "samd": PurposeTemplate(
        "samd",
        Bi(
            "임상 데이터(영상·신호·검사값·기록)를 입력받아 알고리즘이 위험도·분류 결과를 산출하고 "
            "의료인에게 제공합니다.",
            "Takes clinical data (images, signals, lab values, records); an algorithm outputs "
            "a risk or classification result for clinicians.",
        ),
        Bi("해당 질환의 평가가 필요한 환자 (사용자: 의료인)",
           "Patients needing assessment for the target condition (users: clinicians)"),
        Bi("조기 발견·적시 치료 결정 지원으로 임상 결과 개선",
           "Better outcomes through earlier detection and timely clinical decisions"),
        (
            Bi("학습·검증 데이터와 다른 인구집단·환경에서의 사용 제한",
               "Limited outside the populations and settings it was validated in"),
            Bi("의료인의 임상적 판단을 대체하지 않음", "Does not replace clinical judgement"),
        ),
    ),
    "dtx": PurposeTemplate(
        "dtx",
        Bi("근거 기반 치료 중재(인지행동치료 등)를 모바일 앱으로 정해진 기간 동안 제공합니다.",
           "Delivers an evidence-based intervention (e.g. CBT) through a mobile app over a "
           "prescribed period."),
        Bi("해당 질환으로 진단받은 성인 환자 (의사 처방)",
           "Adult patients diagnosed with the target disorder (on prescription)"),
        Bi("증상 개선 및 기존 치료 접근성 향상", "Symptom improvement and wider access to therapy"),
        (
            Bi("자살 위험 등 중증 정신질환 환자 제외", "Not for patients at risk of suicide"),
            Bi("약물치료를 임의로 대체하지 않음", "Does not replace prescribed medication"),
        ),
    ),
    "therapy_sw": PurposeTemplate(
        "therapy_sw",
        Bi("환자 데이터로 치료 파라미터(용량·선량 등)를 계산해 의료인·환자에게 제시합니다.",
           "Computes therapy parameters (dose, dose distribution) from patient data."),
        Bi("해당 치료를 받는 환자 (사용자: 의료인 또는 교육받은 환자)",
           "Patients receiving the therapy (users: clinicians or trained patients)"),
        Bi("치료 파라미터 계산 오류 감소, 치료 일관성 향상",
           "Fewer calculation errors and more consistent therapy"),
        (Bi("입력값 검증 없이 자동 적용 금지", "Never applied automatically without review"),),
    ),
    "ivd": PurposeTemplate(
        "ivd",
        Bi("인체 유래 검체(혈액 등)를 시약·센서로 반응시켜 분석물 농도를 측정합니다.",
           "Reacts a human specimen (e.g. blood) with reagents or a sensor to measure an "
           "analyte."),
        Bi("해당 검사가 필요한 환자 및 자가검사 사용자", "Patients and self-testing lay users"),
        Bi("신속한 측정으로 질환 관리·치료 조절 지원",
           "Fast results that support disease management and therapy adjustment"),
        (Bi("진단의 단독 근거로 사용 금지 (확진 검사 필요)",
            "Not the sole basis for diagnosis (confirmatory testing required)"),),
    ),
    "monitor_hw": PurposeTemplate(
        "monitor_hw",
        Bi("센서가 생리 신호를 측정하고 내장 소프트웨어가 수치·추세·경보로 표시합니다.",
           "Sensors measure a physiological signal; embedded software shows values, trends "
           "and alarms."),
        Bi("측정이 필요한 환자 (병원 또는 가정)", "Patients needing the measurement (hospital or home)"),
        Bi("정확한 측정으로 진단·치료 결정 지원", "Accurate measurement supporting clinical decisions"),
        (Bi("MRI 환경 등 사용 환경 제한 사항 준수", "Observe use-environment limits (e.g. MRI)"),),
    ),
    "imaging_hw": PurposeTemplate(
        "imaging_hw",
        Bi("에너지(X선·자기장·초음파·가시광)를 이용해 인체 내부 영상을 획득·재구성합니다.",
           "Uses energy (X-ray, magnetic field, ultrasound, light) to acquire and reconstruct "
           "images of the body."),
        Bi("영상 검사가 필요한 환자 (사용자: 의료인·방사선사)",
           "Patients referred for imaging (users: clinicians, technologists)"),
        Bi("비침습적 진단 정보 제공", "Non-invasive diagnostic information"),
        (Bi("장비별 금기(임신, 금속 이식물 등) 준수",
            "Modality contraindications (pregnancy, metal implants) apply"),),
    ),
    "active_implant": PurposeTemplate(
        "active_implant",
        Bi("체내에 이식된 능동 기기가 전기 자극을 전달하고 필요 시 외부 프로그래머로 조정됩니다.",
           "An implanted active device delivers electrical stimulation, adjusted by an external "
           "programmer."),
        Bi("적응증에 해당하는 환자 (전문의 이식)", "Patients meeting the indication (implanted by "
           "specialists)"),
        Bi("생명 유지 또는 기능 회복", "Life-sustaining therapy or restored function"),
        (
            Bi("MRI 조건부 사용 제한 (MR Conditional 표시에 따름)",
               "MRI restricted to MR Conditional labelling"),
            Bi("감염 등 수술 금기 환자", "Patients with surgical contraindications"),
        ),
    ),
    "implant": PurposeTemplate(
        "implant",
        Bi("생체적합 재료로 만든 이식물이 해부학적 구조를 지지·대체합니다.",
           "A biocompatible implant supports or replaces an anatomical structure."),
        Bi("적응증에 해당하는 환자 (전문의 시술)", "Patients meeting the indication (implanted by "
           "specialists)"),
        Bi("구조·기능의 회복과 삶의 질 개선", "Restored structure/function and quality of life"),
        (
            Bi("재료(금속 등) 알레르기 환자", "Patients allergic to the materials"),
            Bi("활동성 감염 환자", "Active infection at the site"),
        ),
    ),
    "active_therapy": PurposeTemplate(
        "active_therapy",
        Bi("전원을 사용하는 기기가 에너지 또는 약물·가스를 제어하여 전달합니다.",
           "A powered device delivers controlled energy, drugs or gases."),
        Bi("해당 치료가 필요한 환자 (사용자: 의료인 또는 교육받은 환자)",
           "Patients needing the therapy (users: clinicians or trained patients)"),
        Bi("정확하고 안전한 치료 전달", "Accurate and safe therapy delivery"),
        (Bi("사용설명서의 금기 환자군 (예: 이식형 능동기기 사용자)",
            "Contraindicated groups in the IFU (e.g. users of active implants)"),),
    ),
    "instrument": PurposeTemplate(
        "instrument",
        Bi("기계적 작용으로 인체에 접촉·침습하여 시술·검사를 수행합니다.",
           "Acts mechanically on or in the body to perform a procedure or examination."),
        Bi("해당 시술·검사를 받는 환자 (사용자: 의료인)",
           "Patients undergoing the procedure (users: clinicians)"),
        Bi("안전하고 효과적인 시술 수행", "Safe and effective procedures"),
        (Bi("재료 과민증 환자", "Patients hypersensitive to the materials"),),
    ),
    "body_contact": PurposeTemplate(
        "body_contact",
        Bi("인체 표면·체강에 접촉하여 물리적으로 작용합니다.",
           "Acts physically in contact with the body surface or a body orifice."),
        Bi("일반 사용자 및 환자", "Lay users and patients"),
        Bi("상해·장애의 보정 또는 질병 예방", "Compensation for injury/disability or prevention"),
        (Bi("재료 과민증(예: 라텍스 알레르기) 사용자", "Users with material allergies (e.g. latex)"),),
    ),
    "non_device": PurposeTemplate(
        "non_device",
        Bi("질병의 진단·치료·예방을 표방하지 않는 건강관리(웰니스)·일반 기능으로 작동합니다.",
           "Works as a general wellness or general-purpose function, without claims to "
           "diagnose, treat or prevent disease."),
        Bi("일반 사용자 (환자 대상 의료 목적 아님)", "General users (not a medical purpose for patients)"),
        Bi("건강한 생활습관 유지 지원", "Support for a healthy lifestyle"),
        (
            Bi("질병의 진단·치료·예방 목적으로 사용하거나 광고하지 않음",
               "Not to be used or advertised to diagnose, treat or prevent disease"),
        ),
        Bi("의료기기가 아닌 제품으로, 표시·광고에 질병 관련 표현을 쓰지 않습니다.",
           "It is not a medical device; labelling and advertising make no disease claims."),
    ),
    "hardware": PurposeTemplate(
        "hardware",
        Bi("기기의 물리적·전기적 작용으로 의료 목적을 달성합니다.",
           "Achieves its medical purpose through physical or electrical action."),
        Bi("해당 질환·상태의 환자", "Patients with the target condition"),
        Bi("진단·치료 결과 개선", "Improved diagnostic or therapeutic outcomes"),
        (Bi("사용설명서의 금기 사항 준수", "Contraindications as stated in the IFU"),),
    ),
}

# Which template a category code uses; generic codes fall back on the assessment's tags.
FAMILY_BY_CODE: dict[str, str] = {
    "SW-CADE-LUNG": "image_ai", "SW-CADE": "image_ai", "SW-CADX": "image_ai",
    "SW-ECG-ARRHYTHMIA": "signal_sw", "SW-DTX": "dtx", "SW-INSULIN-DOSING": "therapy_sw",
    "SW-RT-PLANNING": "therapy_sw", "IVD-GLUCOSE-METER": "ivd", "IVD-GENERIC": "ivd",
    "HW-CGM": "monitor_hw", "HW-BP-MONITOR": "monitor_hw", "HW-THERMOMETER": "monitor_hw",
    "HW-PULSE-OXIMETER": "monitor_hw", "HW-PATIENT-MONITOR": "monitor_hw",
    "HW-MRI": "imaging_hw", "HW-CT": "imaging_hw", "HW-XRAY": "imaging_hw",
    "HW-ULTRASOUND": "imaging_hw", "HW-ENDOSCOPE": "imaging_hw",
    "HW-PACEMAKER": "active_implant", "HW-NEUROSTIM-IMPLANT": "active_implant",
    "HW-COCHLEAR": "active_implant",
    "HW-CORONARY-STENT": "implant", "HW-STENT": "implant", "HW-HEART-VALVE": "implant",
    "HW-BREAST-IMPLANT": "implant", "HW-JOINT": "implant", "HW-DENTAL-IMPLANT": "implant",
    "HW-INSULIN-PUMP": "active_therapy", "HW-INFUSION-PUMP": "active_therapy",
    "HW-DEFIBRILLATOR": "active_therapy", "HW-VENTILATOR": "active_therapy",
    "HW-SURGICAL-ROBOT": "active_therapy", "HW-ELECTROSURGICAL": "active_therapy",
    "HW-TENS": "active_therapy", "HW-HEARING-AID": "active_therapy",
    "HW-SYRINGE": "instrument", "HW-CATHETER": "instrument", "HW-CATHETER-CCS": "instrument",
    "HW-SCALPEL": "instrument", "HW-SCALPEL-SINGLE-USE": "instrument",
    "HW-TONGUE-DEPRESSOR": "instrument",
    "HW-CONTACT-LENS": "body_contact", "HW-CONTACT-LENS-EXT": "body_contact",
    "HW-CONDOM": "body_contact", "HW-WOUND-DRESSING": "body_contact",
    "HW-BANDAGE": "body_contact", "HW-SPECTACLES": "body_contact",
    "HW-WHEELCHAIR": "body_contact",
}
# fmt: on


def _family(a: Assessment) -> str:
    if not a.is_device:
        return "non_device"
    if a.code in FAMILY_BY_CODE:
        return FAMILY_BY_CODE[a.code]
    if a.standalone_software:
        return "image_ai" if "imaging" in a.tags else "samd"
    if "implant" in a.tags:
        return "active_implant" if "active" in a.tags else "implant"
    if "active" in a.tags:
        return "active_therapy"
    if "body_contact" in a.tags:
        return "instrument"
    return "hardware"


@dataclass(frozen=True, slots=True)
class PurposeText:
    """The five fields of a purpose response, in one language."""

    intended_use: str
    mechanism_of_action: str
    target_population: str
    clinical_benefit: str
    contraindications: list[str]


def _clip(text: str, limit: int = 300) -> str:
    text = " ".join(text.split())
    return text if len(text) <= limit else text[: limit - 1].rstrip() + "…"


def build_purpose(
    a: Assessment,
    *,
    category_name: str,
    category_description: str,
    concept: str | None,
    lang: Lang,
) -> PurposeText:
    """Compose the purpose; `concept` is None when the user's text carried no information."""
    tpl = PURPOSE_TEMPLATES[_family(a)]
    name = category_name or a.name.get(lang)
    what = category_description or a.description.get(lang)
    intended = f"{name}: {what}." if what and what != name else f"{name}."
    if tpl.use_note is not None:
        intended += " " + tpl.use_note.get(lang)
    if concept:  # a real description only: confirmations never reach here
        intended += Bi(
            f" 제품 개요(사용자 기술): “{_clip(concept, 200)}”.",
            f" Product summary (as described): “{_clip(concept, 200)}”.",
        ).get(lang)
    population = tpl.population.get(lang)
    if a.conditions:
        focus = ", ".join(a.conditions[:3])
        population = Bi(
            f"{population} — 대상 질환·상태: {focus}",
            f"{population} — target condition: {focus}",
        ).get(lang)
    mechanism = tpl.mechanism.get(lang)
    if a.ai and "학습" not in mechanism and "trained" not in mechanism:
        mechanism += Bi(
            " 기계학습 모델은 고정(locked) 상태로 출시하고 변경은 변경관리계획에 따릅니다.",
            " The machine-learning model ships locked; changes follow a change-control plan.",
        ).get(lang)
    contraindications = [c.get(lang) for c in tpl.contraindications]
    if a.mfds in ("III", "IV"):
        contraindications.append(
            Bi(
                "임상시험에서 확인되지 않은 적응증에는 사용 금지",
                "Not for indications outside those supported by clinical data",
            ).get(lang)
        )
    return PurposeText(
        intended_use=_clip(intended, 600),
        mechanism_of_action=mechanism,
        target_population=population,
        clinical_benefit=tpl.benefit.get(lang),
        contraindications=contraindications,
    )
