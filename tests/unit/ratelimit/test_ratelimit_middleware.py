"""The rate-limit middleware in-process: headers, 429 bodies, tiers, routes, login, proxies,
admin allowlist, fail policy and the off switch."""

from __future__ import annotations

import hashlib
import json
import random
from collections.abc import Sequence
from typing import Any

import httpx
import pytest
from fastapi import FastAPI, Request
from prometheus_client import REGISTRY
from starlette.types import Scope

from app.platform.dependencies import OptionalUser
from app.platform.errors import AuthenticationError
from app.platform.metrics import METRICS_BUFFER
from app.platform.middleware.rate_limit import RateLimitGate
from app.platform.principal import Principal
from app.platform.ratelimit.items import LimitCheck, RateLimitItem, StoreDecision, WindowResult
from app.platform.ratelimit.limiter import LimitOutcome
from tests.conftest import AppFactory

pytestmark = pytest.mark.unit
LIMIT_HEADERS = (
    "ratelimit-policy",
    "ratelimit",
    "x-ratelimit-limit",
    "x-ratelimit-remaining",
    "x-ratelimit-reset",
)


def decisions(route: str, outcome: str) -> float:
    METRICS_BUFFER.flush()  # this process's tallies reach the instruments once a second
    value = REGISTRY.get_sample_value(
        "rate_limit_decisions_total", {"route": route, "outcome": outcome}
    )
    return value or 0.0


async def test_allowed_responses_carry_every_header_and_429_is_a_problem(
    app_factory: AppFactory,
) -> None:
    async with app_factory(rate_limit_enabled=True, rate_limit_default="3/minute;50/hour") as (
        _app,
        client,
    ):
        before = decisions("global", "rejected")
        first = await client.get("/ping")
        assert first.status_code == 200
        assert all(h in first.headers for h in LIMIT_HEADERS)
        assert "retry-after" not in first.headers
        assert (
            first.headers["ratelimit-policy"] == '"global-60s";q=3;w=60, "global-3600s";q=50;w=3600'
        )
        assert first.headers["ratelimit"].startswith('"global-60s";r=2;t=')
        assert '"global-3600s";r=49;t=' in first.headers["ratelimit"]
        assert first.headers["x-ratelimit-limit"] == "3"
        assert first.headers["x-ratelimit-remaining"] == "2"
        assert 0 < int(first.headers["x-ratelimit-reset"]) <= 60
        await client.get("/ping")
        await client.get("/ping")
        rejected = await client.get("/ping")
        assert rejected.status_code == 429
        assert rejected.headers["content-type"] == "application/problem+json"
        body = rejected.json()
        assert body["error_code"] == "ERR_1009" and body["code"] == "RATE_LIMIT_EXCEEDED"
        assert body["status"] == 429 and body["instance"] == "/ping"
        retry_after = int(rejected.headers["retry-after"])
        reset = int(rejected.headers["x-ratelimit-reset"])
        # Never earlier than the real wait; the jitter adds at most RATE_LIMIT_RETRY_JITTER_S.
        assert reset <= retry_after <= reset + 2
        assert body["details"]["retry_after_s"] == retry_after
        assert rejected.headers["x-ratelimit-remaining"] == "0"
        assert all(h in rejected.headers for h in LIMIT_HEADERS)
        assert decisions("global", "rejected") == before + 1


async def test_blocked_by_the_hourly_limit_does_not_eat_the_minute_limit(
    app_factory: AppFactory,
) -> None:
    async with app_factory(rate_limit_enabled=True, rate_limit_default="10/minute;3/hour") as (
        _app,
        client,
    ):
        statuses = [(await client.get("/ping")).status_code for _ in range(8)]
        assert statuses == [200] * 3 + [429] * 5
        last = await client.get("/ping")
        # Five rejections later the minute window still holds only the three that passed.
        assert '"global-60s";r=7;' in last.headers["ratelimit"]
        assert last.headers["x-ratelimit-limit"] == "3"


async def test_exempt_paths_are_never_limited(app_factory: AppFactory) -> None:
    async with app_factory(rate_limit_enabled=True, rate_limit_default="1/minute") as (
        _app,
        client,
    ):
        for path in ("/health/live", "/health", "/metrics", "/openapi.json", "/docs"):
            for _ in range(3):
                response = await client.get(path)
                assert response.status_code in (200, 503), path
                assert "ratelimit" not in response.headers
        assert (await client.get("/ping")).status_code == 200
        assert (await client.get("/ping")).status_code == 429


async def test_disabled_means_no_limits_and_no_headers(app_factory: AppFactory) -> None:
    async with app_factory(rate_limit_enabled=False, rate_limit_default="1/minute") as (
        _app,
        client,
    ):
        for _ in range(5):
            response = await client.get("/ping")
            assert response.status_code == 200
            assert "ratelimit" not in response.headers


