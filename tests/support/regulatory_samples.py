"""Sample inputs of the regulatory endpoints shared by unit and integration tests."""

from __future__ import annotations

from typing import Any

LUNG = "CT 영상에서 폐결절을 검출하는 AI 소프트웨어"
LUNG_CATEGORY = {
    "code": "SW-CADE-LUNG",
    "name": "의료영상 검출보조 소프트웨어 (폐결절 CADe)",
    "description": "CT 영상에서 폐결절 후보를 표시해 판독을 보조",
    "regulatoryPath": "MFDS 2등급 기술문서 심사",
}
STANDARDS_BODY: dict[str, Any] = {
    "classification": {
        "isMedicalDevice": True,
        "riskClass": "II",
        "category": LUNG_CATEGORY["name"],
    },
    "category": LUNG_CATEGORY,
    "purposeMechanism": "딥러닝 기반 폐결절 검출 보조",
}
# The smallest plan the plan endpoints accept (every required section, empty).
PLAN_BODY: dict[str, Any] = {
    "tier": "normal",
    "title": "표준 경로",
    "description": "허가 심사",
    "totalDuration": "9-12개월",
    "riskLevel": "medium",
    "commonStandards": {"timeline": [], "standards": [], "documentation": []},
    "performanceEvaluation": {"timeline": [], "tests": [], "documentation": []},
}
USER_PASSWORD = "correct horse battery staple"
