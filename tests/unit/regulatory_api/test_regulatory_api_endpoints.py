"""classify / purpose / standards / refine in-process: the contract, the errors, bad input."""

from __future__ import annotations

import json
from typing import Any

import httpx
import pytest
from fastapi import FastAPI

from app.lifespan import Resources

from .conftest import LUNG, LUNG_CATEGORY, STANDARDS_BODY, Login, assert_problem

pytestmark = pytest.mark.unit

Reg = tuple[FastAPI, httpx.AsyncClient]


def _plans_stored(app: FastAPI) -> Any:
    resources: Resources = app.state.resources
    assert resources.regulatory is not None
    return resources.regulatory.plans.repository


async def test_frontend_flow(reg: Reg) -> None:
    app, client = reg
    r = await client.post("/api/classify", json={"concept": LUNG})
    assert r.status_code == 200
    c = r.json()["classification"]
    assert c["isMedicalDevice"] is True and c["riskClass"] == "II" and c["category"]
    assert 0 < c["confidence"] <= 1 and c["reasoning"]
    category = r.json()["suggestedCategories"][0]
    assert set(category) >= {"code", "name", "description", "regulatoryPath"}

    r = await client.post("/api/purpose", json={"concept": "네", "category": category})
    assert r.status_code == 200
    purpose = r.json()
    assert all(purpose[k] for k in ("intendedUse", "mechanismOfAction", "targetPopulation"))
    assert isinstance(purpose["contraindications"], list)

    body = {"classification": c, "category": category, "purposeMechanism": purpose}
    r = await client.post("/api/standards", json=body)
    assert r.status_code == 200
    plans = r.json()["plans"]
    assert [p["tier"] for p in plans] == ["fastest", "normal", "conservative", "innovative"]
    assert len({p["id"] for p in plans}) == 4
    assert all(p["version"] == 1 for p in plans)
    for plan in plans:
        stored = await _plans_stored(app).get(plan["id"])
        assert stored is not None and stored.version == 1

    target = plans[1]
    r = await client.post(
        "/api/refine",
        json={"planId": target["id"], "modifications": "임상시험 기간을 줄여줘", "context": {}},
    )
    assert r.status_code == 200
    refined = r.json()["plan"]
    assert refined["id"] == target["id"] and refined["version"] == 2
    assert refined["tier"] == "normal"
    r = await client.get(f"/api/plans/{target['id']}")
    assert r.json()["version"] == 2


async def test_snake_case_input_is_accepted(reg: Reg) -> None:
    _app, client = reg
    body = {
        "classification": {"is_medical_device": True, "risk_class": "2등급"},
        "category": {**LUNG_CATEGORY, "regulatory_path": "x"},
        "purpose_mechanism": {"mechanism_of_action": "딥러닝"},
    }
    r = await client.post("/api/standards", json=body)
    assert r.status_code == 200, r.text
    assert "regulatoryPath" not in r.json()["plans"][0]  # output stays camelCase Plan
    assert "totalDuration" in r.json()["plans"][0]


async def test_purpose_category_may_be_a_string(reg: Reg) -> None:
    _app, client = reg
    r = await client.post("/api/purpose", json={"concept": "네", "category": LUNG_CATEGORY["name"]})
    assert r.status_code == 200, r.text
    assert r.json()["intendedUse"]


async def test_refine_loads_the_stored_plan_not_the_context(reg: Reg) -> None:
    _app, client = reg
    plans = (await client.post("/api/standards", json=STANDARDS_BODY)).json()["plans"]
    forged = {**plans[0], "title": "FORGED", "id": "plan_forged"}
    r = await client.post(
        "/api/refine",
        json={
            "planId": plans[0]["id"],
            "modifications": "문서 작업을 보강해줘",
            "context": {"original_plan": forged},
        },
    )
    assert r.status_code == 200
    assert r.json()["plan"]["id"] == plans[0]["id"]
    assert r.json()["plan"]["title"] != "FORGED"


async def test_typed_errors(reg: Reg) -> None:
    _app, client = reg
    not_device = {**STANDARDS_BODY, "classification": {"isMedicalDevice": False}}
    assert_problem(await client.post("/api/standards", json=not_device), 400, "DEVICE_NOT_MEDICAL")
    blank = {**STANDARDS_BODY, "category": {"code": "", "name": " "}}
    assert_problem(await client.post("/api/standards", json=blank), 400, "INVALID_CATEGORY")
    nd = {**STANDARDS_BODY, "category": {"code": "ND-WELLNESS", "name": "웰니스"}}
    assert_problem(await client.post("/api/standards", json=nd), 400, "INVALID_CATEGORY")
    r = await client.post("/api/refine", json={"planId": "plan_nope", "modifications": "x"})
    assert_problem(r, 404, "PLAN_NOT_FOUND")
    r = await client.post("/api/standards?session_id=sess_nope", json=STANDARDS_BODY)
    assert_problem(r, 404, "SESSION_NOT_FOUND")
    r = await client.post("/api/standards", json={**STANDARDS_BODY, "sessionId": "sess_nope"})
    assert_problem(r, 404, "SESSION_NOT_FOUND")


