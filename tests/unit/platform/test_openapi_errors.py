"""The OpenAPI document lists the error statuses operations send, each with the problem
schema, and 400 (never 422) for validation errors."""

from __future__ import annotations

import json

import pytest
from fastapi import FastAPI

from tests.conftest import AppFactory

pytestmark = pytest.mark.unit
PROBLEM = {"application/problem+json": {"schema": {"$ref": "#/components/schemas/Problem"}}}


def statuses(doc: dict, method: str, path: str) -> set[str]:  # type: ignore[type-arg]
    return set(doc["paths"][path][method]["responses"])


async def test_every_error_is_a_problem_and_validation_is_400(app_factory: AppFactory) -> None:
    async with app_factory() as (app, client):
        served = (await client.get("/openapi.json")).json()
    assert isinstance(app, FastAPI)
    text = json.dumps(served)
    assert '"422"' not in text and "HTTPValidationError" not in text
    assert "Problem" in served["components"]["schemas"]
    for path, operations in served["paths"].items():
        for method, operation in operations.items():
            for status, response in operation["responses"].items():
                if int(status) >= 400:
                    assert response["content"] == PROBLEM, (method, path, status)
    assert {"400", "401", "404", "409", "413", "429", "503"} <= statuses(
        served, "post", "/api/purchase/{product_id}"
    )
    assert {"401", "429", "503"} <= statuses(served, "get", "/api/auth/me")
    assert {"401", "403", "400"} <= statuses(served, "get", "/api/auth/users")
    assert {"404", "401"} <= statuses(served, "get", "/api/sessions/{session_id}")
    assert {"400", "413", "415", "502", "503"} <= statuses(served, "post", "/api/classify")
    assert statuses(served, "get", "/health/live") == {"200"}  # probes: nothing else


async def test_a_validation_error_is_the_documented_400_problem(client) -> None:  # type: ignore[no-untyped-def]
    r = await client.post("/api/sessions", json={"data": "not an object"})
    assert r.status_code == 400
    assert r.headers["content-type"] == "application/problem+json"
    assert r.json()["code"] == "VALIDATION_ERROR"
