"""The batch tracker API as the CS-system seed (003) writes it, over HTTP: its seven endpoints,
its response fields and its states, beside the fields this API had before; uploads (CSV, JSONL)
and downloads (CSV, JSONL) of results; statistics per user and for admins."""

from __future__ import annotations

import csv
import io
import json
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import httpx
import pytest

from tests.conftest import AppFactory
from tests.support.regulatory_samples import LUNG
from tests.unit.commerce.shop_helpers import ADMIN, header_principal, user

pytestmark = pytest.mark.unit
FAST: dict[str, Any] = {"argon2_time_cost": 1, "argon2_memory_cost": 1024}
SEED_STATES = {"pending", "running", "paused", "completed", "failed", "cancelled"}
ALICE, BOB = user("alice"), user("bob")
CONCEPTS = [LUNG, "Step counter app for daily fitness goals", "Implantable cardiac pacemaker"]


@asynccontextmanager
async def served(app_factory: AppFactory, **overrides: Any) -> AsyncIterator[httpx.AsyncClient]:
    """An app whose callers are named by X-Test-User (`alice`, `root:admin`)."""
    settings = {**FAST, "batch_heartbeat_s": 0.05, "batch_poll_s": 0.05, **overrides}
    async with app_factory(**settings) as (app, client):
        app.state.principal_resolver = header_principal
        yield client


async def until_done(client: httpx.AsyncClient, job_id: str, headers: dict[str, str]) -> None:
    """Follow the job's event stream until it is finished (no polling, no sleeps)."""
    path = f"/api/batch/jobs/{job_id}/events"
    async with client.stream("GET", path, headers=headers) as response:
        assert response.status_code == 200
        async for line in response.aiter_lines():
            if line == "data: [DONE]":
                return
    raise AssertionError("the stream ended without [DONE]")


def assert_problem(response: httpx.Response, status: int, code: str) -> dict[str, Any]:
    assert response.status_code == status, response.text
    assert response.headers["content-type"].startswith("application/problem+json")
    body: dict[str, Any] = response.json()
    assert body["code"] == code and body["status"] == status, body
    return body


def assert_seed_shape(job: dict[str, Any]) -> None:
    """The seed's response example, field by field."""
    assert isinstance(job["job_id"], str) and job["job_id"] == job["id"]
    assert job["status"] in SEED_STATES
    assert 0 <= job["progress_percent"] <= 100
    for name in ("processed_items", "failed_items", "total_items"):
        assert isinstance(job[name], int)
    assert set(job["timing"]) >= {"elapsed_seconds", "eta_seconds", "eta_formatted"}
    assert "success_rate" in job["statistics"]


async def test_a_client_written_from_the_seed_follows_a_job_to_its_results(
    app_factory: AppFactory,
) -> None:
    async with served(app_factory) as api:
        body = {
            "kind": "classify",
            "items": [{"ref": f"SKU-{n}", "concept": c} for n, c in enumerate(CONCEPTS)],
        }
        created = await api.post("/api/batch/jobs", json=body, headers=ALICE)
        assert created.status_code == 202, created.text
        job_id = created.json()["job_id"]
        assert_seed_shape(created.json())
        await until_done(api, job_id, ALICE)

        job = (await api.get(f"/api/batch/jobs/{job_id}", headers=ALICE)).json()
        assert_seed_shape(job)
        assert (job["status"], job["progress_percent"]) == ("completed", 100.0)
        assert (job["processed_items"], job["failed_items"], job["total_items"]) == (3, 0, 3)
        assert job["statistics"]["success_rate"] == 1.0
        assert job["timing"]["eta_seconds"] is None and job["timing"]["elapsed_seconds"] >= 0
        # The fields this API had before stay beside the seed's.
        assert (job["processed"], job["succeeded"], job["total"], job["progress"]) == (3, 3, 3, 1.0)

        listed = (await api.get("/api/batch/jobs", headers=ALICE)).json()["items"]
        assert [j["job_id"] for j in listed] == [job_id]

        results = await api.get(f"/api/batch/jobs/{job_id}/results", headers=ALICE)
        assert results.status_code == 200, results.text
        page = results.json()
        assert (page["job_id"], page["status"], page["total_items"]) == (job_id, "completed", 3)
        rows = page["results"]
        assert [(r["item_id"], r["ref"], r["success"]) for r in rows] == [
            (0, "SKU-0", True),
            (1, "SKU-1", True),
            (2, "SKU-2", True),
        ]
        classify = await api.post("/api/classify", json={"concept": CONCEPTS[0]})
        assert rows[0]["result"] == classify.json()

        # The seed's stats endpoint: the caller's own jobs.
        stats = (await api.get("/api/batch/stats", headers=ALICE)).json()
        assert stats["scope"] == "mine" and stats["total_jobs"] == 1
        assert stats["jobs_by_status"]["completed"] == 1
        assert (stats["processed_items"], stats["success_rate"]) == (3, 1.0)
        assert stats["average_duration_seconds"] is not None

        # Another user sees none of it: 404 like a missing job, and empty stats.
        assert_problem(
            await api.get(f"/api/batch/jobs/{job_id}/results", headers=BOB),
            404,
            "BATCH_JOB_NOT_FOUND",
        )
        assert_problem(
            await api.get(f"/api/batch/jobs/{job_id}/results?format=csv", headers=BOB),
            404,
            "BATCH_JOB_NOT_FOUND",
        )
        bob_stats = (await api.get("/api/batch/stats", headers=BOB)).json()
        assert bob_stats["total_jobs"] == 0 and bob_stats["success_rate"] is None
        assert_problem(
            await api.get("/api/batch/stats?scope=all", headers=BOB), 403, "PERMISSION_DENIED"
        )
        admin_stats = (await api.get("/api/batch/stats", headers=ADMIN)).json()
        assert (admin_stats["scope"], admin_stats["total_jobs"]) == ("all", 1)
        assert (await api.get("/api/batch/stats")).status_code == 401


