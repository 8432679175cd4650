"""Sessions and plans over HTTP (in-process): CRUD, merge, limits, versions, ownership."""

from __future__ import annotations

import asyncio
from typing import Any

import httpx
import pytest
from fastapi import FastAPI

from .conftest import STANDARDS_BODY, Login, assert_problem

pytestmark = pytest.mark.unit

Reg = tuple[FastAPI, httpx.AsyncClient]


async def test_session_lifecycle(reg: Reg) -> None:
    _app, client = reg
    r = await client.post("/api/sessions", json={"data": {"concept": "폐결절", "nested": {"a": 1}}})
    assert r.status_code == 201
    session = r.json()
    assert session["id"].startswith("sess_") and len(session["id"]) > 20
    assert session["expiresAt"] > session["updatedAt"]

    r = await client.put(
        f"/api/sessions/{session['id']}",
        json={"data": {"step": "purpose", "nested": {"b": 2}, "concept": None}},
    )
    assert r.status_code == 200
    assert r.json()["data"] == {"step": "purpose", "nested": {"a": 1, "b": 2}}
    assert r.json()["updatedAt"] > session["updatedAt"]
    assert r.json()["expiresAt"] > session["expiresAt"]  # TTL restarts on write

    r = await client.get(f"/api/sessions/{session['id']}")
    assert r.json()["data"]["step"] == "purpose"
    assert (await client.delete(f"/api/sessions/{session['id']}")).status_code == 204
    body = assert_problem(
        await client.get(f"/api/sessions/{session['id']}"), 404, "SESSION_NOT_FOUND"
    )
    assert body["error_code"] == "ERR_1002"
    assert_problem(await client.delete(f"/api/sessions/{session['id']}"), 404, "SESSION_NOT_FOUND")
    assert_problem(
        await client.put(f"/api/sessions/{session['id']}", json={"data": {}}),
        404,
        "SESSION_NOT_FOUND",
    )


async def test_session_without_body(reg: Reg) -> None:
    _app, client = reg
    r = await client.post("/api/sessions")
    assert r.status_code == 201 and r.json()["data"] == {}


@pytest.mark.parametrize(
    "body",
    [
        {"data": [1, 2]},
        {"data": "text"},
        {},
        {"data": {}, "extra": 1},
        [],
        None,
    ],
)
async def test_session_update_bad_input(reg: Reg, body: Any) -> None:
    _app, client = reg
    sid = (await client.post("/api/sessions", json={"data": {"keep": True}})).json()["id"]
    assert_problem(await client.put(f"/api/sessions/{sid}", json=body), 400, "VALIDATION_ERROR")
    assert (await client.get(f"/api/sessions/{sid}")).json()["data"] == {"keep": True}


async def test_session_data_limits(reg: Reg) -> None:
    _app, client = reg
    sid = (await client.post("/api/sessions", json={"data": {"keep": True}})).json()["id"]
    big = {"blob": "가" * 100_000}  # 300 KB of UTF-8: under the body limit, over the data limit
    r = await client.put(f"/api/sessions/{sid}", json={"data": big})
    assert_problem(r, 413, "SESSION_DATA_TOO_LARGE")
    deep: dict[str, Any] = {}
    node = deep
    for _ in range(100):
        node["n"] = {}
        node = node["n"]
    assert_problem(await client.put(f"/api/sessions/{sid}", json={"data": deep}), 413)
    assert_problem(await client.post("/api/sessions", json={"data": big}), 413)
    assert (await client.get(f"/api/sessions/{sid}")).json()["data"] == {"keep": True}
    assert_problem(await client.get(f"/api/sessions/{'x' * 201}"), 400, "VALIDATION_ERROR")


async def test_concurrent_merges_lose_nothing(reg: Reg) -> None:
    _app, client = reg
    sid = (await client.post("/api/sessions")).json()["id"]
    results = await asyncio.gather(
        *(client.put(f"/api/sessions/{sid}", json={"data": {f"k{i}": i}}) for i in range(20))
    )
    assert all(r.status_code == 200 for r in results)
    data = (await client.get(f"/api/sessions/{sid}")).json()["data"]
    assert data == {f"k{i}": i for i in range(20)}