async def test_forwarded_for_is_trusted_only_from_trusted_proxies(
    app_factory: AppFactory,
) -> None:
    # httpx's ASGI transport connects from 127.0.0.1.
    async with app_factory(
        rate_limit_enabled=True, rate_limit_default="2/minute", trusted_proxies=["127.0.0.1"]
    ) as (_app, client):
        for ip in ("203.0.113.1", "203.0.113.2"):
            for _ in range(2):
                r = await client.get("/ping", headers={"X-Forwarded-For": ip})
                assert r.status_code == 200
        r = await client.get("/ping", headers={"X-Forwarded-For": "203.0.113.1"})
        assert r.status_code == 429
    async with app_factory(rate_limit_enabled=True, rate_limit_default="2/minute") as (
        _app,
        client,
    ):
        codes = [
            (await client.get("/ping", headers={"X-Forwarded-For": f"198.51.100.{i}"})).status_code
            for i in range(3)
        ]
        assert codes == [200, 200, 429]  # a forged header from an untrusted peer changes nothing


async def test_route_families_share_counters_and_key_by_ip_when_anonymous(
    app_factory: AppFactory,
) -> None:
    async with app_factory(
        rate_limit_enabled=True, rate_limit_classify="2/minute", trusted_proxies=["127.0.0.1"]
    ) as (_app, client):
        # The real regulatory routes: the stream variant counts against the same family.
        body = {"concept": "CT 영상에서 폐결절을 검출하는 AI 소프트웨어"}
        a = {"X-Forwarded-For": "203.0.113.7"}
        assert (await client.post("/api/classify", json=body, headers=a)).status_code == 200
        r = await client.post("/api/stream/classify", json=body, headers=a)
        assert r.status_code == 200
        assert '"classify-60s";q=2;w=60' in r.headers["ratelimit-policy"]
        assert (await client.post("/api/classify", json=body, headers=a)).status_code == 429
        other = {"X-Forwarded-For": "203.0.113.8"}
        assert (await client.post("/api/classify", json=body, headers=other)).status_code == 200
        # GET is not part of the family: only the global limit applies.
        assert (await client.get("/ping", headers=a)).status_code == 200


def fake_resolver(calls: list[str]) -> Any:
    async def resolve(scope: Scope) -> Principal | None:
        headers = dict(scope["headers"])
        user = headers.get(b"x-test-user")
        calls.append(user.decode() if user else "")
        if user is None:
            return None
        if user == b"bad":
            raise AuthenticationError("bad token")
        role = "admin" if user.startswith(b"admin") else "user"
        return Principal(
            user_id=user.decode(), username=user.decode(), role=role, auth_method="jwt"
        )

    return resolve


async def test_users_are_limited_per_user_by_tier_and_resolved_once(
    app_factory: AppFactory,
) -> None:
    async with app_factory(
        rate_limit_enabled=True,
        rate_limit_default="1/minute",
        rate_limit_authenticated="3/minute",
        rate_limit_admin="5/minute",
    ) as (app, client):
        calls: list[str] = []
        app.state.principal_resolver = fake_resolver(calls)

        @app.get("/t/me")
        async def me(user: OptionalUser) -> dict[str, str | None]:
            return {"user": user.user_id if user else None}

        r = await client.get("/t/me", headers={"X-Test-User": "u1"})
        assert r.json() == {"user": "u1"}
        assert calls == ["u1"]  # the middleware's answer was reused by the dependency
        assert r.headers["ratelimit-policy"] == '"user-60s";q=3;w=60'
        codes = [
            (await client.get("/ping", headers={"X-Test-User": "u1"})).status_code for _ in range(3)
        ]
        assert codes == [200, 200, 429]
        # Another user, and anonymous callers from the same IP, have their own counters.
        assert (await client.get("/ping", headers={"X-Test-User": "u2"})).status_code == 200
        assert (await client.get("/ping")).status_code == 200
        assert (await client.get("/ping")).status_code == 429
        admin = await client.get("/ping", headers={"X-Test-User": "admin1"})
        assert admin.headers["ratelimit-policy"] == '"admin-60s";q=5;w=60'


async def test_bad_credentials_count_as_anonymous_and_still_get_401(
    app_factory: AppFactory,
) -> None:
    async with app_factory(rate_limit_enabled=True, rate_limit_default="5/minute") as (
        app,
        client,
    ):
        calls: list[str] = []
        app.state.principal_resolver = fake_resolver(calls)

        @app.get("/t/me")
        async def me(user: OptionalUser) -> dict[str, str | None]:
            return {"user": user.user_id if user else None}

        r = await client.get("/t/me", headers={"X-Test-User": "bad"})
        assert r.status_code == 401
        assert r.json()["error_code"] == "ERR_2001"
        assert r.headers["ratelimit-policy"].startswith('"global-60s"')