async def test_standards_with_a_session_are_listed_by_it(reg: Reg) -> None:
    _app, client = reg
    session = (await client.post("/api/sessions")).json()["id"]
    r = await client.post(f"/api/standards?session_id={session}", json=STANDARDS_BODY)
    assert r.status_code == 200
    assert {p["sessionId"] for p in r.json()["plans"]} == {session}
    listed = (await client.get("/api/plans", params={"session_id": session})).json()
    assert listed["count"] == 4
    assert [p["tier"] for p in listed["items"]] == [
        "fastest",
        "normal",
        "conservative",
        "innovative",
    ]


LONG = "가" * 2001
BAD_INPUT: list[tuple[str, Any]] = [
    ("/api/classify", {}),
    ("/api/classify", {"concept": ""}),
    ("/api/classify", {"concept": "   \n\t "}),
    ("/api/classify", {"concept": LONG}),
    ("/api/classify", {"concept": 123}),
    ("/api/classify", {"concept": ["CT"]}),
    ("/api/classify", {"concept": None}),
    ("/api/classify", {"concept": "ok", "context": 5}),
    ("/api/classify", []),
    ("/api/classify", "CT 영상"),
    ("/api/purpose", {"concept": "네"}),
    ("/api/purpose", {"concept": "", "category": "x"}),
    ("/api/purpose", {"concept": LONG, "category": "x"}),
    ("/api/purpose", {"concept": "네", "category": 7}),
    ("/api/purpose", {"concept": "네", "category": {"name": LONG}}),
    ("/api/standards", {}),
    ("/api/standards", {"classification": "yes", "category": LUNG_CATEGORY}),
    ("/api/standards", {"classification": {"isMedicalDevice": "maybe"}, "category": LUNG_CATEGORY}),
    (
        "/api/standards",
        {"classification": {"isMedicalDevice": True, "riskClass": "V"}, "category": LUNG_CATEGORY},
    ),
    ("/api/standards", {**STANDARDS_BODY, "category": "CADe"}),
    ("/api/standards", {**STANDARDS_BODY, "purposeMechanism": LONG}),
    (
        "/api/standards",
        {**STANDARDS_BODY, "classification": {"isMedicalDevice": True, "confidence": -1}},
    ),
    ("/api/refine", {"modifications": "x"}),
    ("/api/refine", {"planId": "", "modifications": "x"}),
    ("/api/refine", {"planId": 5, "modifications": "x"}),
    ("/api/refine", {"planId": "p" * 201, "modifications": "x"}),
    ("/api/refine", {"planId": "plan_x", "modifications": ""}),
    ("/api/refine", {"planId": "plan_x", "modifications": LONG}),
    ("/api/refine", {"planId": "plan_x", "modifications": "x", "context": "nope"}),
]


@pytest.mark.parametrize(("path", "body"), BAD_INPUT)
async def test_bad_input_is_a_400_problem_and_writes_nothing(
    reg: Reg, path: str, body: Any
) -> None:
    app, client = reg
    for prefix in ("", "/stream"):
        target = path if not prefix else path.replace("/api/", "/api/stream/")
        r = await client.post(target, json=body)
        problem = assert_problem(r, 400, "VALIDATION_ERROR")
        assert problem["details"] and {"field", "message", "type"} <= set(problem["details"][0])
        assert LONG not in r.text  # input is never echoed
    assert await _plans_stored(app).list_latest() == []


@pytest.mark.parametrize("path", ["/api/classify", "/api/purpose", "/api/standards", "/api/refine"])
async def test_malformed_and_non_json_bodies(reg: Reg, path: str) -> None:
    _app, client = reg
    r = await client.post(
        path, content=b'{"concept": ', headers={"content-type": "application/json"}
    )
    assert_problem(r, 400, "VALIDATION_ERROR")
    r = await client.post(path)
    assert_problem(r, 400, "VALIDATION_ERROR")
    r = await client.post(path, content=b"\xff\xfe", headers={"content-type": "application/json"})
    assert r.status_code == 400
    r = await client.post(path, content=b"concept=x", headers={"content-type": "text/plain"})
    assert r.status_code in (400, 415)


async def test_limits_and_unicode_are_accepted(reg: Reg) -> None:
    _app, client = reg
    r = await client.post("/api/classify", json={"concept": "가" * 2000})
    assert r.status_code == 200
    r = await client.post("/api/classify", json={"concept": "혈당 측정 🩸 앱 — glucose ✓"})
    assert r.status_code == 200
    r = await client.post("/api/classify", json={"concept": "x", "context": {"a": [1, {"b": "c"}]}})
    assert r.status_code == 200
    r = await client.post("/api/purpose", json={"concept": "y", "category": {"name": "혈압계"}})
    assert r.status_code == 200


