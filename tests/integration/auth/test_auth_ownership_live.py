"""Ownership over real HTTP: another user's (or an anonymous caller's) request for a user's
session or plan gets 404, never 403, whether they come with a token or an API key."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import httpx
import pytest

from tests.support.servers import LiveServer

pytestmark = [pytest.mark.integration, pytest.mark.slow]

PASSWORD = "correct horse battery staple"
PLAN = {
    "tier": "normal",
    "title": "표준 경로: MFDS 2등급 기술문서 심사",
    "description": "허가 심사와 성능평가를 순서대로 진행",
    "totalDuration": "9-12개월",
    "riskLevel": "medium",
    "commonStandards": {"timeline": [], "standards": ["ISO 13485"], "documentation": []},
    "performanceEvaluation": {"timeline": [], "tests": [], "documentation": []},
    "pros": [],
    "cons": [],
    "recommendations": [],
}


def login(http: httpx.Client, username: str) -> dict[str, str]:
    created = http.post("/api/auth/register", json={"username": username, "password": PASSWORD})
    assert created.status_code == 201, created.text
    token = http.post("/api/auth/login", json={"username": username, "password": PASSWORD})
    return {"Authorization": f"Bearer {token.json()['access_token']}"}


def assert_not_found(response: httpx.Response, code: str) -> None:
    assert response.status_code == 404, response.text
    assert response.json()["code"] == code


def test_other_users_session_and_plan_are_404(
    auth_server: Callable[..., LiveServer],
) -> None:
    server = auth_server()
    with httpx.Client(base_url=server.url, timeout=10) as http:
        alice = login(http, "alice")
        mallory = login(http, "mallory")
        key = http.post("/api/auth/api-keys", json={"name": "m"}, headers=mallory).json()["key"]
        mallory_key = {"X-API-Key": key}

        session = http.post("/api/sessions", json={"data": {"concept": "CT 폐결절"}}, headers=alice)
        assert session.status_code == 201, session.text
        session_id = session.json()["id"]
        plan = http.post("/api/plans", json={"plan": PLAN, "sessionId": session_id}, headers=alice)
        assert plan.status_code == 201, plan.text
        plan_id = plan.json()["id"]

        outsiders: list[dict[str, Any]] = [mallory, mallory_key, {}]
        for headers in outsiders:
            for method, path, body in [
                ("GET", f"/api/sessions/{session_id}", None),
                ("PUT", f"/api/sessions/{session_id}", {"data": {"owned": "by mallory"}}),
                ("DELETE", f"/api/sessions/{session_id}", None),
            ]:
                response = http.request(method, path, json=body, headers=headers)
                assert_not_found(response, "SESSION_NOT_FOUND")
            for method, path in [
                ("GET", f"/api/plans/{plan_id}"),
                ("GET", f"/api/plans/{plan_id}?version=1"),
                ("GET", f"/api/plans/{plan_id}/history"),
                ("DELETE", f"/api/plans/{plan_id}"),
            ]:
                response = http.request(method, path, headers=headers)
                assert response.status_code == 404, (method, path, headers.keys(), response.text)
            listed = http.get(f"/api/plans?session_id={session_id}", headers=headers)
            assert plan_id not in listed.text

        mine = http.get("/api/plans", headers=mallory)
        assert mine.status_code == 200 and plan_id not in mine.text
        assert http.get("/api/sessions", headers=mallory).json()["count"] == 0
        anonymous_list = http.get("/api/sessions")
        assert anonymous_list.status_code == 401

        # The owner still has everything, untouched by the attempts above.
        own = http.get(f"/api/sessions/{session_id}", headers=alice)
        assert own.status_code == 200 and own.json()["data"] == {"concept": "CT 폐결절"}
        assert http.get(f"/api/plans/{plan_id}", headers=alice).status_code == 200
        assert [s["id"] for s in http.get("/api/sessions", headers=alice).json()["items"]] == [
            session_id
        ]