async def test_login_is_limited_per_address_and_username_and_the_body_reaches_the_route(
    app_factory: AppFactory,
) -> None:
    async with app_factory(
        rate_limit_enabled=True,
        rate_limit_login="2/minute",
        rate_limit_login_address="4/minute",
        rate_limit_login_username="3/minute",
        login_slowdown_s=0.001,
        trusted_proxies=["127.0.0.1"],
    ) as (_app, client):
        password = "correct horse battery staple 42"
        reg = await client.post(
            "/api/auth/register", json={"username": "alice", "password": password}
        )
        assert reg.status_code == 201, reg.text
        ip_a = {"X-Forwarded-For": "203.0.113.10"}
        ip_b = {"X-Forwarded-For": "203.0.113.11"}
        ok = await client.post(
            "/api/auth/login", json={"username": "alice", "password": password}, headers=ip_a
        )
        assert ok.status_code == 200, ok.text  # the buffered body was replayed intact
        assert "access_token" in ok.json()
        wrong = await client.post(
            "/api/auth/login",
            data={"username": "ALICE", "password": "nope"},  # form body, other case
            headers=ip_a,
        )
        assert wrong.status_code == 401
        # (ip_a, alice) is used up; the right password from ip_b still works.
        r = await client.post(
            "/api/auth/login", json={"username": "alice", "password": "nope"}, headers=ip_a
        )
        assert r.status_code == 429
        assert '"login-60s";r=0' in r.headers["ratelimit"]
        slowed = decisions("login-user", "rejected")
        r = await client.post(
            "/api/auth/login", json={"username": "alice", "password": password}, headers=ip_b
        )
        assert r.status_code == 200, r.text
        # alice's own budget (3, every address) is spent: the next attempt waits, not 429.
        r = await client.post(
            "/api/auth/login", json={"username": "alice", "password": password}, headers=ip_b
        )
        assert r.status_code == 200, r.text
        assert decisions("login-user", "rejected") == slowed + 1
        # ip_b's address limit (4, every username) is what stops it, not another address.
        r = await client.post(
            "/api/auth/login", json={"username": "bob", "password": "x" * 12}, headers=ip_b
        )
        assert r.status_code == 401
        r = await client.post(
            "/api/auth/login", json={"username": "carol", "password": "x" * 12}, headers=ip_b
        )
        assert r.status_code == 401
        r = await client.post(
            "/api/auth/login", json={"username": "dave", "password": "x" * 12}, headers=ip_b
        )
        assert r.status_code == 429
        assert '"login-ip-60s";r=0' in r.headers["ratelimit"]


async def test_settings_give_any_route_a_limit_of_its_own(app_factory: AppFactory) -> None:
    async with app_factory(
        rate_limit_enabled=True, rate_limit_routes={"GET /t/items/{item_id}": "3/minute"}
    ) as (app, client):

        @app.get("/t/items/{item_id}")
        async def item(item_id: int) -> dict[str, int]:
            return {"item": item_id}

        codes = [(await client.get(f"/t/items/{i}")).status_code for i in range(4)]
        assert codes == [200, 200, 200, 429]
        assert (await client.get("/ping")).status_code == 200


async def test_admin_paths_answer_403_outside_the_allowlist_even_with_limits_off(
    app_factory: AppFactory,
) -> None:
    async with app_factory(
        rate_limit_enabled=False,
        admin_ip_allowlist=["10.0.0.0/8"],
        trusted_proxies=["127.0.0.1"],
    ) as (app, client):

        @app.get("/api/admin/stats")
        async def stats() -> dict[str, int]:
            return {"n": 1}

        denied = await client.get("/api/admin/stats")
        assert denied.status_code == 403
        assert denied.json()["code"] == "IP_NOT_ALLOWED"
        assert denied.json()["error_code"] == "ERR_5001"
        allowed = await client.get("/api/admin/stats", headers={"X-Forwarded-For": "10.1.2.3"})
        assert allowed.status_code == 200
        assert (await client.get("/ping")).status_code == 200  # not an admin path


class BrokenStore:
    async def ping(self) -> None:
        raise ConnectionError("down")

    async def hit(self, checks: Sequence[LimitCheck], *, cost: int = 1) -> StoreDecision:
        raise ConnectionError("Error 111 connecting to redis")