async def test_pending_is_the_seed_state_and_queued_its_old_name_in_filters(
    app_factory: AppFactory,
) -> None:
    async with served(app_factory, batch_workers=0) as api:
        created = await api.post(
            "/api/batch/jobs",
            json={"kind": "classify", "items": [{"concept": LUNG}]},
            headers=ALICE,
        )
        job_id = created.json()["job_id"]
        assert created.json()["status"] == "pending"
        for name in ("pending", "queued"):
            listed = await api.get(f"/api/batch/jobs?status={name}", headers=ALICE)
            assert [j["job_id"] for j in listed.json()["items"]] == [job_id]
        assert (await api.get("/api/batch/jobs?status=running", headers=ALICE)).json()[
            "items"
        ] == []
        assert_problem(
            await api.get("/api/batch/jobs?status=waiting", headers=ALICE), 400, "VALIDATION_ERROR"
        )
        for verb, state in (("pause", "paused"), ("resume", "pending"), ("cancel", "cancelled")):
            moved = await api.post(f"/api/batch/jobs/{job_id}/{verb}", headers=ALICE)
            assert moved.status_code == 200 and moved.json()["status"] == state
        page = (await api.get(f"/api/batch/jobs/{job_id}/results", headers=ALICE)).json()
        assert [(r["status"], r["success"]) for r in page["results"]] == [("cancelled", None)]
        stats = (await api.get("/api/batch/stats", headers=ALICE)).json()
        assert stats["jobs_by_status"] == {
            "pending": 0,
            "running": 0,
            "paused": 0,
            "completed": 0,
            "cancelled": 1,
            "failed": 0,
        }


def csv_upload(rows: list[str], name: str = "items.csv") -> dict[str, Any]:
    return {"file": (name, ("\n".join(rows) + "\n").encode(), "text/csv")}


