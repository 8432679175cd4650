"""AuthService rules over the memory adapters: registration, login cost, caller resolution,
API keys, admin bootstrap and user management."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from app.accounts.service import AuthService, password_problems
from app.platform.errors import (
    ApiKeyLimitError,
    ApiKeyNotFoundError,
    AuthenticationError,
    InvalidCredentialsError,
    InvalidUsernameError,
    PermissionDeniedError,
    SelfModificationError,
    UsernameTakenError,
    UserNotFoundError,
    WeakPasswordError,
)
from app.platform.principal import Credentials, Principal, credentials_from_scope
from app.platform.security import TokenCodec
from tests.unit.auth.conftest import SECRET, Clock

pytestmark = pytest.mark.unit

PASSWORD = "correct horse battery"


def scope(**headers: str) -> Credentials:
    return credentials_from_scope(
        {
            "type": "http",
            "headers": [
                (k.replace("_", "-").lower().encode(), v.encode()) for k, v in headers.items()
            ],
        }
    )


def bearer(token: str) -> Credentials:
    return scope(authorization=f"Bearer {token}")


async def login_principal(service: AuthService, username: str = "alice") -> Principal:
    token = await service.login(username=username, password=PASSWORD)
    principal = await service.resolve_principal(bearer(token.access_token))
    assert principal is not None
    return principal


# --- registration --------------------------------------------------------------------
async def test_register_normalises_username_and_hashes_password(service: AuthService) -> None:
    user = await service.register(username="Alice.K-1", password=PASSWORD)
    assert user.username == "alice.k-1" and user.role == "user" and user.is_active
    assert user.password_hash.startswith("$argon2id$") and PASSWORD not in user.password_hash
    assert user.id.startswith("usr_")
    with pytest.raises(UsernameTakenError):
        await service.register(username="ALICE.k-1", password=PASSWORD)


@pytest.mark.parametrize(
    "username",
    ["ab", "a" * 33, "_alice", ".alice", "al ice", "alice\n", " alice", "알리스", "alicé",
     "al/ice", "al@ice", "", "ａｌｉｃｅ"],
)  # fmt: skip
async def test_register_refuses_bad_usernames(service: AuthService, username: str) -> None:
    with pytest.raises(InvalidUsernameError) as exc:
        await service.register(username=username, password=PASSWORD)
    assert "3 to 32 characters" in exc.value.detail


@pytest.mark.parametrize(
    ("password", "rule"),
    [
        ("short1!", "be 10 to 128 characters long"),
        ("x" * 129 + "abc", "be 10 to 128 characters long"),
        ("my-alice-password", "not contain the username"),
        ("MY-ALICE-PASSWORD", "not contain the username"),
        ("qwertyuiop", "not be a commonly used password"),
        ("Password123", "not be a commonly used password"),
        ("aaaaaaaaaaaaab", "have at least 4 different characters"),
    ],
)
async def test_weak_passwords_name_the_broken_rule(
    service: AuthService, password: str, rule: str
) -> None:
    with pytest.raises(WeakPasswordError) as exc:
        await service.register(username="alice", password=password)
    assert rule in exc.value.details["failed"]
    assert rule in exc.value.detail
    assert password not in exc.value.detail and password not in str(exc.value.details)


def test_korean_passphrases_are_fine() -> None:
    assert password_problems("폐결절 검출 소프트웨어", username="alice") == []


async def test_concurrent_registrations_of_one_name_have_one_winner(service: AuthService) -> None:
    results = await asyncio.gather(
        *(service.register(username="dup", password=PASSWORD) for _ in range(8)),
        return_exceptions=True,
    )
    assert sum(1 for r in results if not isinstance(r, Exception)) == 1
    assert all(isinstance(r, UsernameTakenError) for r in results if isinstance(r, Exception))


# --- login ---------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("username", "password"),
    [
        ("alice", PASSWORD),  # right
        ("alice", "wrong horse battery"),  # wrong password
        ("ALICE", "wrong horse battery"),  # wrong password, other case
        ("nobody", PASSWORD),  # unknown user
        ("no such user!", PASSWORD),  # not even a valid username
        ("disabled", PASSWORD),  # inactive user, right password
    ],
)
async def test_every_login_path_costs_exactly_one_password_verification(
    make_service: Callable[..., AuthService], username: str, password: str
) -> None:
    service = make_service()
    await service.register(username="alice", password=PASSWORD)
    disabled = await service.register(username="disabled", password=PASSWORD)
    admin = Principal(user_id="usr_admin", username="root", role="admin", auth_method="jwt")
    await service.update_user(actor=admin, user_id=disabled.id, is_active=False)
    hasher = service._passwords
    await hasher.warm_up()
    before = hasher.verifications
    try:
        await service.login(username=username, password=password)
        outcome = "ok"
    except InvalidCredentialsError as exc:
        outcome = exc.detail
    assert hasher.verifications - before == 1
    if (username, password) == ("alice", PASSWORD):
        assert outcome == "ok"
    else:
        # The same words for every failure: nothing tells an unknown user from a wrong password.
        assert outcome == "The username or password is wrong."


async def test_login_is_case_insensitive_on_username(service: AuthService) -> None:
    await service.register(username="alice", password=PASSWORD)
    token = await service.login(username="Alice", password=PASSWORD)
    assert token.expires_in == 3600


# --- resolving the caller --------------------------------------------------------------
async def test_no_credentials_means_anonymous(service: AuthService) -> None:
    assert await service.resolve_principal(scope()) is None
    assert await service.resolve_principal(credentials_from_scope({"type": "http"})) is None
    # Other schemes (e.g. a proxy's Basic auth) are not ours.
    assert await service.resolve_principal(scope(authorization="Basic YWxpY2U6eA==")) is None


@pytest.mark.parametrize(
    "headers",
    [
        {"authorization": "Bearer"},
        {"authorization": "Bearer   "},
        {"authorization": "Bearer not-a-jwt"},
        {"authorization": "bearer a.b.c"},
        {"x_api_key": ""},
        {"x_api_key": "rdk_nothing"},
        {"x_api_key": "rdk_1234abcd_" + "a" * 43},
    ],
)
async def test_bad_credentials_are_401_not_anonymous(
    service: AuthService, headers: dict[str, str]
) -> None:
    with pytest.raises(AuthenticationError) as exc:
        await service.resolve_principal(scope(**headers))
    assert exc.value.status == 401 and "WWW-Authenticate" in exc.value.headers


async def test_both_credentials_at_once_are_refused(service: AuthService) -> None:
    await service.register(username="alice", password=PASSWORD)
    principal = await login_principal(service)
    _record, key = await service.create_api_key(principal=principal, name="k")
    token = (await service.login(username="alice", password=PASSWORD)).access_token
    with pytest.raises(AuthenticationError, match="not both"):
        await service.resolve_principal(scope(authorization=f"Bearer {token}", x_api_key=key))


async def test_token_resolves_to_the_user_with_current_role(service: AuthService) -> None:
    user = await service.register(username="alice", password=PASSWORD)
    principal = await login_principal(service)
    assert principal == Principal(user.id, "alice", "user", "jwt")


async def test_deactivated_users_tokens_stop_working_after_the_cache_ttl(
    make_service: Callable[..., AuthService], clock: Clock
) -> None:
    worker_a, worker_b = make_service(), make_service()
    user = await worker_a.register(username="alice", password=PASSWORD)
    token = (await worker_a.login(username="alice", password=PASSWORD)).access_token
    assert await worker_b.resolve_principal(bearer(token)) is not None  # cached in B now
    admin = Principal(user_id="usr_admin", username="root", role="admin", auth_method="jwt")
    await worker_a.update_user(actor=admin, user_id=user.id, is_active=False)
    with pytest.raises(AuthenticationError):  # the worker that made the change: at once
        await worker_a.resolve_principal(bearer(token))
    assert await worker_b.resolve_principal(bearer(token)) is not None  # within the TTL
    clock.now += 5.01
    with pytest.raises(AuthenticationError):
        await worker_b.resolve_principal(bearer(token))


# --- the change feed ----------------------------------------------------------------------
class CountingUsers:
    """The shared memory repository, counting the per-request account reads."""

    def __init__(self, inner: Any) -> None:
        self.inner = inner
        self.gets = 0

    def __getattr__(self, name: str) -> Any:
        return getattr(self.inner, name)

    async def get(self, user_id: str) -> Any:
        self.gets += 1
        return await self.inner.get(user_id)


async def test_a_token_reads_its_account_once_per_cache_ttl(
    make_service: Callable[..., AuthService], users: Any, clock: Clock
) -> None:
    counting = CountingUsers(users)
    worker = make_service(users=counting)
    user = await worker.register(username="alice", password=PASSWORD)
    token = (await worker.login(username="alice", password=PASSWORD)).access_token
    await worker.refresh_user_changes()
    counting.gets = 0
    for _ in range(3):
        principal = await worker.resolve_principal(bearer(token))
        assert principal == Principal(user.id, "alice", "user", "jwt")
    assert counting.gets == 1
    clock.now += 5.01
    assert await worker.resolve_principal(bearer(token)) is not None
    assert counting.gets == 2


async def test_a_user_removed_from_the_store_is_a_401_for_tokens_and_keys(
    make_service: Callable[..., AuthService], users: Any, clock: Clock
) -> None:
    worker = make_service()
    user = await worker.register(username="alice", password=PASSWORD)
    token = (await worker.login(username="alice", password=PASSWORD)).access_token
    principal = await worker.resolve_principal(bearer(token))
    assert principal is not None
    _record, key = await worker.create_api_key(principal=principal, name="k")
    await worker.refresh_user_changes()  # a fresh feed vouches for nobody that is gone
    del users._by_id[user.id]  # an operator deletes the row behind the service's back
    # Reads of the account itself notice at once; every other route within the cache TTL.
    with pytest.raises(AuthenticationError):
        await worker.current_user(principal=principal)
    with pytest.raises(AuthenticationError):
        await worker.create_api_key(principal=principal, name="k2")
    clock.now += 5.01
    for credentials in (bearer(token), scope(x_api_key=key)):
        with pytest.raises(AuthenticationError) as caught:
            await worker.resolve_principal(credentials)
        assert caught.value.details == {"reason": "inactive"}


async def test_deactivation_and_promotion_reach_other_workers_by_the_feed(
    make_service: Callable[..., AuthService], users: Any
) -> None:
    counting = CountingUsers(users)
    worker_a, worker_b = make_service(), make_service(users=counting)
    user = await worker_a.register(username="alice", password=PASSWORD)
    bob = await worker_a.register(username="bob", password=PASSWORD)
    token = (await worker_a.login(username="alice", password=PASSWORD)).access_token
    bob_token = (await worker_a.login(username="bob", password=PASSWORD)).access_token
    for worker in (worker_a, worker_b):
        await worker.refresh_user_changes()
    assert await worker_b.resolve_principal(bearer(token)) is not None
    admin = Principal(user_id="usr_admin", username="root", role="admin", auth_method="jwt")
    await worker_a.update_user(actor=admin, user_id=user.id, is_active=False)
    await worker_a.update_user(actor=admin, user_id=bob.id, role="admin")
    with pytest.raises(AuthenticationError):  # the worker that made the change: at once
        await worker_a.resolve_principal(bearer(token))
    promoted = await worker_a.resolve_principal(bearer(bob_token))
    assert promoted is not None and promoted.role == "admin"
    # Worker B trusts its cached read until its next pull, then the changed accounts win.
    assert await worker_b.resolve_principal(bearer(token)) is not None
    assert await worker_b.refresh_user_changes() == 2
    with pytest.raises(AuthenticationError):
        await worker_b.resolve_principal(bearer(token))
    promoted = await worker_b.resolve_principal(bearer(bob_token))
    assert promoted is not None and promoted.role == "admin"
    assert counting.gets == 2  # one cached read per account, the rest from the feed


async def test_a_stale_feed_falls_back_to_reading_the_account(
    make_service: Callable[..., AuthService], users: Any, clock: Clock
) -> None:
    counting = CountingUsers(users)
    worker = make_service(users=counting, changes_poll_s=1.0)
    await worker.register(username="alice", password=PASSWORD)
    token = (await worker.login(username="alice", password=PASSWORD)).access_token
    # Never pulled (e.g. the database was down at startup): every answer comes from a read.
    assert await worker.resolve_principal(bearer(token)) is not None
    assert counting.gets == 1
    await worker.refresh_user_changes()
    clock.now += 5.01  # the last pull is now too old to vouch for anyone
    worker._user_cache.pop((await worker.resolve_principal(bearer(token))).user_id)  # type: ignore[union-attr]
    counting.gets = 0
    assert await worker.resolve_principal(bearer(token)) is not None
    assert counting.gets == 1


async def test_tokens_without_a_name_claim_read_the_account(
    make_service: Callable[..., AuthService], users: Any
) -> None:
    counting = CountingUsers(users)
    now = [datetime.now(UTC) - timedelta(hours=2)]
    worker = make_service(users=counting, now=lambda: now[0])
    user = await worker.register(username="alice", password=PASSWORD)
    now[0] = datetime.now(UTC)  # alice is no longer a recent change
    await worker.refresh_user_changes()
    old_style = TokenCodec(secret_key=SECRET, expire_minutes=60).issue(
        user_id=user.id, role="user", now=now[0].timestamp()
    )
    principal = await worker.resolve_principal(bearer(old_style.access_token))
    assert principal == Principal(user.id, "alice", "user", "jwt")
    assert counting.gets == 1


async def test_tokens_living_longer_than_we_issue_read_the_account(
    make_service: Callable[..., AuthService], users: Any
) -> None:
    counting = CountingUsers(users)
    now = [datetime.now(UTC) - timedelta(hours=2)]
    worker = make_service(users=counting, now=lambda: now[0])  # issues 60-minute tokens
    user = await worker.register(username="alice", password=PASSWORD)
    now[0] = datetime.now(UTC)
    await worker.refresh_user_changes()
    long_lived = TokenCodec(secret_key=SECRET, expire_minutes=240).issue(
        user_id=user.id, role="user", username="alice"
    )
    assert await worker.resolve_principal(bearer(long_lived.access_token)) is not None
    assert counting.gets == 1


async def test_the_feed_forgets_changes_older_than_any_live_token(
    make_service: Callable[..., AuthService], users: Any
) -> None:
    now = [datetime(2026, 11, 22, 12, 0, tzinfo=UTC)]
    worker = make_service(now=lambda: now[0])
    user = await worker.register(username="alice", password=PASSWORD)
    admin = Principal(user_id="usr_admin", username="root", role="admin", auth_method="jwt")
    await worker.update_user(actor=admin, user_id=user.id, role="admin")
    assert await worker.refresh_user_changes() == 1
    now[0] += timedelta(hours=2)  # tokens live 60 min: nothing issued before the change lives
    assert await worker.refresh_user_changes() == 0
    assert worker._changed == {}


# --- API keys ---------------------------------------------------------------------------
async def test_api_key_lifecycle(service: AuthService, api_keys: Any) -> None:
    await service.register(username="alice", password=PASSWORD)
    principal = await login_principal(service)
    record, key = await service.create_api_key(principal=principal, name="importer")
    assert key.startswith(record.prefix + "_") and record.name == "importer"
    stored = await api_keys.get_by_hash(record.key_hash)
    assert stored is not None and key not in repr(stored)
    via_key = await service.resolve_principal(scope(x_api_key=key))
    assert via_key == Principal(principal.user_id, "alice", "user", "api_key")
    assert [k.id for k in await service.list_api_keys(principal=principal)] == [record.id]

    rotated, new_key = await service.rotate_api_key(principal=principal, key_id=record.id)
    assert rotated.id == record.id and rotated.name == "importer" and new_key != key
    assert rotated.rotated_at is not None
    with pytest.raises(AuthenticationError):  # old secret: dead at once, even though cached
        await service.resolve_principal(scope(x_api_key=key))
    assert await service.resolve_principal(scope(x_api_key=new_key)) is not None

    await service.revoke_api_key(principal=principal, key_id=record.id)
    with pytest.raises(AuthenticationError):
        await service.resolve_principal(scope(x_api_key=new_key))
    assert await service.list_api_keys(principal=principal) == []
    with pytest.raises(ApiKeyNotFoundError):
        await service.revoke_api_key(principal=principal, key_id=record.id)
    with pytest.raises(ApiKeyNotFoundError):
        await service.rotate_api_key(principal=principal, key_id=record.id)


async def test_revocation_in_another_worker_applies_within_the_cache_ttl(
    make_service: Callable[..., AuthService], clock: Clock
) -> None:
    worker_a, worker_b = make_service(), make_service()
    await worker_a.register(username="alice", password=PASSWORD)
    principal = await login_principal(worker_a)
    record, key = await worker_a.create_api_key(principal=principal, name="k")
    assert await worker_b.resolve_principal(scope(x_api_key=key)) is not None
    await worker_a.revoke_api_key(principal=principal, key_id=record.id)
    assert await worker_b.resolve_principal(scope(x_api_key=key)) is not None
    clock.now += 5.01
    with pytest.raises(AuthenticationError):
        await worker_b.resolve_principal(scope(x_api_key=key))


async def test_no_cache_means_revocation_is_seen_by_every_worker_at_once(
    make_service: Callable[..., AuthService],
) -> None:
    worker_a, worker_b = make_service(cache_ttl_s=0), make_service(cache_ttl_s=0)
    await worker_a.register(username="alice", password=PASSWORD)
    principal = await login_principal(worker_a)
    record, key = await worker_a.create_api_key(principal=principal, name="k")
    assert await worker_b.resolve_principal(scope(x_api_key=key)) is not None
    await worker_a.revoke_api_key(principal=principal, key_id=record.id)
    with pytest.raises(AuthenticationError):
        await worker_b.resolve_principal(scope(x_api_key=key))


async def test_keys_of_another_user_are_not_found(service: AuthService) -> None:
    await service.register(username="alice", password=PASSWORD)
    await service.register(username="mallory", password=PASSWORD)
    alice = await login_principal(service, "alice")
    mallory = await login_principal(service, "mallory")
    record, key = await service.create_api_key(principal=alice, name="k")
    with pytest.raises(ApiKeyNotFoundError):
        await service.revoke_api_key(principal=mallory, key_id=record.id)
    with pytest.raises(ApiKeyNotFoundError):
        await service.rotate_api_key(principal=mallory, key_id=record.id)
    assert await service.list_api_keys(principal=mallory) == []
    assert await service.resolve_principal(scope(x_api_key=key)) is not None


async def test_api_keys_cannot_manage_api_keys(service: AuthService) -> None:
    await service.register(username="alice", password=PASSWORD)
    principal = await login_principal(service)
    record, key = await service.create_api_key(principal=principal, name="k")
    via_key = await service.resolve_principal(scope(x_api_key=key))
    assert via_key is not None
    for call in (
        service.create_api_key(principal=via_key, name="child"),
        service.list_api_keys(principal=via_key),
        service.rotate_api_key(principal=via_key, key_id=record.id),
        service.revoke_api_key(principal=via_key, key_id=record.id),
    ):
        with pytest.raises(PermissionDeniedError):
            await call


async def test_active_key_limit_is_enforced_and_freed_by_revoking(service: AuthService) -> None:
    await service.register(username="alice", password=PASSWORD)
    principal = await login_principal(service)
    records = [
        (await service.create_api_key(principal=principal, name=f"k{i}"))[0] for i in range(3)
    ]
    with pytest.raises(ApiKeyLimitError):
        await service.create_api_key(principal=principal, name="one too many")
    await service.revoke_api_key(principal=principal, key_id=records[0].id)
    await service.create_api_key(principal=principal, name="fits again")


# --- admins --------------------------------------------------------------------------
async def test_ensure_admin_creates_updates_and_leaves_alone(service: AuthService) -> None:
    admin, action = await service.ensure_admin(username="root", password="first admin password")
    assert (admin.role, action) == ("admin", "created")
    again, action = await service.ensure_admin(username="ROOT", password="first admin password")
    assert (again.id, action) == (admin.id, "unchanged")
    changed, action = await service.ensure_admin(username="root", password="second admin pass")
    assert (changed.id, action) == (admin.id, "updated")
    with pytest.raises(InvalidCredentialsError):
        await service.login(username="root", password="first admin password")
    await service.login(username="root", password="second admin pass")


async def test_ensure_admin_promotes_an_existing_user(service: AuthService) -> None:
    user = await service.register(username="carol", password=PASSWORD)
    admin, action = await service.ensure_admin(username="carol", password="new admin password")
    assert (admin.id, admin.role, action) == (user.id, "admin", "updated")


async def test_ensure_admin_applies_the_password_policy(service: AuthService) -> None:
    with pytest.raises(WeakPasswordError):
        await service.ensure_admin(username="root", password="root")


async def test_concurrent_admin_bootstraps_leave_one_admin(
    service: AuthService, users: Any
) -> None:
    results = await asyncio.gather(
        *(service.ensure_admin(username="root", password="boot admin password") for _ in range(5))
    )
    assert len({user.id for user, _action in results}) == 1
    assert [u.username for u in await users.list(limit=10, offset=0)] == ["root"]


async def test_admins_manage_others_but_not_themselves(service: AuthService) -> None:
    admin_user, _ = await service.ensure_admin(username="root", password="boot admin password")
    user = await service.register(username="alice", password=PASSWORD)
    admin = Principal(admin_user.id, "root", "admin", "jwt")
    promoted = await service.update_user(actor=admin, user_id=user.id, role="admin")
    assert promoted.role == "admin"
    with pytest.raises(SelfModificationError):
        await service.update_user(actor=admin, user_id=admin_user.id, role="user")
    with pytest.raises(SelfModificationError):
        await service.update_user(actor=admin, user_id=admin_user.id, is_active=False)
    with pytest.raises(UserNotFoundError):
        await service.update_user(actor=admin, user_id="usr_nope", role="user")


async def test_verified_tokens_are_reused_but_never_past_their_expiry(
    make_service: Callable[..., AuthService], clock: Clock
) -> None:
    fixed_now = datetime.now(UTC)
    service = make_service(now=lambda: fixed_now)
    await service.register(username="alice", password=PASSWORD)
    token = (await service.login(username="alice", password=PASSWORD)).access_token
    codec = service._tokens
    calls = 0
    real_verify = codec.verify

    def counting_verify(raw: str) -> Any:
        nonlocal calls
        calls += 1
        return real_verify(raw)

    codec.verify = counting_verify  # type: ignore[method-assign]
    for _ in range(3):
        await service.resolve_principal(bearer(token))
    assert calls == 1  # cached for AUTH_CACHE_TTL_S
    clock.now += 5.01
    await service.resolve_principal(bearer(token))
    assert calls == 2
    # A token 1 s from expiry is kept 1 s, not the full 5 s.
    fixed_now = datetime.fromtimestamp(codec.verify(token).expires_at - 1, UTC)
    calls = 0
    clock.now += 10
    await service.resolve_principal(bearer(token))
    clock.now += 1.01
    await service.resolve_principal(bearer(token))
    assert calls == 2
    # A forged variant never hits the cache of the real one.
    with pytest.raises(AuthenticationError):
        await service.resolve_principal(bearer(token[:-2] + "xx"))