async def test_huge_body_is_refused_before_parsing(reg: Reg) -> None:
    _app, client = reg
    r = await client.post("/api/classify", content=json.dumps({"concept": "x" * 2_000_000}))
    assert r.status_code == 413


async def test_cache_status_header_and_invalidation(reg: Reg, login: Login) -> None:
    _app, client = reg
    first = await client.post("/api/classify", json={"concept": "혈압을 측정하는 기기"})
    again = await client.post("/api/classify", json={"concept": "  혈압을  측정하는 기기\n"})
    assert first.headers["cache-status"] == "raidesk; fwd=miss; stored"
    assert again.headers["cache-status"] == "raidesk; hit"
    assert again.json()["classification"] == first.json()["classification"]
    stats = (await client.get("/api/cache/stats")).json()
    assert stats["hits"] == 1 and stats["misses"] == 1 and stats["size"] == 1

    assert_problem(await client.delete("/api/cache"), 401)
    user = await login("carol")
    assert_problem(await client.delete("/api/cache", headers=user), 403)
    admin = await login("admin")
    r = await client.delete("/api/cache", params={"prefix": "purpose"}, headers=admin)
    assert r.json() == {"prefix": "purpose", "deleted": 0}
    r = await client.delete("/api/cache", params={"prefix": "classify"}, headers=admin)
    assert r.json()["deleted"] == 1
    r = await client.delete("/api/cache", params={"prefix": "*"}, headers=admin)
    assert_problem(r, 400, "VALIDATION_ERROR")
    third = await client.post("/api/classify", json={"concept": "혈압을 측정하는 기기"})
    assert third.headers["cache-status"].startswith("raidesk; fwd=miss")


async def test_standards_from_cache_still_get_new_stored_plans(reg: Reg) -> None:
    app, client = reg
    one = await client.post("/api/standards", json=STANDARDS_BODY)
    two = await client.post("/api/standards", json=STANDARDS_BODY)
    assert two.headers["cache-status"] == "raidesk; hit"
    ids = {p["id"] for p in one.json()["plans"]} | {p["id"] for p in two.json()["plans"]}
    assert len(ids) == 8
    assert len(await _plans_stored(app).list_latest()) == 8


async def test_auth_required_needs_a_user(app_factory: Any) -> None:
    from .conftest import FAST_AUTH, USER_PASSWORD

    async with app_factory(auth_required=True, **FAST_AUTH) as (_app, client):
        for path, body in (
            ("/api/classify", {"concept": LUNG}),
            ("/api/stream/classify", {"concept": LUNG}),
            ("/api/purpose", {"concept": "네", "category": "x"}),
            ("/api/standards", STANDARDS_BODY),
            ("/api/refine", {"planId": "plan_x", "modifications": "y"}),
        ):
            assert_problem(await client.post(path, json=body), 401, "AUTHENTICATION_REQUIRED")
        assert_problem(await client.post("/api/sessions"), 401)
        await client.post(
            "/api/auth/register", json={"username": "dana", "password": USER_PASSWORD}
        )
        token = (
            await client.post(
                "/api/auth/login", json={"username": "dana", "password": USER_PASSWORD}
            )
        ).json()["access_token"]
        r = await client.post(
            "/api/classify", json={"concept": LUNG}, headers={"Authorization": f"Bearer {token}"}
        )
        assert r.status_code == 200
        r = await client.post(
            "/api/classify", json={"concept": LUNG}, headers={"Authorization": "Bearer garbage"}
        )
        assert r.status_code == 401


@pytest.mark.parametrize("depth", [40, 900, 5000])
async def test_deeply_nested_input_is_a_400(reg: Reg, depth: int) -> None:
    _app, client = reg
    nested = "[" * depth + "]" * depth
    standards = json.dumps({**STANDARDS_BODY, "purposeMechanism": {"a": "NESTED"}})
    for path, raw in (
        ("/api/classify", json.dumps({"concept": "x", "context": {"a": "NESTED"}})),
        ("/api/standards", standards),
    ):
        raw = raw.replace('"NESTED"', nested)
        r = await client.post(path, content=raw, headers={"content-type": "application/json"})
        assert_problem(r, 400, "VALIDATION_ERROR")
        r = await client.post(
            path.replace("/api/", "/api/stream/"),
            content=raw,
            headers={"content-type": "application/json"},
        )
        if r.status_code == 400:
            # The body ran the JSON parser out of stack before the route could start its
            # stream (how deep that is depends on the stack: under coverage's tracer, 900 is).
            assert_problem(r, 400, "VALIDATION_ERROR")
            assert depth > 100
            continue
        assert r.status_code == 200
        assert '"code":"VALIDATION_ERROR"' in r.text and r.text.endswith("data: [DONE]\n\n")
