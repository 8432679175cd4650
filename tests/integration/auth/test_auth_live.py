"""Accounts over real HTTP (uvicorn subprocesses): every credential failure, roles, the admin
bootstrap across workers, the create-admin command, and no secret in any log line or error."""

from __future__ import annotations

import base64
import json
import os
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx
import pytest
from jose import jwt

from tests.conftest import TEST_SECRET
from tests.integration.auth.conftest import ADMIN_ENV, ADMIN_PASSWORD, FAST_HASH_ENV
from tests.support.servers import ROOT, LiveServer, free_port, wait_until

pytestmark = [pytest.mark.integration, pytest.mark.slow]

PASSWORD = "correct horse battery staple"


def _b64(data: dict[str, Any]) -> str:
    return base64.urlsafe_b64encode(json.dumps(data).encode()).rstrip(b"=").decode()


def register_and_login(http: httpx.Client, username: str, password: str = PASSWORD) -> str:
    created = http.post("/api/auth/register", json={"username": username, "password": password})
    assert created.status_code == 201, created.text
    token = http.post("/api/auth/login", data={"username": username, "password": password})
    assert token.status_code == 200, token.text
    return str(token.json()["access_token"])


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def assert_401(response: httpx.Response, reason: str | None = None) -> None:
    assert response.status_code == 401, response.text
    assert response.headers["content-type"].startswith("application/problem+json")
    assert response.headers["www-authenticate"].startswith('Bearer realm="raidesk"')
    body = response.json()
    assert body["code"] == "AUTHENTICATION_REQUIRED" and body["error_code"] == "ERR_2001"
    if reason is not None:
        assert body["details"]["reason"] == reason


def test_every_credential_failure_over_http(auth_server: Callable[..., LiveServer]) -> None:
    server = auth_server(**ADMIN_ENV)
    with httpx.Client(base_url=server.url, timeout=10) as http:
        token = register_and_login(http, "alice")
        me = http.get("/api/auth/me", headers=bearer(token))
        assert me.status_code == 200
        claims = jwt.get_unverified_claims(token)
        assert claims["sub"] == me.json()["id"] and claims["role"] == "user"

        expired = jwt.encode(
            {**claims, "iat": int(time.time()) - 7200, "exp": int(time.time()) - 3600},
            TEST_SECRET,
            algorithm="HS256",
        )
        assert_401(http.get("/api/auth/me", headers=bearer(expired)), "expired")

        header, _payload, signature = token.split(".")
        tampered = f"{header}.{_b64({**claims, 'role': 'admin'})}.{signature}"
        assert_401(http.get("/api/auth/users", headers=bearer(tampered)), "invalid")

        none_alg = f"{_b64({'alg': 'none', 'typ': 'JWT'})}.{_b64({**claims, 'role': 'admin'})}."
        assert_401(http.get("/api/auth/users", headers=bearer(none_alg)), "invalid")

        wrong_key = jwt.encode(
            claims, "some-other-secret-key-of-32-chars-or-more", algorithm="HS256"
        )
        assert_401(http.get("/api/auth/me", headers=bearer(wrong_key)), "invalid")

        assert_401(http.get("/api/auth/me", headers=bearer("garbage")), "invalid")
        assert_401(http.get("/api/auth/me"))  # nothing sent at all

        created = http.post("/api/auth/api-keys", json={"name": "svc"}, headers=bearer(token))
        assert created.status_code == 201
        key = created.json()
        assert http.get("/api/auth/me", headers={"X-API-Key": key["key"]}).status_code == 200
        revoked = http.delete(f"/api/auth/api-keys/{key['id']}", headers=bearer(token))
        assert revoked.status_code == 204
        assert_401(http.get("/api/auth/me", headers={"X-API-Key": key["key"]}), "invalid")

        # Wrong role: a real user token on an admin route.
        forbidden = http.get("/api/auth/users", headers=bearer(token))
        assert forbidden.status_code == 403
        assert forbidden.json()["code"] == "PERMISSION_DENIED"
        admin = http.post("/api/auth/login", json={"username": "root", "password": ADMIN_PASSWORD})
        admin_token = admin.json()["access_token"]
        listed = http.get("/api/auth/users", headers=bearer(admin_token))
        assert listed.status_code == 200
        assert {u["username"] for u in listed.json()} == {"root", "alice"}


