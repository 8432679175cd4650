"""Fixtures of the regulatory API integration tests: the fake model server and sample answers."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import pytest

from tests.support.fake_model_server import FakeModelServer
from tests.support.regulatory_samples import (  # noqa: F401 - re-exported to tests
    LUNG,
    LUNG_CATEGORY,
    STANDARDS_BODY,
    USER_PASSWORD,
)


def classify_answer(risk: Any = "2등급", device: Any = "true") -> str:
    """What a model might write for the lung-nodule concept (needs normalising)."""
    return json.dumps(
        {
            "classification": {
                "isMedicalDevice": device,
                "reasoning": "CT 영상에서 폐결절 후보를 검출해 판독을 보조하므로 의료기기입니다.",
                "confidence": "85%",
                "category": "의료영상 검출보조 소프트웨어",
                "riskClass": risk,
            },
            "suggestedCategories": [
                {"code": "CADe", "name": "검출보조", "description": "d", "regulatoryPath": "510(k)"}
            ],
        },
        ensure_ascii=False,
    )


def plan_answer(tier: str) -> dict[str, Any]:
    """One plan as a model writes it, with an id the server must not keep."""
    return {
        "id": f"model-{tier}",
        "tier": tier,
        "title": f"{tier} 경로",
        "description": "설명",
        "totalDuration": "9개월",
        "riskLevel": "medium",
        "commonStandards": {
            "timeline": [
                {
                    "phase": "QMS",
                    "description": "구축",
                    "duration": "8주",
                    "deliverables": ["매뉴얼"],
                }
            ],
            "standards": ["ISO 13485", "IEC 62304"],
            "documentation": ["기술문서"],
        },
        "performanceEvaluation": {"timeline": [], "tests": ["민감도"], "documentation": []},
        "pros": ["빠름"],
        "cons": ["비용"],
        "recommendations": ["사전상담"],
    }


def standards_answer() -> str:
    """Four plans, one per tier."""
    tiers = ("fastest", "normal", "conservative", "innovative")
    return json.dumps({"plans": [plan_answer(t) for t in tiers]}, ensure_ascii=False)


@pytest.fixture
def fake_model() -> Iterator[FakeModelServer]:
    """A scripted Ollama / OpenAI-compatible server on a free port."""
    server = FakeModelServer().start()
    yield server
    server.stop()


def provider_settings(kind: str, server: FakeModelServer, **extra: Any) -> dict[str, Any]:
    """Settings overrides that point the app at the fake server."""
    if kind == "ollama":
        base = {"ai_provider": "ollama", "ollama_base_url": server.url, "ollama_model": "fake-llm"}
    else:
        base = {
            "ai_provider": "openai",
            "openai_base_url": server.openai_url,
            "openai_model": "fake-gpt",
            "openai_api_key": "sk-secret-test-key",
        }
    return {**base, "ai_timeout_s": 5.0, **extra}