async def test_an_upload_queues_a_row_per_item_and_results_download_as_csv_and_jsonl(
    app_factory: AppFactory,
) -> None:
    async with served(app_factory) as api:
        rows = ["ref,concept,context"]
        rows += [f'SKU-{n},"{c}",' for n, c in enumerate(CONCEPTS)]
        rows += ["SKU-3,x,"]  # too short a concept for classify? it is valid input; may fail
        created = await api.post(
            "/api/batch/jobs/upload",
            data={"kind": "classify", "name": "catalogue"},
            files=csv_upload(rows),
            headers=ALICE,
        )
        assert created.status_code == 202, created.text
        job = created.json()
        assert (job["total_items"], job["name"], job["status"]) == (4, "catalogue", "pending")
        assert created.headers["location"] == f"/api/batch/jobs/{job['job_id']}"
        await until_done(api, job["job_id"], ALICE)
        done = (await api.get(f"/api/batch/jobs/{job['job_id']}", headers=ALICE)).json()
        assert done["processed_items"] == 4

        base = f"/api/batch/jobs/{job['job_id']}/results"
        download = await api.get(f"{base}?format=csv", headers=ALICE)
        assert download.status_code == 200
        assert download.headers["content-type"].startswith("text/csv")
        assert "attachment" in download.headers["content-disposition"]
        table = list(csv.DictReader(io.StringIO(download.text)))
        assert [r["ref"] for r in table] == ["SKU-0", "SKU-1", "SKU-2", "SKU-3"]
        assert [int(r["item_id"]) for r in table] == [0, 1, 2, 3]
        succeeded = [r for r in table if r["success"] == "true"]
        assert all(json.loads(r["result"])["provider"] for r in succeeded)

        lines = (await api.get(f"{base}?format=jsonl", headers=ALICE)).text.splitlines()
        assert [json.loads(line)["ref"] for line in lines] == ["SKU-0", "SKU-1", "SKU-2", "SKU-3"]
        only_ok = (await api.get(f"{base}?format=jsonl&outcome=succeeded", headers=ALICE)).text
        assert len(only_ok.splitlines()) == len(succeeded) == done["succeeded"]
        both = await api.get(f"{base}?outcome=succeeded&outcome=failed", headers=ALICE)
        assert len(both.json()["results"]) == 4
        paged = await api.get(
            f"{base}?outcome=succeeded&outcome=failed&offset=1&limit=2", headers=ALICE
        )
        assert [r["item_id"] for r in paged.json()["results"]] == [1, 2]
        assert_problem(await api.get(f"{base}?outcome=won", headers=ALICE), 400, "VALIDATION_ERROR")
        assert_problem(await api.get(f"{base}?format=xml", headers=ALICE), 400, "VALIDATION_ERROR")

        jsonl = "\n".join(
            json.dumps({"ref": f"J{n}", "concept": c}) for n, c in enumerate(CONCEPTS)
        )
        created = await api.post(
            "/api/batch/jobs/upload",
            data={"kind": "classify"},
            files={"file": ("items.jsonl", jsonl.encode(), "application/octet-stream")},
            headers=ALICE,
        )
        assert created.status_code == 202, created.text
        assert created.json()["total_items"] == 3

        array = json.dumps([{"ref": f"A{n}", "concept": c} for n, c in enumerate(CONCEPTS)])
        created = await api.post(
            "/api/batch/jobs/upload",
            data={"kind": "classify"},
            files={"file": ("items.json", array.encode(), "application/json")},
            headers=ALICE,
        )
        assert created.status_code == 202, created.text
        assert created.json()["total_items"] == 3
        await until_done(api, created.json()["job_id"], ALICE)
        page = await api.get(f"/api/batch/jobs/{created.json()['job_id']}/results", headers=ALICE)
        assert [r["ref"] for r in page.json()["results"]] == ["A0", "A1", "A2"]