def test_no_secret_in_logs_or_error_bodies(auth_server: Callable[..., LiveServer]) -> None:
    server = auth_server(**ADMIN_ENV, LOG_LEVEL="DEBUG")
    secrets_sent: list[str] = [PASSWORD, ADMIN_PASSWORD]
    errors: list[httpx.Response] = []

    def call(method: str, path: str, **kwargs: Any) -> httpx.Response:
        response = http.request(method, path, **kwargs)
        if response.status_code >= 400:
            errors.append(response)
        return response

    with httpx.Client(base_url=server.url, timeout=10) as http:
        token = register_and_login(http, "alice")
        secrets_sent += [token, token.split(".")[2]]
        wrong = ["wrong-but-secret-pw-1", "비밀번호-틀림-2026", "hunter2-secret-xyz"]
        secrets_sent += wrong
        for password in wrong:
            call("POST", "/api/auth/login", json={"username": "alice", "password": password})
            call("POST", "/api/auth/login", data={"username": "nobody", "password": password})
        # Passwords inside bodies that fail validation (pydantic errors carry the raw input).
        call("POST", "/api/auth/login", content=b'{"username": "alice", "password": "' + wrong[0].encode(),
             headers={"content-type": "application/json"})  # fmt: skip
        call("POST", "/api/auth/login", json={"username": "alice", "password": wrong[2], "x": 1})
        call("POST", "/api/auth/register", json={"username": "bob", "password": "tiny-pw"})
        secrets_sent.append("tiny-pw")
        call(
            "POST", "/api/auth/register", json={"username": "bob", "password": wrong[1], "role": 1}
        )
        # A password typed into the username field: not a valid username, must not be logged.
        call("POST", "/api/auth/login", json={"username": wrong[2] + " oops", "password": "x"})

        created = call("POST", "/api/auth/api-keys", json={"name": "svc"}, headers=bearer(token))
        key = created.json()
        secrets_sent += [key["key"], key["key"].split("_", 2)[2]]
        call("GET", "/api/auth/me", headers={"X-API-Key": key["key"]})
        rotated = call("POST", f"/api/auth/api-keys/{key['id']}/rotate", headers=bearer(token))
        new_key = rotated.json()["key"]
        secrets_sent += [new_key, new_key.split("_", 2)[2]]
        call("GET", "/api/auth/me", headers={"X-API-Key": key["key"]})  # the rotated-out key
        call("GET", "/api/auth/me", headers={"X-API-Key": new_key, **bearer(token)})  # both
        call("GET", f"/api/auth/api-keys/{new_key}", headers=bearer(token))  # key in a path
        call("DELETE", f"/api/auth/api-keys/{new_key}", headers=bearer(token))
        expired = jwt.encode(
            {**jwt.get_unverified_claims(token), "exp": int(time.time()) - 10},
            TEST_SECRET,
            algorithm="HS256",
        )
        secrets_sent += [expired, expired.split(".")[2]]
        call("GET", "/api/auth/me", headers=bearer(expired))
        call("GET", "/api/auth/me", headers={"Authorization": f"Basic {token}"})
        call("GET", f"/api/auth/me?access_token={token}&api_key={new_key}")
        call("GET", "/api/auth/users", headers=bearer(token))
        admin = call(
            "POST", "/api/auth/login", json={"username": "root", "password": ADMIN_PASSWORD}
        )
        secrets_sent.append(admin.json()["access_token"])

    server.stop()  # flush and close the log
    assert server.log_path is not None
    log = server.log_path.read_text(encoding="utf-8")
    # The scan is only meaningful if the requests were logged at all.
    assert log.count('"event": "auth.login_failed"') >= 6
    assert log.count('"path": "/api/auth/login"') >= 10
    assert len(errors) >= 15
    for secret in secrets_sent:
        assert secret not in log, f"a secret ({secret[:6]}…) appears in the server log"
        for response in errors:
            assert secret not in response.text, f"{response.request.url} echoed a secret"
    for response in errors:
        assert 400 <= response.status_code < 500, response.text
        assert response.headers["content-type"].startswith("application/problem+json")


