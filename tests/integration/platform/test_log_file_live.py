"""LOG_FILE over a real server (uvicorn, SQLite): the same masked JSON lines as stdout go to a
file rotated by size, with `{pid}` giving each worker process its own file."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import httpx
import pytest

from tests.support.servers import LiveServer

pytestmark = [pytest.mark.integration, pytest.mark.slow]

PASSWORD = "correct horse battery staple 2026"


def test_log_file_rotates_by_size_and_holds_no_secret(
    live_server_factory: Callable[..., LiveServer], tmp_path: Path
) -> None:
    logs = tmp_path / "logs"
    server = live_server_factory(
        LOG_FILE=str(logs / "raidesk-{pid}.log"), LOG_MAX_BYTES="4000", LOG_BACKUP_COUNT="2"
    )
    with httpx.Client(base_url=server.url, timeout=30) as http:
        registered = http.post("/api/auth/register", json={"username": "bob", "password": PASSWORD})
        assert registered.status_code == 201, registered.text
        token = http.post("/api/auth/login", json={"username": "bob", "password": PASSWORD})
        assert token.status_code == 200
        access_token = token.json()["access_token"]
        wrong = http.post("/api/auth/login", json={"username": "bob", "password": "wrong " * 3})
        assert wrong.status_code == 401
        for n in range(60):
            assert http.get(f"/ping?n={n}").status_code == 200
    server.stop()

    # One process served: its file, two rotated files and nothing older.
    names = sorted(path.name for path in logs.iterdir())
    assert len(names) == 3, names
    current = [name for name in names if name.endswith(".log")]
    assert len(current) == 1 and current[0].startswith("raidesk-")
    assert sorted(names) == sorted([current[0], current[0] + ".1", current[0] + ".2"])

    lines = [
        line for path in logs.iterdir() for line in path.read_text("utf-8").splitlines() if line
    ]
    records = [json.loads(line) for line in lines]  # every line is one JSON object
    assert all(path.stat().st_size <= 4000 for path in logs.iterdir())  # LOG_MAX_BYTES
    # The last requests are in the current file; earlier ones were rotated away or kept.
    newest = [json.loads(line) for line in (logs / current[0]).read_text("utf-8").splitlines()]
    assert any(r.get("event") == "request" and r.get("path") == "/ping" for r in newest)
    assert any(r.get("event") == "shutdown" for r in newest)
    text = "\n".join(lines)
    assert PASSWORD not in text and access_token not in text
    assert len(records) == len(lines)
