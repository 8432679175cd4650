"""ALLOWED_HOSTS and trailing-slash redirects: no answer is built from an untrusted Host."""

from __future__ import annotations

import pytest

from app.platform.middleware.hosts import HostPolicy
from tests.conftest import AppFactory

pytestmark = pytest.mark.unit


async def test_slash_redirects_are_relative_whatever_the_host(app_factory: AppFactory) -> None:
    async with app_factory() as (_app, client):  # ALLOWED_HOSTS=* (the default)
        r = await client.get("/api/auth/users/?limit=5", headers={"Host": "evil.example"})
        assert r.status_code == 307
        assert r.headers["location"] == "/api/auth/users?limit=5"
        assert "evil" not in r.text
        # No route under either spelling: a plain 404 problem, no redirect.
        r = await client.get("/api/nothing-here/", headers={"Host": "evil.example"})
        assert r.status_code == 404
        assert r.json()["code"] == "NOT_FOUND" and "location" not in r.headers


async def test_allowed_hosts_refuse_other_hosts_but_not_probes(app_factory: AppFactory) -> None:
    async with app_factory(allowed_hosts="api.example.com,*.raidesk.test") as (_app, client):
        r = await client.get("/api/auth/users/", headers={"Host": "evil.example"})
        assert r.status_code == 400
        assert r.headers["content-type"] == "application/problem+json"
        assert r.json()["code"] == "INVALID_HOST" and "location" not in r.headers
        assert "evil" not in r.text
        for host in ("api.example.com", "API.example.com:8443", "eu.raidesk.test"):
            r = await client.get("/api/auth/users/", headers={"Host": host})
            assert r.status_code == 307, host
            assert r.headers["location"] == "/api/auth/users"
        # Probes address the container by IP: /health* answers any Host.
        r = await client.get("/health/live", headers={"Host": "10.0.0.7:8000"})
        assert r.status_code == 200


def test_host_policy_matching() -> None:
    policy = HostPolicy(["localhost", "[::1]", "*.example.com"])
    assert policy.allows("/x", b"localhost:8000")
    assert policy.allows("/x", b"[::1]:8000")
    assert policy.allows("/x", b"a.b.example.com")
    assert not policy.allows("/x", b"example.com")  # the wildcard needs a subdomain
    assert not policy.allows("/x", b"evilexample.com")
    assert not policy.allows("/x", None)
    assert not policy.allows("/x", b"")
    assert HostPolicy(["*"]).allows("/x", b"anything")
