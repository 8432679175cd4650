"""Dockerfile and docker-compose.yml are checked by parsing them (no Docker engine here)."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
import yaml

from app.platform.config import Settings

pytestmark = pytest.mark.unit
ROOT = Path(__file__).resolve().parents[3]
ENV_NAMES = {(f.alias or n).upper() for n, f in Settings.model_fields.items()}


def dockerfile_instructions() -> list[tuple[str, str]]:
    text = (ROOT / "Dockerfile").read_text().replace("\\\n", " ")
    result = []
    for line in text.splitlines():
        line = line.strip()
        if line and not line.startswith("#"):
            keyword, _, rest = line.partition(" ")
            result.append((keyword.upper(), rest.strip()))
    return result


def test_dockerfile_is_multi_stage_non_root_with_a_liveness_healthcheck() -> None:
    instructions = dockerfile_instructions()
    stages = [rest for kw, rest in instructions if kw == "FROM"]
    assert len(stages) >= 2
    assert any("--from=builder" in rest for kw, rest in instructions if kw == "COPY")
    users = [rest for kw, rest in instructions if kw == "USER"]
    assert users and users[-1] not in ("root", "0")
    health = [rest for kw, rest in instructions if kw == "HEALTHCHECK"]
    assert health and "/health/live" in health[0]
    assert ("EXPOSE", "8000") in instructions
    assert any("uv.lock" in rest for kw, rest in instructions if kw == "COPY")
    env_names = set(
        re.findall(r"\b([A-Z][A-Z0-9_]+)=", " ".join(r for k, r in instructions if k == "ENV"))
    )
    app_env = env_names - {
        "PATH",
        "PYTHONUNBUFFERED",
        "UV_COMPILE_BYTECODE",
        "UV_LINK_MODE",
        "PIP_DISABLE_PIP_VERSION_CHECK",
    }
    assert app_env <= ENV_NAMES, app_env - ENV_NAMES


def test_compose_has_api_with_reload_redis_with_aof_and_ollama_profile() -> None:
    compose = yaml.safe_load((ROOT / "docker-compose.yml").read_text())
    services = compose["services"]
    assert set(services) >= {"api", "redis", "ollama"}
    api = services["api"]
    assert "8000:8000" in api["ports"]
    assert "--reload" in api["command"]
    assert any(v.startswith("./app:") for v in api["volumes"])
    assert set(api["environment"]) <= ENV_NAMES, set(api["environment"]) - ENV_NAMES
    assert api["environment"]["REDIS_URL"].startswith("redis://redis:")
    assert "redis" in api["depends_on"]
    redis = services["redis"]
    assert redis["image"].startswith("redis:7")
    command = " ".join(redis["command"])
    assert "--appendonly yes" in command
    assert "ai" in services["ollama"]["profiles"]
    assert "11434:11434" in services["ollama"]["ports"]