async def test_a_bad_row_names_its_line_and_nothing_is_queued(app_factory: AppFactory) -> None:
    async with served(app_factory, batch_workers=0, batch_upload_max_items=3) as api:
        cases: list[tuple[dict[str, Any], dict[str, Any], int | None]] = [
            # (form fields, files, the line a 400 names)
            ({"kind": "classify"}, csv_upload(["ref,concept", "a,ok concept", "b,"]), 3),
            ({"kind": "classify"}, csv_upload(["ref,concept", "a,one", "b,two,three"]), 3),
            ({"kind": "classify"}, csv_upload(["ref,concept,colour", "a,ok,red"]), 2),
            ({"kind": "classify"}, csv_upload(["ref,ref", "a,b"]), 1),
            (
                {"kind": "classify"},
                {"file": ("x.jsonl", b'{"concept": "fine"}\n[1]\n', "text/plain")},
                2,
            ),
            (
                {"kind": "classify"},
                {"file": ("x.jsonl", b'{"concept": "fine"}\n{"concept": \n', "text/plain")},
                2,
            ),
            ({"kind": "classify"}, {"file": ("x.csv", b"concept\n\xff\xfe\n", "text/csv")}, 2),
            ({"kind": "purpose"}, csv_upload(["concept", "no category"]), 2),
            (
                {"kind": "classify"},
                {"file": ("x.json", b'[\n{"concept": "a"},\n{"concept": ""}\n]', "text/plain")},
                3,
            ),
            ({"kind": "classify"}, {"file": ("x.json", b'{"concept": "a"}', "text/plain")}, 1),
            ({"kind": "classify"}, csv_upload(["concept", "a", "b", "c", "d"]), None),
            ({"kind": "classify"}, csv_upload(["concept"]), None),
            ({"kind": "tidy"}, csv_upload(["concept", "a"]), None),
            ({"kind": "classify"}, {"file": ("x.txt", b"concept\na\n", "text/plain")}, None),
            ({}, csv_upload(["concept", "a"]), None),
        ]
        for form, files, line in cases:
            response = await api.post(
                "/api/batch/jobs/upload", data=form, files=files, headers=ALICE
            )
            body = assert_problem(response, 400, "VALIDATION_ERROR")
            if line is not None:
                assert body["details"][0]["line"] == line, (form, files, body)
                assert f"Line {line}" in body["detail"]
        listed = (await api.get("/api/batch/jobs", headers=ALICE)).json()["items"]
        assert listed == []
        assert (
            await api.post(
                "/api/batch/jobs/upload",
                files=csv_upload(["concept", "a"]),
                data={"kind": "classify"},
            )
        ).status_code == 401


async def test_limits_per_user_and_across_users_refuse_an_upload(
    app_factory: AppFactory,
) -> None:
    async with served(
        app_factory, batch_workers=0, batch_max_backlog=3, batch_max_active_jobs=1
    ) as api:
        ok = await api.post(
            "/api/batch/jobs/upload",
            data={"kind": "classify"},
            files=csv_upload(["concept", "a", "b"]),
            headers=ALICE,
        )
        assert ok.status_code == 202, ok.text
        assert_problem(
            await api.post(
                "/api/batch/jobs/upload",
                data={"kind": "classify"},
                files=csv_upload(["concept", "a"]),
                headers=ALICE,
            ),
            429,
            "BATCH_ACTIVE_LIMIT",
        )
        body = assert_problem(
            await api.post(
                "/api/batch/jobs/upload",
                data={"kind": "classify"},
                files=csv_upload(["concept", "a", "b"]),
                headers=BOB,
            ),
            429,
            "BATCH_BACKLOG_FULL",
        )
        assert body["details"] == {"limit": 3}
        assert_problem(
            await api.post(
                "/api/batch/jobs",
                json={"kind": "classify", "items": [{"concept": "a"}, {"concept": "b"}]},
                headers=BOB,
            ),
            429,
            "BATCH_BACKLOG_FULL",
        )
        assert (await api.get("/api/batch/jobs", headers=BOB)).json()["items"] == []


async def test_an_upload_may_exceed_max_body_bytes_but_not_its_own_limit(
    app_factory: AppFactory,
) -> None:
    async with served(
        app_factory, batch_workers=0, max_body_bytes=2048, batch_upload_max_bytes=8192
    ) as api:
        rows = ["concept"] + [f"concept number {n}" for n in range(200)]  # ~4 KB
        ok = await api.post(
            "/api/batch/jobs/upload",
            data={"kind": "classify"},
            files=csv_upload(rows),
            headers=ALICE,
        )
        assert ok.status_code == 202, ok.text
        assert ok.json()["total_items"] == 200
        rows = ["concept"] + [f"concept number {n}" for n in range(600)]  # ~12 KB
        assert_problem(
            await api.post(
                "/api/batch/jobs/upload",
                data={"kind": "classify"},
                files=csv_upload(rows),
                headers=ALICE,
            ),
            413,
            "PAYLOAD_TOO_LARGE",
        )


async def test_uploads_share_the_batch_creation_rate_limit(app_factory: AppFactory) -> None:
    async with served(
        app_factory,
        batch_workers=0,
        rate_limit_enabled=True,
        rate_limit_batch="2/minute",
        batch_max_active_jobs=10,
    ) as api:
        json_job = {"kind": "classify", "items": [{"concept": "a"}]}
        assert (await api.post("/api/batch/jobs", json=json_job, headers=ALICE)).status_code == 202
        upload = await api.post(
            "/api/batch/jobs/upload",
            data={"kind": "classify"},
            files=csv_upload(["concept", "a"]),
            headers=ALICE,
        )
        assert upload.status_code == 202, upload.text
        limited = await api.post(
            "/api/batch/jobs/upload",
            data={"kind": "classify"},
            files=csv_upload(["concept", "a"]),
            headers=ALICE,
        )
        assert limited.status_code == 429
        assert len((await api.get("/api/batch/jobs", headers=ALICE)).json()["items"]) == 2


