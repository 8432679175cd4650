"""Batch jobs over HTTP, in-process with the lifespan's own runner: the whole flow, owners,
states, idempotency, limits and bad input (problem bodies, nothing written)."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest

from tests.conftest import AppFactory
from tests.support.regulatory_samples import LUNG, LUNG_CATEGORY, USER_PASSWORD

pytestmark = pytest.mark.unit
FAST_AUTH: dict[str, Any] = {"argon2_time_cost": 1, "argon2_memory_cost": 1024}
CONCEPTS = [
    LUNG,
    "Step counter app for daily fitness goals",
    "Implantable cardiac pacemaker with remote monitoring",
]


async def login(client: httpx.AsyncClient, username: str) -> dict[str, str]:
    """Register `username` and log in: the Authorization header."""
    r = await client.post(
        "/api/auth/register", json={"username": username, "password": USER_PASSWORD}
    )
    assert r.status_code == 201, r.text
    r = await client.post("/api/auth/login", json={"username": username, "password": USER_PASSWORD})
    assert r.status_code == 200, r.text
    return {"Authorization": f"Bearer {r.json()['access_token']}"}


def assert_problem(response: httpx.Response, status: int, code: str) -> dict[str, Any]:
    assert response.status_code == status, response.text
    assert response.headers["content-type"].startswith("application/problem+json")
    body: dict[str, Any] = response.json()
    assert body["code"] == code and body["status"] == status, body
    return body


async def events(client: httpx.AsyncClient, path: str, headers: dict[str, str]) -> list[Any]:
    """Every event of an SSE stream, up to [DONE]."""
    out: list[Any] = []
    async with client.stream("GET", path, headers=headers) as response:
        assert response.status_code == 200
        assert response.headers["content-type"].startswith("text/event-stream")
        async for line in response.aiter_lines():
            if line.startswith("data: "):
                data = line.removeprefix("data: ")
                out.append("[DONE]" if data == "[DONE]" else json.loads(data))
    return out


@pytest.fixture
async def api(app_factory: AppFactory) -> AsyncIterator[httpx.AsyncClient]:
    """A client of an app whose runner polls often (jobs start at once anyway: a wake)."""
    async with app_factory(**FAST_AUTH, batch_heartbeat_s=0.05, batch_poll_s=0.05) as (_, client):
        yield client


@pytest.fixture
async def idle_api(app_factory: AppFactory) -> AsyncIterator[httpx.AsyncClient]:
    """No workers in this process: jobs stay queued, so states can be driven by hand."""
    async with app_factory(**FAST_AUTH, batch_workers=0, batch_max_active_jobs=2) as (_, client):
        yield client


async def test_a_classify_job_runs_and_each_result_is_what_classify_answers(
    api: httpx.AsyncClient,
) -> None:
    alice = await login(api, "alice")
    body = {
        "kind": "classify",
        "name": "catalogue",
        "items": [{"ref": f"SKU-{i}", "concept": c} for i, c in enumerate(CONCEPTS)],
    }
    created = await api.post("/api/batch/jobs", json=body, headers=alice)
    assert created.status_code == 202, created.text
    job = created.json()
    assert created.headers["location"] == f"/api/batch/jobs/{job['id']}"
    assert (job["kind"], job["name"], job["total"]) == ("classify", "catalogue", 3)

    stream = await events(api, f"/api/batch/jobs/{job['id']}/events", alice)
    assert stream[-1] == "[DONE]" and stream[-2]["type"] == "done"
    assert all(e["type"] == "progress" for e in stream[:-2])
    done = stream[-2]["job"]
    assert (done["status"], done["processed"], done["succeeded"], done["progress"]) == (
        "completed",
        3,
        3,
        1.0,
    )
    assert done["eta_s"] is None and done["finished_at"] is not None

    page = await api.get(f"/api/batch/jobs/{job['id']}/items", headers=alice)
    assert page.status_code == 200
    items = page.json()["items"]
    assert [i["ref"] for i in items] == ["SKU-0", "SKU-1", "SKU-2"]
    for item, concept in zip(items, CONCEPTS, strict=True):
        direct = await api.post("/api/classify", json={"concept": concept})
        assert item["status"] == "succeeded" and item["error"] is None
        assert item["input"] == {"concept": concept, "context": None}
        assert item["result"] == direct.json()
    assert items[1]["result"]["classification"]["isMedicalDevice"] is False
    assert items[2]["result"]["classification"]["riskClass"] in ("III", "IV")

    listed = await api.get("/api/batch/jobs?status=completed", headers=alice)
    assert [j["id"] for j in listed.json()["items"]] == [job["id"]]


async def test_a_purpose_job_answers_like_purpose(api: httpx.AsyncClient) -> None:
    bob = await login(api, "bob")
    item = {"concept": "네", "category": LUNG_CATEGORY}
    created = await api.post(
        "/api/batch/jobs", json={"kind": "purpose", "items": [item]}, headers=bob
    )
    assert created.status_code == 202, created.text
    job_id = created.json()["id"]
    await events(api, f"/api/batch/jobs/{job_id}/events", bob)
    result = (await api.get(f"/api/batch/jobs/{job_id}/items", headers=bob)).json()["items"][0]
    direct = await api.post("/api/purpose", json=item)
    assert result["result"] == direct.json() and result["result"]["intendedUse"]


async def test_jobs_are_their_owners_alone(api: httpx.AsyncClient) -> None:
    alice, mallory = await login(api, "alice"), await login(api, "mallory")
    created = await api.post(
        "/api/batch/jobs", json={"kind": "classify", "items": [{"concept": LUNG}]}, headers=alice
    )
    job_id = created.json()["id"]
    base = f"/api/batch/jobs/{job_id}"
    for method, path in (
        ("GET", base),
        ("GET", base + "/items"),
        ("GET", base + "/events"),
        ("POST", base + "/pause"),
        ("POST", base + "/resume"),
        ("POST", base + "/cancel"),
        ("DELETE", base),
    ):
        assert_problem(await api.request(method, path, headers=mallory), 404, "BATCH_JOB_NOT_FOUND")
        assert_problem(await api.request(method, path), 401, "AUTHENTICATION_REQUIRED")
    assert (await api.get("/api/batch/jobs", headers=mallory)).json()["items"] == []
    forged = {"Authorization": alice["Authorization"][:-4] + "AAAA"}  # signature no longer fits
    assert_problem(await api.get(base, headers=forged), 401, "AUTHENTICATION_REQUIRED")
    assert_problem(await api.get("/api/batch/jobs"), 401, "AUTHENTICATION_REQUIRED")
    assert_problem(
        await api.post("/api/batch/jobs", json={"kind": "classify", "items": [{"concept": "x"}]}),
        401,
        "AUTHENTICATION_REQUIRED",
    )
    assert (await api.get(base, headers=alice)).status_code == 200


async def test_pause_resume_cancel_and_delete_follow_the_job_states(
    idle_api: httpx.AsyncClient,
) -> None:
    alice = await login(idle_api, "alice")
    created = await idle_api.post(
        "/api/batch/jobs", json={"kind": "classify", "items": [{"concept": LUNG}]}, headers=alice
    )
    base = f"/api/batch/jobs/{created.json()['id']}"
    assert created.json()["status"] == "pending"  # stored as queued; the API says pending

    async def act(verb: str) -> httpx.Response:
        return await idle_api.post(f"{base}/{verb}", headers=alice)

    assert (await act("pause")).json()["status"] == "paused"
    body = assert_problem(await act("pause"), 409, "BATCH_JOB_STATE")
    assert body["details"] == {"status": "paused"}
    assert (await act("resume")).json()["status"] == "pending"
    assert_problem(await act("resume"), 409, "BATCH_JOB_STATE")
    assert_problem(await idle_api.delete(base, headers=alice), 409, "BATCH_JOB_STATE")
    cancelled = (await act("cancel")).json()
    assert (cancelled["status"], cancelled["cancelled"]) == ("cancelled", 1)
    assert cancelled["finished_at"] is not None
    items = (await idle_api.get(f"{base}/items", headers=alice)).json()["items"]
    assert [i["status"] for i in items] == ["cancelled"]
    for verb in ("pause", "resume", "cancel"):
        assert_problem(await act(verb), 409, "BATCH_JOB_STATE")
    assert (await idle_api.delete(base, headers=alice)).status_code == 204
    assert_problem(await idle_api.get(base, headers=alice), 404, "BATCH_JOB_NOT_FOUND")


async def test_an_idempotency_key_creates_one_job(idle_api: httpx.AsyncClient) -> None:
    alice = await login(idle_api, "alice")
    body = {"kind": "classify", "items": [{"concept": LUNG}]}
    keyed = {**alice, "Idempotency-Key": "import-2026-01-15"}
    first = await idle_api.post("/api/batch/jobs", json=body, headers=keyed)
    again = await idle_api.post("/api/batch/jobs", json=body, headers=keyed)
    assert (first.status_code, again.status_code) == (202, 200)
    assert again.json()["id"] == first.json()["id"]
    assert again.headers["idempotent-replayed"] == "true"
    other = {**body, "name": "something else"}
    assert_problem(
        await idle_api.post("/api/batch/jobs", json=other, headers=keyed),
        422,
        "IDEMPOTENCY_KEY_REUSED",
    )
    assert_problem(
        await idle_api.post(
            "/api/batch/jobs", json=body, headers={**alice, "Idempotency-Key": "has space"}
        ),
        400,
        "INVALID_IDEMPOTENCY_KEY",
    )
    assert len((await idle_api.get("/api/batch/jobs", headers=alice)).json()["items"]) == 1


async def test_unfinished_jobs_per_user_are_limited(idle_api: httpx.AsyncClient) -> None:
    alice, bob = await login(idle_api, "alice"), await login(idle_api, "bob")
    body = {"kind": "classify", "items": [{"concept": LUNG}]}
    ids = [
        (await idle_api.post("/api/batch/jobs", json=body, headers=alice)).json()["id"]
        for _ in range(2)
    ]
    assert_problem(
        await idle_api.post("/api/batch/jobs", json=body, headers=alice), 429, "BATCH_ACTIVE_LIMIT"
    )
    assert (await idle_api.post("/api/batch/jobs", json=body, headers=bob)).status_code == 202
    await idle_api.post(f"/api/batch/jobs/{ids[0]}/cancel", headers=alice)
    assert (await idle_api.post("/api/batch/jobs", json=body, headers=alice)).status_code == 202


@pytest.mark.parametrize(
    ("payload", "field"),
    [
        ({"kind": "classify", "items": []}, "classify.items"),
        ({"kind": "classify"}, "classify.items"),
        ({"kind": "translate", "items": [{"concept": "x"}]}, "kind"),
        ({"items": [{"concept": "x"}]}, "kind"),
        ({"kind": "classify", "items": "CT scanner"}, "classify.items"),
        ({"kind": "classify", "items": [{}]}, "classify.items.0.concept"),
        ({"kind": "classify", "items": [{"concept": "   "}]}, "classify.items.0.concept"),
        ({"kind": "classify", "items": [{"concept": 42}]}, "classify.items.0.concept"),
        ({"kind": "classify", "items": [{"concept": "x" * 2001}]}, "classify.items.0.concept"),
        ({"kind": "classify", "items": [{"concept": "x", "price": 1}]}, "classify.items.0.price"),
        ({"kind": "classify", "items": [{"concept": "x", "ref": ""}]}, "classify.items.0.ref"),
        ({"kind": "classify", "items": [{"concept": "x"}], "name": ""}, "classify.name"),
        ({"kind": "classify", "items": [{"concept": "x"}], "owner_id": "u"}, "classify.owner_id"),
        ({"kind": "purpose", "items": [{"concept": "x"}]}, "purpose.items.0.category"),
        (["kind", "classify"], "body"),
    ],
)
async def test_bad_bodies_get_a_400_and_create_nothing(
    idle_api: httpx.AsyncClient, payload: Any, field: str
) -> None:
    alice = await login(idle_api, "alice")
    body = assert_problem(
        await idle_api.post("/api/batch/jobs", json=payload, headers=alice), 400, "VALIDATION_ERROR"
    )
    assert field in [d["field"] for d in body["details"]], body["details"]
    assert (await idle_api.get("/api/batch/jobs", headers=alice)).json()["items"] == []


async def test_too_many_items_malformed_json_and_bad_queries_get_a_400(
    app_factory: AppFactory,
) -> None:
    async with app_factory(**FAST_AUTH, batch_workers=0, batch_max_items=3) as (_, client):
        alice = await login(client, "alice")
        four = {"kind": "classify", "items": [{"concept": f"c{i}"} for i in range(4)]}
        body = assert_problem(
            await client.post("/api/batch/jobs", json=four, headers=alice), 400, "VALIDATION_ERROR"
        )
        assert body["details"][0]["field"] == "items" and "3" in body["detail"]
        assert_problem(
            await client.post(
                "/api/batch/jobs",
                content=b'{"kind": "classify", "items": [',
                headers={**alice, "content-type": "application/json"},
            ),
            400,
            "VALIDATION_ERROR",
        )
        for query in ("limit=0", "limit=-1", "limit=501", "offset=-5", "status=done", "limit=ten"):
            assert_problem(
                await client.get(f"/api/batch/jobs?{query}", headers=alice), 400, "VALIDATION_ERROR"
            )
        assert_problem(
            await client.get("/api/batch/jobs/" + "j" * 65, headers=alice), 400, "VALIDATION_ERROR"
        )
        assert_problem(
            await client.get("/api/batch/jobs/job_nope/items?status=lost", headers=alice),
            400,
            "VALIDATION_ERROR",
        )
        assert (await client.get("/api/batch/jobs", headers=alice)).json()["items"] == []


async def test_creating_jobs_is_rate_limited_per_user(app_factory: AppFactory) -> None:
    async with app_factory(
        **FAST_AUTH, batch_workers=0, rate_limit_enabled=True, rate_limit_batch="2/minute"
    ) as (_, client):
        alice = await login(client, "alice")
        body = {"kind": "classify", "items": [{"concept": LUNG}]}
        statuses = [
            (await client.post("/api/batch/jobs", json=body, headers=alice)).status_code
            for _ in range(3)
        ]
        assert statuses == [202, 202, 429]
        assert len((await client.get("/api/batch/jobs", headers=alice)).json()["items"]) == 2


async def test_the_batch_routes_are_documented(api: httpx.AsyncClient) -> None:
    paths = (await api.get("/openapi.json")).json()["paths"]
    assert {
        "/api/batch/jobs",
        "/api/batch/jobs/{job_id}",
        "/api/batch/jobs/{job_id}/items",
        "/api/batch/jobs/{job_id}/pause",
        "/api/batch/jobs/{job_id}/resume",
        "/api/batch/jobs/{job_id}/cancel",
        "/api/batch/jobs/{job_id}/events",
    } <= set(paths)
    create = paths["/api/batch/jobs"]["post"]
    assert create["summary"] == "Queue a batch job" and create["description"]