async def test_expired_session_is_not_found(app_factory: Any) -> None:
    async with app_factory(session_ttl_s=1) as (_app, client):
        sid = (await client.post("/api/sessions")).json()["id"]
        assert (await client.get(f"/api/sessions/{sid}")).status_code == 200
        await asyncio.sleep(1.2)  # waiting out the TTL is the behaviour under test
        assert_problem(await client.get(f"/api/sessions/{sid}"), 404, "SESSION_NOT_FOUND")


async def test_sessions_belong_to_their_owner(reg: Reg, login: Login) -> None:
    _app, client = reg
    alice, bob = await login("alice"), await login("bob")
    mine = (await client.post("/api/sessions", json={"data": {"x": 1}}, headers=alice)).json()["id"]
    anon = (await client.post("/api/sessions")).json()["id"]
    for headers in (bob, {}):
        assert_problem(await client.get(f"/api/sessions/{mine}", headers=headers), 404)
        assert_problem(
            await client.put(f"/api/sessions/{mine}", json={"data": {"y": 2}}, headers=headers), 404
        )
        assert_problem(await client.delete(f"/api/sessions/{mine}", headers=headers), 404)
        # plans cannot be attached to someone else's session either
        r = await client.post(
            f"/api/standards?session_id={mine}", json=STANDARDS_BODY, headers=headers
        )
        assert_problem(r, 404, "SESSION_NOT_FOUND")
    assert (await client.get(f"/api/sessions/{mine}", headers=alice)).json()["data"] == {"x": 1}
    assert (await client.get(f"/api/sessions/{anon}", headers=bob)).status_code == 200

    assert_problem(await client.get("/api/sessions"), 401, "AUTHENTICATION_REQUIRED")
    listed = (await client.get("/api/sessions", headers=alice)).json()
    assert [s["id"] for s in listed["items"]] == [mine]
    assert (await client.get("/api/sessions", headers=bob)).json()["count"] == 0


async def test_plans_belong_to_their_owner(reg: Reg, login: Login) -> None:
    _app, client = reg
    alice, bob = await login("alice"), await login("bob")
    session = (await client.post("/api/sessions")).json()["id"]  # anonymous, shared
    r = await client.post(
        f"/api/standards?session_id={session}", json=STANDARDS_BODY, headers=alice
    )
    alices = [p["id"] for p in r.json()["plans"]]
    r = await client.post(f"/api/standards?session_id={session}", json=STANDARDS_BODY)
    anons = [p["id"] for p in r.json()["plans"]]
    pid = alices[0]
    for headers in (bob, {}):
        assert_problem(
            await client.get(f"/api/plans/{pid}", headers=headers), 404, "PLAN_NOT_FOUND"
        )
        assert_problem(await client.get(f"/api/plans/{pid}?version=1", headers=headers), 404)
        assert_problem(await client.get(f"/api/plans/{pid}/history", headers=headers), 404)
        assert_problem(await client.delete(f"/api/plans/{pid}", headers=headers), 404)
        r = await client.post(
            "/api/refine", json={"planId": pid, "modifications": "x"}, headers=headers
        )
        assert_problem(r, 404, "PLAN_NOT_FOUND")
        listed = (
            await client.get("/api/plans", params={"session_id": session}, headers=headers)
        ).json()
        assert {p["id"] for p in listed["items"]} == set(anons)
    listed = (await client.get("/api/plans", params={"session_id": session}, headers=alice)).json()
    assert {p["id"] for p in listed["items"]} == set(alices) | set(anons)
    mine = (await client.get("/api/plans", headers=alice)).json()
    assert {p["id"] for p in mine["items"]} == set(alices)
    assert_problem(await client.get("/api/plans"), 401)
    assert (await client.get(f"/api/plans/{pid}", headers=alice)).status_code == 200