async def test_store_failure_fails_reads_open_and_writes_closed_never_500(
    app_factory: AppFactory,
) -> None:
    async with app_factory(rate_limit_enabled=True, rate_limit_default="1/minute") as (
        app,
        client,
    ):
        app.state.resources.rate_limiter.store = BrokenStore()
        opened = decisions("global", "error_open")
        closed = decisions("global", "error_closed")
        for _ in range(3):
            r = await client.get("/ping")
            assert r.status_code == 200
            assert "ratelimit" not in r.headers  # nothing was measured
        r = await client.post(
            "/api/auth/register",
            json={"username": "zed", "password": "correct horse battery staple 42"},
        )
        assert r.status_code == 503
        assert r.json()["code"] == "RATE_LIMITER_UNAVAILABLE"
        assert int(r.headers["retry-after"]) >= 1
        assert decisions("global", "error_open") == opened + 3
        assert decisions("global", "error_closed") == closed + 1
    async with app_factory(
        rate_limit_enabled=True, rate_limit_fail_open=False, rate_limit_fail_open_writes=True
    ) as (app, client):
        app.state.resources.rate_limiter.store = BrokenStore()
        assert (await client.get("/ping")).status_code == 503
        r = await client.post(
            "/api/auth/register",
            json={"username": "zed", "password": "correct horse battery staple 42"},
        )
        assert r.status_code == 201


async def test_a_bare_app_with_only_the_edge_layer_limits_in_memory() -> None:
    from app.platform.config import load_settings
    from app.platform.middleware.edge import EdgeMiddleware

    app = FastAPI()

    @app.post("/api/auth/login")
    async def echo(request: Request) -> dict[str, Any]:
        raw = await request.body()
        return {"len": len(raw), "sha": hashlib.sha256(raw).hexdigest()}

    settings = load_settings(_env_file=None, rate_limit_login="50/minute")
    app.add_middleware(EdgeMiddleware, settings=settings)
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://t") as client:
        big = json.dumps({"username": "한국어", "password": "p", "pad": "x" * 40_000}).encode()
        r = await client.post(
            "/api/auth/login", content=big, headers={"content-type": "application/json"}
        )
        assert r.json() == {"len": len(big), "sha": hashlib.sha256(big).hexdigest()}
        assert '"login-60s"' not in r.headers["ratelimit-policy"]  # over the cap: not parsed
        small = json.dumps({"username": "한국어", "password": "p"}).encode()
        r = await client.post(
            "/api/auth/login", content=small, headers={"content-type": "application/json"}
        )
        assert r.json() == {"len": len(small), "sha": hashlib.sha256(small).hexdigest()}
        assert '"login-60s"' in r.headers["ratelimit-policy"]
        for junk in (b"\xff\xfe not json", b"[1, 2]", b"", b'{"username": 5}'):
            r = await client.post("/api/auth/login", content=junk)
            assert r.status_code == 200 and r.json()["len"] == len(junk)
            assert '"login-60s"' not in r.headers["ratelimit-policy"]


@pytest.mark.parametrize("seed", range(40))
def test_limit_headers_name_the_tightest_window_and_every_window(seed: int) -> None:
    # The gate computes the headers in one pass; LimitOutcome.tightest and WindowResult.reset_s
    # are the reference it must agree with, for allowed and rejected decisions, with ties.
    rng = random.Random(seed)
    allowed = seed % 2 == 0
    checks, results = [], []
    for index in range(rng.randint(1, 4)):
        amount = rng.choice((5, 60, 1000))
        checks.append(LimitCheck(f"k{index}", RateLimitItem(amount, 60 * (index + 1)), f"p{index}"))
        remaining = rng.choice((0, 1, 1, 3)) if not allowed else rng.choice((0, 2, 2, 7))
        retry = 0 if allowed or remaining > 0 else rng.choice((0, 999, 1000, 1001, 30_000))
        results.append(WindowResult(allowed, remaining, retry, rng.choice((1, 999, 1000, 59_000))))
    outcome = LimitOutcome(
        "allowed" if allowed else "rejected", tuple(checks), StoreDecision(allowed, tuple(results))
    )
    headers = dict(RateLimitGate._headers(outcome, b"policy"))
    tightest = outcome.tightest()
    assert tightest is not None
    check, result = tightest
    assert headers[b"ratelimit-policy"] == b"policy"
    assert headers[b"x-ratelimit-limit"] == str(check.item.amount).encode()
    assert headers[b"x-ratelimit-remaining"] == str(result.remaining).encode()
    assert headers[b"x-ratelimit-reset"] == str(result.reset_s).encode()
    expected = ", ".join(
        f'"{c.policy}";r={r.remaining};t={r.reset_s}' for c, r in zip(checks, results, strict=True)
    )
    assert headers[b"ratelimit"] == expected.encode()
