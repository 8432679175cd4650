"""The seeds' request and response forms over real HTTP (uvicorn, SQLite), started with the
seeds' own `.env` values (plain `sqlite:///` URL, `SESSION_STORAGE=sqlite`)."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import httpx
import pytest
from sqlalchemy import create_engine, text

from tests.support.servers import LiveServer

pytestmark = [pytest.mark.integration, pytest.mark.slow]

Factory = Callable[..., LiveServer]


async def test_session_seed_forms(live_server_factory: Factory, tmp_path: Path) -> None:
    db = tmp_path / "seed.db"
    server = live_server_factory(DATABASE_URL=f"sqlite:///{db}", SESSION_STORAGE="sqlite")
    async with httpx.AsyncClient(base_url=server.url, timeout=30) as client:
        r = await client.post("/api/sessions", json={"data": {"concept": "폐결절"}})
        assert r.status_code == 201, r.text
        body = r.json()
        sid = body["id"]
        assert body["session_id"] == sid and body["data"] == {"concept": "폐결절"}

        # The seed's PUT body: the fields themselves, merged like {"data": {...}}.
        r = await client.put(f"/api/sessions/{sid}", json={"step": "classify"})
        assert r.status_code == 200, r.text
        assert r.json()["data"] == {"concept": "폐결절", "step": "classify"}
        r = await client.put(f"/api/sessions/{sid}", json={"data": {"step": None}})
        assert r.status_code == 200 and r.json()["data"] == {"concept": "폐결절"}
        r = await client.put(f"/api/sessions/{sid}", json={})
        assert r.status_code == 400
        assert r.headers["content-type"].startswith("application/problem+json")

        # Stored in the SQLite file the plain URL named.
        engine = create_engine(f"sqlite:///{db}")
        with engine.connect() as conn:
            stored = conn.execute(text("SELECT id FROM sessions")).scalars().all()
        engine.dispose()
        assert stored == [sid]

        r = await client.delete(f"/api/sessions/{sid}", headers={"Accept": "application/json"})
        assert r.status_code == 200
        assert r.json() == {"status": "deleted", "session_id": sid}

        r = await client.get(f"/api/sessions/{sid}")
        assert r.status_code == 404
        problem = r.json()
        assert problem["code"] == "SESSION_NOT_FOUND"
        assert problem["details"] == {"resource": "session", "id": sid}

        # Without an explicit application/json the contract's empty 204 stays.
        r = await client.post("/api/sessions")
        other = r.json()["id"]
        r = await client.delete(f"/api/sessions/{other}", headers={"Accept": "*/*"})
        assert r.status_code == 204 and r.content == b""


async def test_cache_stats_seed_names(live_server_factory: Factory) -> None:
    server = live_server_factory()
    async with httpx.AsyncClient(base_url=server.url, timeout=30) as client:
        r = await client.get("/api/cache/stats")
        assert r.status_code == 200, r.text
        stats = r.json()
        assert stats["hit_rate"] == stats["hit_ratio"] == 0.0
        assert stats["miss_rate"] == 0.0


PLAN = {
    "tier": "normal",
    "title": "표준 경로",
    "description": "허가 심사와 성능평가",
    "totalDuration": "9-12개월",
    "riskLevel": "medium",
    "commonStandards": {"timeline": [], "standards": ["ISO 13485"], "documentation": []},
    "performanceEvaluation": {"timeline": [], "tests": [], "documentation": []},
}


async def test_plan_seed_forms(live_server_factory: Factory) -> None:
    server = live_server_factory()
    async with httpx.AsyncClient(base_url=server.url, timeout=30) as client:
        sid = (await client.post("/api/sessions")).json()["id"]
        # The seed's form: the bare plan, the session in the query.
        r = await client.post("/api/plans", params={"session_id": sid}, json=PLAN)
        assert r.status_code == 201, r.text
        created = r.json()
        pid = created["id"]
        assert created["plan_id"] == pid and created["sessionId"] == sid
        assert created["version"] == 1
        # The contract's form still works.
        r = await client.post("/api/plans", json={"plan": PLAN, "sessionId": sid})
        assert r.status_code == 201 and r.json()["sessionId"] == sid
        r = await client.post("/api/plans", params={"session_id": "sess_other"}, json=PLAN)
        assert r.status_code == 404 and r.json()["code"] == "SESSION_NOT_FOUND"
        r = await client.post(
            "/api/plans", params={"session_id": "sess_other"}, json={"plan": PLAN, "sessionId": sid}
        )
        assert r.status_code == 400 and r.json()["code"] == "VALIDATION_ERROR"

        r = await client.post(
            "/api/refine", json={"planId": pid, "modifications": "ISO 11607-1 추가"}
        )
        assert r.status_code == 200, r.text
        r = await client.get(f"/api/plans/{pid}_v2")
        assert r.status_code == 200, r.text
        assert r.json()["version"] == 2 and r.json()["plan_id"] == pid
        r = await client.get(f"/api/plans/{pid}_v1")
        assert r.status_code == 200 and r.json()["version"] == 1
        r = await client.get(f"/api/plans/{pid}_v9")
        assert r.status_code == 404 and r.json()["code"] == "PLAN_VERSION_NOT_FOUND"
        r = await client.get("/api/plans/plan_nope")
        assert r.status_code == 404
        assert r.json()["details"] == {"resource": "plan", "id": "plan_nope"}