async def test_plan_crud_versions_and_history(reg: Reg) -> None:
    _app, client = reg
    plan = (await client.post("/api/standards", json=STANDARDS_BODY)).json()["plans"][0]
    draft = {k: v for k, v in plan.items() if k not in ("version", "sessionId")}
    r = await client.post("/api/plans", json={"plan": {**draft, "id": "plan_chosen_by_client"}})
    assert r.status_code == 201
    stored = r.json()
    assert stored["id"].startswith("plan_") and stored["id"] != "plan_chosen_by_client"
    assert stored["version"] == 1 and stored["createdAt"]

    pid = stored["id"]
    for i, text in enumerate(("임상시험 기간을 줄여줘", "ISO 11607-1 추가"), start=2):
        r = await client.post("/api/refine", json={"planId": pid, "modifications": text})
        assert r.json()["plan"]["version"] == i
    history = (await client.get(f"/api/plans/{pid}/history")).json()
    assert history["planId"] == pid and history["latestVersion"] == 3
    assert [v["version"] for v in history["versions"]] == [1, 2, 3]
    assert history["versions"][0]["modifications"] is None
    assert history["versions"][1]["modifications"] == "임상시험 기간을 줄여줘"
    assert all(v["createdAt"] for v in history["versions"])
    assert all(v["plan"]["id"] == pid for v in history["versions"])

    assert (await client.get(f"/api/plans/{pid}?version=1")).json()["version"] == 1
    assert (await client.get(f"/api/plans/{pid}")).json()["version"] == 3
    body = assert_problem(
        await client.get(f"/api/plans/{pid}?version=9"), 404, "PLAN_VERSION_NOT_FOUND"
    )
    assert body["details"]["latest_version"] == 3
    for bad in ("0", "-1", "abc", "1.5", "99999999999"):
        assert_problem(await client.get(f"/api/plans/{pid}?version={bad}"), 400, "VALIDATION_ERROR")

    assert (await client.delete(f"/api/plans/{pid}")).status_code == 204
    assert_problem(await client.get(f"/api/plans/{pid}"), 404, "PLAN_NOT_FOUND")
    assert_problem(await client.get(f"/api/plans/{pid}/history"), 404, "PLAN_NOT_FOUND")


@pytest.mark.parametrize(
    "body",
    [
        {},
        {"plan": {}},
        {"plan": {"tier": "fastest"}},
        {"plan": "x"},
        {
            "plan": {
                "tier": "warp",
                "title": "t",
                "description": "d",
                "totalDuration": "1",
                "riskLevel": "low",
                "commonStandards": {},
                "performanceEvaluation": {},
            }
        },
        {
            "plan": {
                "tier": "normal",
                "title": "t",
                "description": "d",
                "totalDuration": "1",
                "riskLevel": "low",
                "commonStandards": {},
                "performanceEvaluation": {},
            },
            "sessionId": "",
        },
    ],
)
async def test_plan_create_bad_input(reg: Reg, body: Any) -> None:
    _app, client = reg
    assert_problem(await client.post("/api/plans", json=body), 400, "VALIDATION_ERROR")


async def test_plan_create_needs_a_visible_session(reg: Reg) -> None:
    _app, client = reg
    plan = (await client.post("/api/standards", json=STANDARDS_BODY)).json()["plans"][0]
    r = await client.post("/api/plans", json={"plan": plan, "sessionId": "sess_missing"})
    assert_problem(r, 404, "SESSION_NOT_FOUND")


async def test_concurrent_refines_get_distinct_consecutive_versions(reg: Reg) -> None:
    _app, client = reg
    pid = (await client.post("/api/standards", json=STANDARDS_BODY)).json()["plans"][0]["id"]
    # Each request really changes the plan (a refine that changes nothing stores nothing).
    texts = [f"변경 {i}: IEC 6{i:04d} 추가" for i in range(8)]
    results = await asyncio.gather(
        *(client.post("/api/refine", json={"planId": pid, "modifications": t}) for t in texts)
    )
    assert all(r.status_code == 200 for r in results), [r.text for r in results]
    versions = sorted(r.json()["plan"]["version"] for r in results)
    assert versions == list(range(2, 10))
    history = (await client.get(f"/api/plans/{pid}/history")).json()["versions"]
    assert sorted(v["modifications"] for v in history[1:]) == sorted(texts)
