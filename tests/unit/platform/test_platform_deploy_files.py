"""Dockerfile and docker-compose.yml are checked by parsing them (no Docker engine here)."""

from __future__ import annotations

import json
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


def test_compose_profiles_add_postgres_prometheus_and_grafana_with_mounted_files() -> None:
    compose = yaml.safe_load((ROOT / "docker-compose.yml").read_text())
    services = compose["services"]
    assert services["postgres"]["profiles"] == ["postgres"]
    assert services["postgres"]["image"].startswith("postgres:")
    assert "pg_isready" in " ".join(services["postgres"]["healthcheck"]["test"])
    assert services["api"]["environment"]["DATABASE_URL"].startswith("${DATABASE_URL:-sqlite")
    for name in ("prometheus", "grafana"):
        assert services[name]["profiles"] == ["monitoring"]
        # Every file or folder mounted from the repository exists (a typo would mount nothing).
        for volume in services[name]["volumes"]:
            source = volume.split(":")[0]
            if source.startswith("./"):
                assert (ROOT / source).exists(), source
        assert all(v in compose["volumes"] for v in (f"{name}-data",))
    assert "9090:9090" in services["prometheus"]["ports"]
    assert "3000:3000" in services["grafana"]["ports"]
    # The Grafana admin password comes from the environment, not from the file.
    assert (
        "${GRAFANA_ADMIN_PASSWORD"
        in services["grafana"]["environment"]["GF_SECURITY_ADMIN_PASSWORD"]
    )


def test_prometheus_scrapes_every_api_container_on_the_metrics_path() -> None:
    config = yaml.safe_load((ROOT / "deploy/prometheus/prometheus.yml").read_text())
    jobs = {job["job_name"]: job for job in config["scrape_configs"]}
    raidesk = jobs["raidesk"]
    assert raidesk["metrics_path"] == "/metrics"
    # DNS discovery of the compose service: one target per container when scaled.
    (discovery,) = raidesk["dns_sd_configs"]
    assert discovery["names"] == ["api"] and discovery["type"] == "A"
    assert discovery["port"] == 8000


def test_grafana_provisions_the_prometheus_source_and_a_valid_dashboard() -> None:
    source = yaml.safe_load(
        (ROOT / "deploy/grafana/provisioning/datasources/prometheus.yml").read_text()
    )
    (prometheus,) = source["datasources"]
    assert prometheus["url"] == "http://prometheus:9090" and prometheus["type"] == "prometheus"
    provider = yaml.safe_load(
        (ROOT / "deploy/grafana/provisioning/dashboards/raidesk.yml").read_text()
    )
    assert provider["providers"][0]["options"]["path"] == "/var/lib/grafana/dashboards"

    dashboard = json.loads((ROOT / "deploy/grafana/dashboards/raidesk.json").read_text())
    assert dashboard["uid"] == "raidesk"
    panels = dashboard["panels"]
    ids = [p["id"] for p in panels]
    assert len(ids) == len(set(ids))
    titles = " ".join(p["title"].lower() for p in panels)
    for topic in (
        "requests",
        "latency",
        "errors",
        "rate-limit",
        "stock",
        "sold",
        "lock",
        "batch throughput",
        "batch progress",
        "cache hit",
        "pools",
    ):
        assert topic in titles, topic
    for panel in panels:
        if panel["type"] == "row":
            continue
        assert panel["datasource"]["uid"] == prometheus["uid"]
        assert panel["targets"], panel["title"]
        for target in panel["targets"]:
            expr = target["expr"]
            assert expr.count("(") == expr.count(")"), expr
            # Each selector is scoped by the instance variable the dashboard defines.
            assert 'instance=~"$instance"' in expr, expr
    (variable,) = dashboard["templating"]["list"]
    assert variable["name"] == "instance"
