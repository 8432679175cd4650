"""The regulatory API over real HTTP (uvicorn): the frontend flow, restarts, several workers,
other users' objects, SSE framing and client disconnects reaching the model server."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Callable

import httpx
import pytest
from redis.asyncio import Redis

from tests.support.fake_model_server import FakeModelServer, Reply
from tests.support.servers import LiveServer, RedisServer

from .conftest import LUNG, STANDARDS_BODY, USER_PASSWORD, classify_answer

pytestmark = [pytest.mark.integration, pytest.mark.slow]

FAST_AUTH = {"ARGON2_TIME_COST": "1", "ARGON2_MEMORY_COST": "1024"}
Factory = Callable[..., LiveServer]


async def _token(client: httpx.AsyncClient, username: str) -> dict[str, str]:
    r = await client.post(
        "/api/auth/register", json={"username": username, "password": USER_PASSWORD}
    )
    assert r.status_code == 201, r.text
    r = await client.post("/api/auth/login", json={"username": username, "password": USER_PASSWORD})
    assert r.status_code == 200, r.text
    return {"Authorization": f"Bearer {r.json()['access_token']}"}


async def test_frontend_flow_end_to_end(live_server_factory: Factory) -> None:
    server = live_server_factory(**FAST_AUTH)
    async with httpx.AsyncClient(base_url=server.url, timeout=30) as client:
        r = await client.get("/health")
        assert r.status_code == 200 and r.json()["status"] == "healthy"

        headers = {"X-Request-ID": "frontend-flow-1"}
        r = await client.post("/api/classify", json={"concept": LUNG}, headers=headers)
        assert r.status_code == 200 and r.headers["x-request-id"] == "frontend-flow-1"
        classification = r.json()["classification"]
        assert classification["isMedicalDevice"] is True
        assert classification["riskClass"] == "II"
        category = r.json()["suggestedCategories"][0]

        r = await client.post("/api/purpose", json={"concept": "네", "category": category})
        assert r.status_code == 200
        purpose = r.json()
        assert purpose["intendedUse"] and purpose["mechanismOfAction"]

        r = await client.post(
            "/api/standards",
            json={
                "classification": classification,
                "category": category,
                "purposeMechanism": purpose["mechanismOfAction"],
            },
        )
        assert r.status_code == 200
        plans = r.json()["plans"]
        assert len(plans) == 4 and len({p["id"] for p in plans}) == 4
        for plan in plans:
            stored = await client.get(f"/api/plans/{plan['id']}")
            assert stored.status_code == 200 and stored.json()["version"] == 1

        r = await client.post(
            "/api/refine",
            json={
                "planId": plans[0]["id"],
                "modifications": "임상시험 기간을 줄여줘",
                "context": {},
            },
        )
        assert r.status_code == 200
        assert r.json()["plan"]["id"] == plans[0]["id"]
        assert r.json()["plan"]["version"] == 2

        # the streaming variant, framed exactly: one `data:` line per event, then [DONE]
        async with client.stream("POST", "/api/stream/standards", json=STANDARDS_BODY) as response:
            assert response.headers["content-type"].startswith("text/event-stream")
            raw = b"".join([chunk async for chunk in response.aiter_raw()]).decode()
    blocks = raw.split("\n\n")
    assert blocks[-1] == "" and blocks[-2] == "data: [DONE]"
    assert all(b.startswith("data: ") and "\n" not in b for b in blocks[:-2])
    events = [json.loads(b.removeprefix("data: ")) for b in blocks[:-2]]
    assert [e["type"] for e in events] == ["status", "plan", "plan", "plan", "plan", "done"]


async def test_sessions_and_plans_survive_a_restart(live_server_factory: Factory) -> None:
    server = live_server_factory()
    async with httpx.AsyncClient(base_url=server.url, timeout=30) as client:
        sid = (await client.post("/api/sessions", json={"data": {"step": "standards"}})).json()[
            "id"
        ]
        r = await client.post(f"/api/standards?session_id={sid}", json=STANDARDS_BODY)
        pid = r.json()["plans"][0]["id"]
    server.stop()
    server = live_server_factory()  # same database file
    async with httpx.AsyncClient(base_url=server.url, timeout=30) as client:
        r = await client.get(f"/api/sessions/{sid}")
        assert r.status_code == 200 and r.json()["data"] == {"step": "standards"}
        listed = (await client.get("/api/plans", params={"session_id": sid})).json()
        assert listed["count"] == 4
        r = await client.post("/api/refine", json={"planId": pid, "modifications": "기간 단축"})
        assert r.json()["plan"]["version"] == 2


async def test_redis_sessions_survive_an_app_restart(
    live_server_factory: Factory, redis_server: RedisServer, redis_client: Redis
) -> None:
    env = {"REDIS_URL": redis_server.url, "SESSION_STORAGE": "redis"}
    server = live_server_factory(**env)
    async with httpx.AsyncClient(base_url=server.url, timeout=30) as client:
        sid = (await client.post("/api/sessions", json={"data": {"a": 1}})).json()["id"]
    assert await redis_client.exists(f"sess:{sid}") == 1
    ttl = await redis_client.pttl(f"sess:{sid}")
    assert 86_000_000 < ttl <= 86_400_000
    server.stop()
    server = live_server_factory(**env)
    async with httpx.AsyncClient(base_url=server.url, timeout=30) as client:
        r = await client.put(f"/api/sessions/{sid}", json={"data": {"b": 2}})
        assert r.status_code == 200 and r.json()["data"] == {"a": 1, "b": 2}


async def test_other_users_objects_are_404_over_http(live_server_factory: Factory) -> None:
    server = live_server_factory(**FAST_AUTH)
    async with httpx.AsyncClient(base_url=server.url, timeout=30) as client:
        alice, bob = await _token(client, "alice"), await _token(client, "bob")
        sid = (await client.post("/api/sessions", json={"data": {}}, headers=alice)).json()["id"]
        r = await client.post(
            f"/api/standards?session_id={sid}", json=STANDARDS_BODY, headers=alice
        )
        pid = r.json()["plans"][0]["id"]
        for path in (f"/api/sessions/{sid}", f"/api/plans/{pid}", f"/api/plans/{pid}/history"):
            r = await client.get(path, headers=bob)
            assert r.status_code == 404, path
            assert r.headers["content-type"].startswith("application/problem+json")
            assert (await client.get(path, headers=alice)).status_code == 200
        r = await client.post(
            "/api/refine", json={"planId": pid, "modifications": "x"}, headers=bob
        )
        assert r.status_code == 404 and r.json()["code"] == "PLAN_NOT_FOUND"
        assert (await client.delete(f"/api/plans/{pid}", headers=bob)).status_code == 404
        assert (await client.get(f"/api/plans/{pid}", headers=alice)).status_code == 200


@pytest.mark.slow
async def test_two_workers_concurrent_users_and_refines(live_server_factory: Factory) -> None:
    server = live_server_factory(workers=2, **FAST_AUTH)
    async with httpx.AsyncClient(base_url=server.url, timeout=60) as client:
        users = [await _token(client, "ann"), await _token(client, "ben")]

        async def generate(headers: dict[str, str]) -> list[str]:
            ids: list[str] = []
            for _ in range(3):
                r = await client.post("/api/standards", json=STANDARDS_BODY, headers=headers)
                assert r.status_code == 200, r.text
                ids += [p["id"] for p in r.json()["plans"]]
            return ids

        ann_ids, ben_ids = await asyncio.gather(*(generate(h) for h in users))
        assert len(set(ann_ids) | set(ben_ids)) == 24
        for headers, ids in zip(users, (ann_ids, ben_ids), strict=True):
            listed = (await client.get("/api/plans", headers=headers)).json()
            assert {p["id"] for p in listed["items"]} == set(ids)

        pid = ann_ids[0]
        # Each request really changes the plan (a refine that changes nothing stores nothing).
        texts = [f"{i}번째 요청: IEC 6{i:04d} 추가" for i in range(10)]
        results = await asyncio.gather(
            *(
                client.post(
                    "/api/refine", json={"planId": pid, "modifications": t}, headers=users[0]
                )
                for t in texts
            )
        )
        assert all(r.status_code == 200 for r in results), [r.text for r in results]
        assert sorted(r.json()["plan"]["version"] for r in results) == list(range(2, 12))
        history = (await client.get(f"/api/plans/{pid}/history", headers=users[0])).json()
        assert [v["version"] for v in history["versions"]] == list(range(1, 12))


@pytest.mark.parametrize("kind", ["ollama", "openai"])
async def test_client_disconnect_stops_the_model_request(
    live_server_factory: Factory, fake_model: FakeModelServer, kind: str
) -> None:
    content = classify_answer()
    fake_model.script(
        Reply(
            content=content,
            chunks=[content[i : i + 4] for i in range(0, len(content), 4)],
            chunk_delay_s=0.2,
        )
    )
    env = {"AI_PROVIDER": kind, "CACHE_TTL_S": "0", "AI_TIMEOUT_S": "30"}
    if kind == "ollama":
        env |= {"OLLAMA_BASE_URL": fake_model.url, "OLLAMA_MODEL": "fake"}
    else:
        env |= {"OPENAI_BASE_URL": fake_model.openai_url, "OPENAI_MODEL": "fake"}
    server = live_server_factory(**env)
    async with (
        httpx.AsyncClient(base_url=server.url, timeout=30) as client,
        client.stream("POST", "/api/stream/classify", json={"concept": LUNG}) as response,
    ):
        tokens = 0
        async for line in response.aiter_lines():
            if line.startswith('data: {"type":"token"'):
                tokens += 1
                if tokens == 2:
                    break  # the user closed the tab
    # The app cancels its upstream request: the model server sees the connection close long
    # before its 30-second answer would have finished.
    await asyncio.to_thread(fake_model.wait_for, lambda s: s.disconnects == 1, 10.0)
    assert fake_model.completed == 0
    assert server.log_path is not None
    await asyncio.to_thread(_wait_log, server.log_path.read_text, "stream_client_disconnected")


def _wait_log(read: Callable[[], str], needle: str) -> None:
    import time

    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        if needle in read():
            return
        time.sleep(0.05)
    raise AssertionError(f"{needle!r} never logged")
