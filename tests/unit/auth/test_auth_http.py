"""`/api/auth` over ASGI: shapes, status codes and problem bodies, including bad input."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest

from tests.unit.auth.conftest import FAST_HASH

pytestmark = pytest.mark.unit

PASSWORD = "correct horse battery"
ADMIN = {"admin_username": "root", "admin_password": "admin pass phrase 2026"}


@pytest.fixture
async def http(app_factory: Any) -> AsyncIterator[httpx.AsyncClient]:
    async with app_factory(**FAST_HASH, **ADMIN) as (_app, client):
        yield client


async def register(http: httpx.AsyncClient, username: str = "alice") -> dict[str, Any]:
    response = await http.post(
        "/api/auth/register", json={"username": username, "password": PASSWORD}
    )
    assert response.status_code == 201, response.text
    return dict(response.json())


async def token_for(http: httpx.AsyncClient, username: str, password: str = PASSWORD) -> str:
    response = await http.post("/api/auth/login", json={"username": username, "password": password})
    assert response.status_code == 200, response.text
    return str(response.json()["access_token"])


def auth(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def assert_problem(response: httpx.Response, status: int, code: str) -> dict[str, Any]:
    assert response.status_code == status, response.text
    assert response.headers["content-type"].startswith("application/problem+json")
    body = dict(response.json())
    assert body["status"] == status and body["code"] == code, body
    assert body["detail"] and body["error_code"].startswith("ERR_")
    return body


async def test_register_login_me_round_trip(http: httpx.AsyncClient) -> None:
    user = await register(http, "Alice")
    assert set(user) == {"id", "username", "role", "is_active", "created_at"}
    assert user["username"] == "alice" and user["role"] == "user"

    form = await http.post("/api/auth/login", data={"username": "alice", "password": PASSWORD})
    assert form.status_code == 200
    body = form.json()
    assert set(body) == {"access_token", "token_type", "expires_in"}
    assert body["token_type"] == "bearer" and body["expires_in"] == 3600
    assert form.headers["cache-control"] == "no-store"

    me = await http.get("/api/auth/me", headers=auth(body["access_token"]))
    assert me.status_code == 200
    assert me.json() == {**user, "auth_method": "jwt"}


async def test_swagger_password_form_with_grant_type_works(http: httpx.AsyncClient) -> None:
    await register(http)
    response = await http.post(
        "/api/auth/login",
        data={"grant_type": "password", "username": "alice", "password": PASSWORD, "scope": ""},
    )
    assert response.status_code == 200
    bad_grant = await http.post(
        "/api/auth/login",
        data={"grant_type": "client_credentials", "username": "alice", "password": PASSWORD},
    )
    assert_problem(bad_grant, 400, "VALIDATION_ERROR")


async def test_openapi_declares_bearer_and_api_key_auth(http: httpx.AsyncClient) -> None:
    schema = (await http.get("/openapi.json")).json()
    schemes = schema["components"]["securitySchemes"]
    assert schemes["OAuth2Password"]["flows"]["password"]["tokenUrl"] == "/api/auth/login"
    assert schemes["ApiKey"] == {"type": "apiKey", "in": "header", "name": "X-API-Key"}
    assert {} in schema["security"]  # anonymous stays allowed where routes allow it
    login_body = schema["paths"]["/api/auth/login"]["post"]["requestBody"]["content"]
    assert {"application/x-www-form-urlencoded", "application/json"} <= set(login_body)


async def test_duplicate_username_is_409_case_insensitively(http: httpx.AsyncClient) -> None:
    await register(http, "alice")
    response = await http.post(
        "/api/auth/register", json={"username": "ALICE", "password": PASSWORD}
    )
    assert_problem(response, 409, "USERNAME_TAKEN")


async def test_weak_password_problem_names_the_rules(http: httpx.AsyncClient) -> None:
    response = await http.post(
        "/api/auth/register", json={"username": "alice", "password": "alice12345"}
    )
    body = assert_problem(response, 400, "WEAK_PASSWORD")
    assert body["details"]["failed"] == ["not contain the username"]
    assert "alice12345" not in response.text


@pytest.mark.parametrize(
    ("payload", "code"),
    [
        ({"username": "alice"}, "VALIDATION_ERROR"),
        ({"password": PASSWORD}, "VALIDATION_ERROR"),
        ({"username": 12345, "password": PASSWORD}, "VALIDATION_ERROR"),
        ({"username": "alice", "password": 1234567890123}, "VALIDATION_ERROR"),
        ({"username": ["alice"], "password": PASSWORD}, "VALIDATION_ERROR"),
        ({"username": "alice", "password": PASSWORD, "role": "admin"}, "VALIDATION_ERROR"),
        ({"username": "a" * 10_000, "password": PASSWORD}, "VALIDATION_ERROR"),
        ({"username": "alice", "password": "p" * 5000}, "VALIDATION_ERROR"),
        ({"username": "폐결절", "password": PASSWORD}, "INVALID_USERNAME"),
        ({"username": "al\u0000ice", "password": PASSWORD}, "INVALID_USERNAME"),
        ({"username": "-x-", "password": PASSWORD}, "INVALID_USERNAME"),
        ([], "VALIDATION_ERROR"),
        ("alice", "VALIDATION_ERROR"),
        (None, "VALIDATION_ERROR"),
    ],
)
async def test_register_bad_input_is_a_4xx_problem_and_writes_nothing(
    http: httpx.AsyncClient, payload: Any, code: str
) -> None:
    response = await http.post("/api/auth/register", json=payload)
    body = assert_problem(response, 400, code)
    assert PASSWORD not in response.text
    admin = await token_for(http, "root", "admin pass phrase 2026")
    users = (await http.get("/api/auth/users", headers=auth(admin))).json()
    assert [u["username"] for u in users] == ["root"], body


async def test_malformed_and_oversized_bodies(http: httpx.AsyncClient) -> None:
    for path in ("/api/auth/register", "/api/auth/login"):
        broken = await http.post(
            path, content=b'{"username": "alice", ', headers={"content-type": "application/json"}
        )
        assert_problem(broken, 400, "VALIDATION_ERROR")
        huge = await http.post(
            path,
            content=b'{"username": "' + b"a" * 2_000_000 + b'"}',
            headers={"content-type": "application/json"},
        )
        assert_problem(huge, 413, "PAYLOAD_TOO_LARGE")
        xml = await http.post(path, content=b"<x/>", headers={"content-type": "application/xml"})
        assert_problem(xml, 415, "UNSUPPORTED_MEDIA_TYPE")


@pytest.mark.parametrize(
    ("kwargs", "code", "status"),
    [
        ({"json": {"username": "alice"}}, "VALIDATION_ERROR", 400),
        ({"json": {"username": "alice", "password": 5}}, "VALIDATION_ERROR", 400),
        ({"json": {"username": "alice", "password": PASSWORD, "x": 1}}, "VALIDATION_ERROR", 400),
        ({"data": {"username": "alice"}}, "VALIDATION_ERROR", 400),
        ({"data": {"username": "alice", "password": ""}}, "VALIDATION_ERROR", 400),
        ({"files": {"username": ("u.txt", b"alice"), "password": ("p", b"x")}}, "VALIDATION_ERROR", 400),
        ({"json": {"username": "alice", "password": "wrong password!"}}, "INVALID_CREDENTIALS", 401),
        ({"json": {"username": "nobody", "password": PASSWORD}}, "INVALID_CREDENTIALS", 401),
        ({"json": {"username": "폐결절 🫁", "password": PASSWORD}}, "INVALID_CREDENTIALS", 401),
        ({"content": b"", "headers": {"content-type": "application/json"}}, "VALIDATION_ERROR", 400),
    ],
)  # fmt: skip
async def test_login_bad_input(
    http: httpx.AsyncClient, kwargs: dict[str, Any], code: str, status: int
) -> None:
    await register(http)
    response = await http.post("/api/auth/login", **kwargs)
    assert_problem(response, status, code)
    if status == 401:
        assert response.headers["www-authenticate"].startswith("Bearer")


async def test_protected_routes_need_credentials(http: httpx.AsyncClient) -> None:
    for method, path in [
        ("GET", "/api/auth/me"),
        ("GET", "/api/auth/api-keys"),
        ("POST", "/api/auth/api-keys"),
        ("DELETE", "/api/auth/api-keys/key_x"),
        ("POST", "/api/auth/api-keys/key_x/rotate"),
        ("GET", "/api/auth/users"),
        ("PATCH", "/api/auth/users/usr_x"),
    ]:
        response = await http.request(method, path, json={"name": "k", "role": "user"})
        assert_problem(response, 401, "AUTHENTICATION_REQUIRED")
        assert response.headers["www-authenticate"].startswith("Bearer")


async def test_user_on_admin_route_is_403(http: httpx.AsyncClient) -> None:
    alice = await register(http)
    token = await token_for(http, "alice")
    assert_problem(await http.get("/api/auth/users", headers=auth(token)), 403, "PERMISSION_DENIED")
    patch = await http.patch(
        f"/api/auth/users/{alice['id']}", json={"role": "admin"}, headers=auth(token)
    )
    assert_problem(patch, 403, "PERMISSION_DENIED")


async def test_admin_can_promote_and_deactivate(http: httpx.AsyncClient) -> None:
    alice = await register(http)
    alice_token = await token_for(http, "alice")
    admin = await token_for(http, "root", "admin pass phrase 2026")
    me = (await http.get("/api/auth/me", headers=auth(admin))).json()
    assert me["role"] == "admin"

    promoted = await http.patch(
        f"/api/auth/users/{alice['id']}", json={"role": "admin"}, headers=auth(admin)
    )
    assert promoted.status_code == 200 and promoted.json()["role"] == "admin"
    # The role comes from the account, not from the token issued before the promotion.
    assert (await http.get("/api/auth/users", headers=auth(alice_token))).status_code == 200

    off = await http.patch(
        f"/api/auth/users/{alice['id']}", json={"is_active": False}, headers=auth(admin)
    )
    assert off.json()["is_active"] is False
    gone = await http.get("/api/auth/me", headers=auth(alice_token))
    assert_problem(gone, 401, "AUTHENTICATION_REQUIRED")
    relogin = await http.post("/api/auth/login", json={"username": "alice", "password": PASSWORD})
    assert_problem(relogin, 401, "INVALID_CREDENTIALS")

    for body, status, code in [
        ({"role": "superuser"}, 400, "VALIDATION_ERROR"),
        ({"is_active": "yes"}, 400, "VALIDATION_ERROR"),
        ({"username": "x"}, 400, "VALIDATION_ERROR"),
    ]:
        bad = await http.patch(f"/api/auth/users/{alice['id']}", json=body, headers=auth(admin))
        assert_problem(bad, status, code)
    unknown = await http.patch(
        "/api/auth/users/usr_nope", json={"role": "user"}, headers=auth(admin)
    )
    assert_problem(unknown, 404, "USER_NOT_FOUND")
    selfie = await http.patch(
        f"/api/auth/users/{me['id']}", json={"role": "user"}, headers=auth(admin)
    )
    assert_problem(selfie, 409, "SELF_MODIFICATION")
    paging = await http.get("/api/auth/users?limit=0", headers=auth(admin))
    assert_problem(paging, 400, "VALIDATION_ERROR")
    page = await http.get("/api/auth/users?limit=1&offset=1", headers=auth(admin))
    assert [u["username"] for u in page.json()] == ["alice"]


async def test_api_key_endpoints(http: httpx.AsyncClient) -> None:
    await register(http)
    token = await token_for(http, "alice")
    created = await http.post("/api/auth/api-keys", json={"name": "importer"}, headers=auth(token))
    assert created.status_code == 201 and created.headers["cache-control"] == "no-store"
    key = created.json()
    assert set(key) == {"id", "name", "prefix", "created_at", "rotated_at", "key"}
    assert key["key"].startswith(key["prefix"] + "_") and key["prefix"].startswith("rdk_")

    listed = (await http.get("/api/auth/api-keys", headers=auth(token))).json()
    assert listed == [{k: v for k, v in key.items() if k != "key"}]
    assert key["key"] not in str(listed)

    me = await http.get("/api/auth/me", headers={"X-API-Key": key["key"]})
    assert me.status_code == 200 and me.json()["auth_method"] == "api_key"
    via_key = await http.get("/api/auth/api-keys", headers={"X-API-Key": key["key"]})
    assert_problem(via_key, 403, "PERMISSION_DENIED")

    rotated = await http.post(f"/api/auth/api-keys/{key['id']}/rotate", headers=auth(token))
    assert rotated.status_code == 200
    new = rotated.json()
    assert new["id"] == key["id"] and new["key"] != key["key"] and new["rotated_at"]
    old = await http.get("/api/auth/me", headers={"X-API-Key": key["key"]})
    assert_problem(old, 401, "AUTHENTICATION_REQUIRED")
    assert (await http.get("/api/auth/me", headers={"X-API-Key": new["key"]})).status_code == 200

    revoked = await http.delete(f"/api/auth/api-keys/{key['id']}", headers=auth(token))
    assert revoked.status_code == 204 and revoked.content == b""
    dead = await http.get("/api/auth/me", headers={"X-API-Key": new["key"]})
    body = assert_problem(dead, 401, "AUTHENTICATION_REQUIRED")
    assert new["key"] not in dead.text and body["details"] == {"reason": "invalid"}
    again = await http.delete(f"/api/auth/api-keys/{key['id']}", headers=auth(token))
    assert_problem(again, 404, "API_KEY_NOT_FOUND")


@pytest.mark.parametrize(
    ("body", "status"),
    [({}, 400), ({"name": ""}, 400), ({"name": "x" * 101}, 400), ({"name": 5}, 400),
     ({"name": "tab\there"}, 400), ({"name": "k", "key": "rdk_mine"}, 400),
     ({"name": "한국어 키 🔑"}, 201)],
)  # fmt: skip
async def test_api_key_create_bad_input(
    http: httpx.AsyncClient, body: dict[str, Any], status: int
) -> None:
    await register(http)
    token = await token_for(http, "alice")
    response = await http.post("/api/auth/api-keys", json=body, headers=auth(token))
    assert response.status_code == status, response.text
    if status == 201:
        assert response.json()["name"] == body["name"]
    else:
        assert (await http.get("/api/auth/api-keys", headers=auth(token))).json() == []


@pytest.mark.parametrize("key_id", ["key_unknown", "x" * 64, "../../etc", "%00", "한"])
async def test_unknown_api_key_ids_are_404(http: httpx.AsyncClient, key_id: str) -> None:
    await register(http)
    token = await token_for(http, "alice")
    for method, path in (("DELETE", f"/api/auth/api-keys/{key_id}"),
                         ("POST", f"/api/auth/api-keys/{key_id}/rotate")):  # fmt: skip
        response = await http.request(method, path, headers=auth(token))
        assert response.status_code == 404, response.text
    too_long = await http.delete("/api/auth/api-keys/" + "x" * 65, headers=auth(token))
    assert_problem(too_long, 400, "VALIDATION_ERROR")


async def test_another_users_api_key_is_404(http: httpx.AsyncClient) -> None:
    await register(http, "alice")
    await register(http, "mallory")
    alice, mallory = await token_for(http, "alice"), await token_for(http, "mallory")
    key = (await http.post("/api/auth/api-keys", json={"name": "k"}, headers=auth(alice))).json()
    for method, path in (("DELETE", f"/api/auth/api-keys/{key['id']}"),
                         ("POST", f"/api/auth/api-keys/{key['id']}/rotate")):  # fmt: skip
        response = await http.request(method, path, headers=auth(mallory))
        assert_problem(response, 404, "API_KEY_NOT_FOUND")
    assert (await http.get("/api/auth/me", headers={"X-API-Key": key["key"]})).status_code == 200


async def test_key_limit_is_409(app_factory: Any) -> None:
    async with app_factory(**FAST_HASH, api_keys_per_user_max=2) as (_app, http):
        await register(http)
        token = await token_for(http, "alice")
        for _ in range(2):
            ok = await http.post("/api/auth/api-keys", json={"name": "k"}, headers=auth(token))
            assert ok.status_code == 201
        full = await http.post("/api/auth/api-keys", json={"name": "k"}, headers=auth(token))
        assert_problem(full, 409, "API_KEY_LIMIT_REACHED")


async def test_auth_required_turns_anonymous_regulatory_use_off(app_factory: Any) -> None:
    async with app_factory(**FAST_HASH, auth_required=True) as (_app, http):
        anonymous = await http.post("/api/sessions", json={"data": {}})
        assert_problem(anonymous, 401, "AUTHENTICATION_REQUIRED")
        assert anonymous.headers["www-authenticate"].startswith("Bearer")
        await register(http)
        token = await token_for(http, "alice")
        created = await http.post("/api/sessions", json={"data": {}}, headers=auth(token))
        assert created.status_code == 201


async def test_sessions_stay_anonymous_by_default_but_listing_needs_a_user(
    http: httpx.AsyncClient,
) -> None:
    anonymous = await http.post("/api/sessions", json={"data": {}})
    assert anonymous.status_code == 201
    assert_problem(await http.get("/api/sessions"), 401, "AUTHENTICATION_REQUIRED")
