"""Every not-found problem names what was missing: `details: {"resource", "id"}` over real HTTP
(uvicorn, SQLite), for each kind of resource a client can ask for by id."""

from __future__ import annotations

from collections.abc import Callable

import httpx
import pytest

from tests.support.regulatory_samples import PLAN_BODY
from tests.support.servers import LiveServer

pytestmark = [pytest.mark.integration, pytest.mark.slow]

ADMIN = {"ADMIN_USERNAME": "root", "ADMIN_PASSWORD": "admin pass phrase 2026"}


def bearer(http: httpx.Client, username: str, password: str) -> dict[str, str]:
    token = http.post("/api/auth/login", json={"username": username, "password": password})
    assert token.status_code == 200, token.text
    return {"Authorization": f"Bearer {token.json()['access_token']}"}


def test_each_missing_resource_is_named_in_the_problem(
    live_server_factory: Callable[..., LiveServer],
) -> None:
    server = live_server_factory(**ADMIN)
    with httpx.Client(base_url=server.url, timeout=30) as http:
        admin = bearer(http, ADMIN["ADMIN_USERNAME"], ADMIN["ADMIN_PASSWORD"])
        registered = http.post(
            "/api/auth/register", json={"username": "alice", "password": "correct horse 2026"}
        )
        assert registered.status_code == 201, registered.text
        alice = bearer(http, "alice", "correct horse 2026")
        created = http.post("/api/plans", json={"plan": PLAN_BODY}, headers=alice)
        assert created.status_code == 201, created.text
        plan_id = created.json()["id"]
        alice_id = http.get("/api/auth/me", headers=alice).json()["id"]

        cases = [
            ("GET", "/api/no/such/route", admin, "NOT_FOUND", "route", "/api/no/such/route"),
            ("GET", "/api/sessions/sess_nope", alice, "SESSION_NOT_FOUND", "session", "sess_nope"),
            ("GET", "/api/plans/plan_nope", alice, "PLAN_NOT_FOUND", "plan", "plan_nope"),
            (
                "GET",
                f"/api/plans/{plan_id}_v9",
                alice,
                "PLAN_VERSION_NOT_FOUND",
                "plan_version",
                f"{plan_id}_v9",
            ),
            ("GET", "/api/products/987654", alice, "PRODUCT_NOT_FOUND", "product", 987654),
            ("GET", "/api/inventory/987654", alice, "PRODUCT_NOT_FOUND", "product", 987654),
            ("GET", "/api/purchases/pur_nope", alice, "PURCHASE_NOT_FOUND", "purchase", "pur_nope"),
            ("PATCH", "/api/auth/users/987654", admin, "USER_NOT_FOUND", "user", "987654"),
            (
                "DELETE",
                "/api/auth/api-keys/987654",
                alice,
                "API_KEY_NOT_FOUND",
                "api_key",
                "987654",
            ),
            (
                "GET",
                "/api/batch/jobs/job_nope",
                alice,
                "BATCH_JOB_NOT_FOUND",
                "batch_job",
                "job_nope",
            ),
            (
                "DELETE",
                "/api/admin/blocks/ip:203.0.113.9",
                admin,
                "BLOCK_NOT_FOUND",
                "block",
                "ip:203.0.113.9",
            ),
            (
                "DELETE",
                f"/api/admin/quotas/{alice_id}",
                admin,
                "QUOTA_NOT_FOUND",
                "quota",
                alice_id,
            ),
        ]
        for method, path, headers, code, resource, resource_id in cases:
            body = {"role": "user"} if method == "PATCH" else None
            response = http.request(method, path, headers=headers, json=body)
            assert response.status_code == 404, (path, response.text)
            assert response.headers["content-type"].startswith("application/problem+json")
            problem = response.json()
            assert problem["code"] == code, (path, problem)
            assert problem["details"]["resource"] == resource, (path, problem)
            assert problem["details"]["id"] == resource_id, (path, problem)

        # The version problem keeps telling the client where the history ends.
        version = http.get(f"/api/plans/{plan_id}_v9", headers=alice).json()
        assert version["details"]["latest_version"] == 1
