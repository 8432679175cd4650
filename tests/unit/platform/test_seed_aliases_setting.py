"""SEED_ALIASES: the seeds' paths are served by default and answer 404 when switched off, while
the project's own routes answer the same either way."""

from __future__ import annotations

import pytest

from tests.conftest import AppFactory

pytestmark = pytest.mark.unit

ALIASES = [
    ("POST", "/register"),
    ("POST", "/login"),
    ("POST", "/purchase/1"),
    ("GET", "/api/health"),
]
PASSWORD = "seed-Passw0rd-long"


@pytest.mark.parametrize("enabled", [True, False])
async def test_seed_aliases_follow_the_setting(app_factory: AppFactory, enabled: bool) -> None:
    async with app_factory(seed_aliases=enabled) as (_app, client):
        made = await client.post(
            "/api/auth/register", json={"username": "project", "password": PASSWORD}
        )
        assert made.status_code == 201, made.text
        assert (await client.get("/health")).status_code == 200
        for method, path in ALIASES:
            answer = await client.request(method, path, json={})
            if enabled:
                assert answer.status_code != 404, (path, answer.text)
            else:
                assert answer.status_code == 404, (path, answer.text)
                assert answer.headers["content-type"].startswith("application/problem+json")
                assert answer.json()["code"] == "NOT_FOUND"
        via_alias = await client.post(
            "/register", json={"username": "seedclient", "password": PASSWORD}
        )
        assert via_alias.status_code == (201 if enabled else 404), via_alias.text
        login = await client.post(
            "/api/auth/login", json={"username": "seedclient", "password": PASSWORD}
        )
        # The account exists only if the alias made it.
        assert login.status_code == (200 if enabled else 401), login.text