async def test_a_restock_upload_adds_stock_through_the_commerce_service(
    app_factory: AppFactory,
) -> None:
    async with served(app_factory, reconcile_interval_s=0) as api:
        created = await api.post(
            "/api/products",
            json={"name": "Blood pressure cuff", "price": "19.99", "initial_stock": 10},
            headers=ADMIN,
        )
        assert created.status_code == 201, created.text
        product_id = created.json()["id"]
        rows = ["product_id,quantity,ref", f"{product_id},5,dock-A", "999999,3,missing"]
        assert_problem(
            await api.post(
                "/api/batch/jobs/upload",
                data={"kind": "restock"},
                files=csv_upload(rows),
                headers=ALICE,
            ),
            403,
            "PERMISSION_DENIED",
        )
        body = assert_problem(
            await api.post(
                "/api/batch/jobs/upload",
                data={"kind": "restock"},
                files=csv_upload(["product_id,quantity", f"{product_id},0"]),
                headers=ADMIN,
            ),
            400,
            "VALIDATION_ERROR",
        )
        assert body["details"][0]["line"] == 2
        job = await api.post(
            "/api/batch/jobs/upload",
            data={"kind": "restock"},
            files=csv_upload(rows),
            headers=ADMIN,
        )
        assert job.status_code == 202, job.text
        await until_done(api, job.json()["job_id"], ADMIN)
        page = (
            await api.get(f"/api/batch/jobs/{job.json()['job_id']}/results", headers=ADMIN)
        ).json()
        assert [(r["ref"], r["success"], r["error_code"]) for r in page["results"]] == [
            ("dock-A", True, None),
            ("missing", False, "PRODUCT_NOT_FOUND"),
        ]
        assert page["results"][0]["result"]["stock"] == 15
        inventory = await api.get(f"/api/inventory/{product_id}", headers=ADMIN)
        assert (inventory.json()["stock"], inventory.json()["restocked"]) == (15, 5)


STANDARDS_ITEM = {
    "ref": "lung",
    "classification": {"isMedicalDevice": True, "riskClass": "II", "category": "폐결절 CADe"},
    "category": {
        "code": "SW-CADE-LUNG",
        "name": "의료영상 검출보조 소프트웨어 (폐결절 CADe)",
        "description": "CT 영상에서 폐결절 후보를 표시해 판독을 보조",
        "regulatoryPath": "MFDS 2등급 기술문서 심사 · FDA 510(k)",
    },
    "purposeMechanism": "딥러닝 기반 폐결절 검출 보조",
}


async def test_standards_then_refine_jobs_store_plans_as_the_owner(
    app_factory: AppFactory,
) -> None:
    async with served(app_factory) as api:
        job = await api.post(
            "/api/batch/jobs", json={"kind": "standards", "items": [STANDARDS_ITEM]}, headers=ALICE
        )
        assert job.status_code == 202, job.text
        await until_done(api, job.json()["job_id"], ALICE)
        page = await api.get(f"/api/batch/jobs/{job.json()['job_id']}/results", headers=ALICE)
        (row,) = page.json()["results"]
        assert row["success"] is True and row["attempts"] == 1, row
        plan_id = row["result"]["plans"][0]["id"]

        change = {"ref": "shorter", "planId": plan_id, "modifications": "임상시험 기간을 줄여줘"}
        for who, expected in ((BOB, (False, "PLAN_NOT_FOUND")), (ALICE, (True, None))):
            job = await api.post(
                "/api/batch/jobs", json={"kind": "refine", "items": [change]}, headers=who
            )
            assert job.status_code == 202, job.text
            await until_done(api, job.json()["job_id"], who)
            page = await api.get(f"/api/batch/jobs/{job.json()['job_id']}/results", headers=who)
            (row,) = page.json()["results"]
            assert (row["success"], row["error_code"]) == expected, row
        assert row["result"]["plan"]["id"] == plan_id
        assert row["result"]["plan"]["version"] == 2