@pytest.mark.parametrize("database", ["sqlite", "postgres"])
def test_admin_bootstrap_with_two_workers_starting_at_once(
    auth_server: Callable[..., LiveServer], request: pytest.FixtureRequest, database: str
) -> None:
    env = dict(ADMIN_ENV)
    if database == "postgres":
        request.getfixturevalue("postgres_engine")  # empties every table first
        env["DATABASE_URL"] = request.getfixturevalue("postgres_url")
    server = auth_server(workers=2, **env)
    assert server.log_path is not None
    log_path = server.log_path
    wait_until(
        lambda: log_path.read_text().count('"event": "startup"') == 2,
        timeout=60,
        what="both workers to finish startup",
    )
    log = log_path.read_text()
    assert "admin_bootstrap_skipped" not in log
    assert "IntegrityError" not in log and "UniqueViolation" not in log
    assert log.count('"event": "auth.admin_ensured"') >= 1
    with httpx.Client(base_url=server.url, timeout=10) as http:
        admin = http.post("/api/auth/login", json={"username": "root", "password": ADMIN_PASSWORD})
        assert admin.status_code == 200
        token = admin.json()["access_token"]
        me = http.get("/api/auth/me", headers=bearer(token)).json()
        assert me["role"] == "admin"
        users = http.get("/api/auth/users", headers=bearer(token)).json()
        assert [u["username"] for u in users] == ["root"]


def _cli(tmp_path: Path, *args: str, stdin: str) -> subprocess.CompletedProcess[str]:
    env = {
        **os.environ,
        **FAST_HASH_ENV,
        "ENVIRONMENT": "test",
        "SECRET_KEY": TEST_SECRET,
        "DATABASE_URL": f"sqlite+aiosqlite:///{tmp_path / 'live.db'}",
        "REDIS_URL": "",
        "LOG_LEVEL": "WARNING",
    }
    env.pop("ADMIN_USERNAME", None)
    env.pop("ADMIN_PASSWORD", None)
    return subprocess.run(
        [sys.executable, "-m", "app", "create-admin", *args],
        input=stdin,
        capture_output=True,
        text=True,
        cwd=ROOT,
        env=env,
        timeout=60,
    )


def test_create_admin_command_then_login_over_http(
    tmp_path: Path, auth_server: Callable[..., LiveServer]
) -> None:
    secret = "cli admin pass 2026"
    first = _cli(tmp_path, "--username", "Boss", "--password-stdin", stdin=secret + "\n")
    assert first.returncode == 0, first.stderr
    assert "admin 'boss' created" in first.stdout
    weak = _cli(tmp_path, "--username", "boss", "--password-stdin", stdin="boss\n")
    assert weak.returncode == 2 and "too weak" in weak.stderr
    for result in (first, weak):
        assert secret not in result.stdout + result.stderr
    assert "boss\n" not in weak.stdout

    server = auth_server()  # the same database file as the command
    with httpx.Client(base_url=server.url, timeout=10) as http:
        login = http.post("/api/auth/login", data={"username": "boss", "password": secret})
        assert login.status_code == 200
        me = http.get("/api/auth/me", headers=bearer(login.json()["access_token"]))
        assert me.json()["role"] == "admin"


def test_weak_admin_password_refuses_to_start(tmp_path: Path) -> None:
    weak = "rootroot99"  # contains the username
    env = {
        **os.environ,
        **FAST_HASH_ENV,
        "ENVIRONMENT": "test",
        "SECRET_KEY": TEST_SECRET,
        "DATABASE_URL": f"sqlite+aiosqlite:///{tmp_path / 'weak.db'}",
        "REDIS_URL": "",
        "PORT": str(free_port()),
        "ADMIN_USERNAME": "root",
        "ADMIN_PASSWORD": weak,
    }
    result = subprocess.run(
        [sys.executable, "-m", "app", "serve"],
        capture_output=True,
        text=True,
        cwd=ROOT,
        env=env,
        timeout=120,
    )
    output = result.stdout + result.stderr
    assert result.returncode != 0
    assert "ADMIN_USERNAME/ADMIN_PASSWORD" in output and "not contain the username" in output
    assert weak not in output
