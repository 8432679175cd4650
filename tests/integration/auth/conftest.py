"""Accounts integration helpers: cheap argon2, and live servers that tolerate a busy machine."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from tests.conftest import TEST_SECRET
from tests.support.servers import LiveServer

# argon2 at its cheapest (the suite tests the mechanism, not the cost); ENVIRONMENT=test allows it.
FAST_HASH_ENV = {"ARGON2_TIME_COST": "1", "ARGON2_MEMORY_COST": "1024"}
ADMIN_PASSWORD = "admin pass phrase 2026"
ADMIN_ENV = {"ADMIN_USERNAME": "root", "ADMIN_PASSWORD": ADMIN_PASSWORD}
# Importing the app in a fresh interpreter takes > 30 s when the 2 shared cores are saturated.
START_TIMEOUT_S = 120.0


@pytest.fixture
def auth_server(tmp_path: Path) -> Iterator[Callable[..., LiveServer]]:
    """Like `live_server_factory` (same LiveServer, same base env, log in `.log_path`), with a
    longer start timeout and a server that is stopped even when its start fails."""
    started: list[LiveServer] = []

    def start(workers: int = 1, **env: str) -> LiveServer:
        n = len(started)
        base = {
            "ENVIRONMENT": "test",
            "SECRET_KEY": TEST_SECRET,
            "DATABASE_URL": f"sqlite+aiosqlite:///{tmp_path / 'live.db'}",
            "REDIS_URL": "",
            "RATE_LIMIT_ENABLED": "false",
            "LOG_FORMAT": "json",
            **FAST_HASH_ENV,
        }
        if workers > 1:
            metrics_dir = tmp_path / f"prom-{n}"
            metrics_dir.mkdir()
            base["PROMETHEUS_MULTIPROC_DIR"] = str(metrics_dir)
        server = LiveServer(
            env={**base, **env}, workers=workers, log_path=tmp_path / f"server-{n}.log"
        )
        started.append(server)
        server.start(timeout=START_TIMEOUT_S)
        return server

    yield start
    for server in started:
        server.stop()
