"""Settings: parsing, refusals with the variable's name, and `.env.example` kept complete."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from app.platform.config import DEFAULT_SECRET_KEY, ConfigurationError, Settings, load_settings

pytestmark = pytest.mark.unit
ROOT = Path(__file__).resolve().parents[3]


def env_names() -> set[str]:
    names = set()
    for name, field in Settings.model_fields.items():
        names.add((field.alias or name).upper())
    return names


def test_defaults_serve_the_embedded_default(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in env_names():
        monkeypatch.delenv(name, raising=False)
    settings = load_settings(_env_file=None)
    assert settings.database_url == "sqlite+aiosqlite:///./raidesk.db"
    assert settings.redis_url == ""
    assert settings.effective_session_storage == "sql"
    assert settings.cors_origins == ["http://localhost:3000", "http://localhost:3001"]


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("http://a.example, http://b.example", ["http://a.example", "http://b.example"]),
        ('["http://a.example", "http://b.example"]', ["http://a.example", "http://b.example"]),
        ("", []),
    ],
)
def test_cors_origins_accept_comma_separated_or_json(
    monkeypatch: pytest.MonkeyPatch, raw: str, expected: list[str]
) -> None:
    monkeypatch.setenv("CORS_ORIGINS", raw)
    assert load_settings(_env_file=None).cors_origins == expected


def test_redis_url_switches_sessions_to_redis() -> None:
    settings = load_settings(_env_file=None, redis_url="redis://127.0.0.1:6379/0")
    assert settings.effective_session_storage == "redis"


@pytest.mark.parametrize(
    ("overrides", "node_url"),
    [
        ({"redis_url": "redis+cluster://10.0.0.5:7000"}, "redis://10.0.0.5:7000"),
        ({"redis_url": "rediss+cluster://:pw@h:7000/0"}, "rediss://:pw@h:7000/0"),
        ({"redis_url": "redis://h:7000", "redis_cluster": True}, "redis://h:7000"),
    ],
)
def test_a_cluster_url_builds_the_cluster_client(
    overrides: dict[str, object], node_url: str
) -> None:
    """REDIS_CLUSTER or a +cluster scheme: redis-py's RedisCluster (built without connecting)."""
    from redis.asyncio.cluster import RedisCluster

    from app.platform.storage.redis.client import create_redis

    settings = load_settings(_env_file=None, **overrides)  # type: ignore[arg-type]
    assert settings.redis_is_cluster and settings.redis_node_url == node_url
    assert isinstance(create_redis(settings), RedisCluster)
    plain = load_settings(_env_file=None, redis_url="redis://h:6379/2")
    assert not plain.redis_is_cluster and not isinstance(create_redis(plain), RedisCluster)


@pytest.mark.parametrize(
    ("overrides", "variable"),
    [
        ({"database_url": "mysql://x"}, "DATABASE_URL"),
        ({"redis_url": "http://x"}, "REDIS_URL"),
        ({"trusted_proxies": ["not-an-ip"]}, "TRUSTED_PROXIES"),
        ({"port": 0}, "PORT"),
        ({"log_level": "LOUD"}, "LOG_LEVEL"),
        ({"environment": "production"}, "SECRET_KEY"),
        ({"environment": "staging", "secret_key": "short"}, "SECRET_KEY"),
        ({"session_storage": "redis"}, "REDIS_URL"),
        ({"redis_url": "redis+cluster://127.0.0.1:7000/3"}, "REDIS_URL"),
        ({"redis_url": "unix:///tmp/redis.sock", "redis_cluster": True}, "REDIS_URL"),
    ],
)
def test_invalid_configuration_names_the_variable(
    overrides: dict[str, object], variable: str
) -> None:
    with pytest.raises(ConfigurationError) as info:
        load_settings(_env_file=None, **overrides)
    assert variable in str(info.value)


def test_production_accepts_a_real_secret() -> None:
    settings = load_settings(_env_file=None, environment="production", secret_key="x" * 40)
    assert settings.secret_key != DEFAULT_SECRET_KEY


def test_startup_is_refused_with_the_default_secret_outside_development() -> None:
    env = {**os.environ, "ENVIRONMENT": "production", "SECRET_KEY": DEFAULT_SECRET_KEY}
    result = subprocess.run(
        [sys.executable, "-m", "app", "serve"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 2
    assert "SECRET_KEY" in result.stderr


def test_env_example_lists_every_setting_with_a_comment() -> None:
    text = (ROOT / ".env.example").read_text(encoding="utf-8")
    lines = text.splitlines()
    listed = {}
    for index, line in enumerate(lines):
        match = re.match(r"^([A-Z][A-Z0-9_]*)=", line)
        if match:
            listed[match.group(1)] = lines[index - 1].startswith("#") if index else False
    missing = env_names() - set(listed)
    assert not missing, f".env.example lacks {sorted(missing)}"
    uncommented = [name for name, has_comment in listed.items() if not has_comment]
    assert not uncommented, f"no comment above {uncommented}"


def test_env_example_copied_to_dotenv_starts(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    for name in env_names():
        monkeypatch.delenv(name, raising=False)
    dotenv = tmp_path / ".env"
    dotenv.write_text((ROOT / ".env.example").read_text(encoding="utf-8"), encoding="utf-8")
    settings = load_settings(_env_file=dotenv)
    assert settings.session_storage is None
    assert settings.effective_session_storage == "sql"


async def test_a_torn_cluster_connection_is_a_connection_error(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """redis-py's cluster client may raise AttributeError / RuntimeError when a failover closes
    a connection under a command: the app's client reports a ConnectionError (a 503)."""
    from redis.asyncio.cluster import ClusterPipeline, RedisCluster
    from redis.exceptions import ConnectionError as RedisConnectionError

    from app.platform.storage.redis.client import create_redis

    async def torn(*_args: object, **_kwargs: object) -> None:
        raise AttributeError("'NoneType' object has no attribute 'writelines'")

    monkeypatch.setattr(RedisCluster, "execute_command", torn)
    monkeypatch.setattr(ClusterPipeline, "execute", torn)
    client = create_redis(load_settings(_env_file=None, redis_url="redis+cluster://h:7000"))
    with pytest.raises(RedisConnectionError) as raised:
        await client.get("k")
    assert isinstance(raised.value.__cause__, AttributeError)
    with pytest.raises(RedisConnectionError):
        await client.pipeline(transaction=False).execute()


def test_automatic_blocks_are_accepted_on_a_redis_cluster() -> None:
    """The block keys carry the counters' hash tag and the index is written outside the script,
    so blocks run on a cluster (tested on a real one in test_ratelimit_store_contract)."""
    settings = load_settings(
        _env_file=None, redis_url="redis+cluster://127.0.0.1:7000", rate_limit_block_after=3
    )
    assert settings.redis_is_cluster and settings.rate_limit_block_after == 3
