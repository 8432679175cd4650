"""One contract, every UserRepository / ApiKeyRepository adapter: memory, SQLite, PostgreSQL."""

from __future__ import annotations

import asyncio
import secrets
from dataclasses import replace
from datetime import UTC, datetime, timedelta

import pytest

from app.accounts.adapters.sql.api_keys import SqlApiKeyRepository
from app.accounts.adapters.sql.users import SqlUserRepository
from app.accounts.repository import (
    ApiKeyRecord,
    ApiKeyRepository,
    OwnerMissingError,
    UserRecord,
    UserRepository,
)
from app.platform.security import generate_api_key
from tests.support.fakes.api_keys import MemoryApiKeyRepository
from tests.support.fakes.users import MemoryUserRepository

pytestmark = pytest.mark.integration

T0 = datetime(2026, 1, 15, 10, 30, tzinfo=UTC)


@pytest.fixture
def repos(sql_backend) -> tuple[UserRepository, ApiKeyRepository]:  # type: ignore[no-untyped-def]
    if sql_backend.kind == "memory":
        return MemoryUserRepository(), MemoryApiKeyRepository()
    return SqlUserRepository(sql_backend.engine), SqlApiKeyRepository(sql_backend.engine)


def user(name: str, *, at: datetime = T0, role: str = "user") -> UserRecord:
    return UserRecord(
        id="usr_" + secrets.token_hex(8),
        username=name,
        password_hash="$argon2id$v=19$m=1024,t=1,p=4$" + secrets.token_hex(8),
        role=role,
        is_active=True,
        created_at=at,
        updated_at=at,
    )


def key(user_id: str, name: str = "k", *, at: datetime = T0) -> ApiKeyRecord:
    generated = generate_api_key()
    return ApiKeyRecord(
        id="key_" + secrets.token_hex(8),
        user_id=user_id,
        name=name,
        prefix=generated.prefix,
        key_hash=generated.key_hash,
        created_at=at,
    )


async def test_users_round_trip_and_unique_usernames(
    repos: tuple[UserRepository, ApiKeyRepository],
) -> None:
    users, _ = repos
    alice = user("alice")
    assert await users.create(alice) is True
    assert await users.get(alice.id) == alice
    assert await users.get_by_username("alice") == alice
    assert (await users.get(alice.id)).created_at.tzinfo is not None  # type: ignore[union-attr]
    assert await users.create(user("alice")) is False
    assert await users.get_by_username("alice") == alice
    assert await users.get("usr_missing") is None
    assert await users.get_by_username("bob") is None


async def test_concurrent_creates_of_one_username_have_one_winner(
    repos: tuple[UserRepository, ApiKeyRepository],
) -> None:
    users, _ = repos
    candidates = [user("race") for _ in range(10)]
    results = await asyncio.gather(*(users.create(c) for c in candidates))
    assert results.count(True) == 1
    stored = await users.get_by_username("race")
    assert stored == candidates[results.index(True)]


async def test_list_is_ordered_and_paged(repos: tuple[UserRepository, ApiKeyRepository]) -> None:
    users, _ = repos
    made = [user(f"user{i}", at=T0 + timedelta(seconds=i)) for i in range(5)]
    for u in reversed(made):
        await users.create(u)
    assert [u.username for u in await users.list(limit=10, offset=0)] == [u.username for u in made]
    assert [u.username for u in await users.list(limit=2, offset=3)] == ["user3", "user4"]
    assert await users.list(limit=5, offset=10) == []


async def test_update_changes_only_what_is_given(
    repos: tuple[UserRepository, ApiKeyRepository],
) -> None:
    users, _ = repos
    alice = user("alice")
    await users.create(alice)
    later = T0 + timedelta(hours=1)
    promoted = await users.update(alice.id, role="admin", updated_at=later)
    assert promoted == replace(alice, role="admin", updated_at=later)
    off = await users.update(alice.id, is_active=False, updated_at=later)
    assert off is not None and off.role == "admin" and off.is_active is False
    assert await users.update("usr_missing", role="user", updated_at=later) is None


async def test_changed_since_returns_users_updated_at_or_after_the_time(
    repos: tuple[UserRepository, ApiKeyRepository],
) -> None:
    users, _ = repos
    old, fresh, changed = user("old"), user("fresh", at=T0 + timedelta(minutes=10)), user("chg")
    for record in (old, fresh, changed):
        await users.create(record)
    assert {u.id for u in await users.changed_since(T0 + timedelta(minutes=5))} == {fresh.id}
    later = T0 + timedelta(minutes=20)
    await users.update(changed.id, is_active=False, updated_at=later)
    seen = {u.id: u for u in await users.changed_since(T0 + timedelta(minutes=10))}
    assert set(seen) == {fresh.id, changed.id}  # "at or after": the boundary is included
    assert seen[changed.id].is_active is False and seen[changed.id].updated_at == later
    assert await users.changed_since(later + timedelta(microseconds=1)) == []


async def test_upsert_admin_creates_then_promotes_and_resets_password(
    repos: tuple[UserRepository, ApiKeyRepository],
) -> None:
    users, _ = repos
    carol = user("carol")
    await users.create(carol)
    await users.update(carol.id, is_active=False, updated_at=T0)
    later = T0 + timedelta(minutes=5)
    admin = await users.upsert_admin(replace(user("carol", at=later), password_hash="new-hash"))
    assert (admin.id, admin.role, admin.is_active) == (carol.id, "admin", True)
    assert admin.password_hash == "new-hash" and admin.created_at == carol.created_at
    fresh = await users.upsert_admin(user("root"))
    assert fresh.role == "admin" and await users.get(fresh.id) == fresh


async def test_concurrent_admin_upserts_never_conflict(
    repos: tuple[UserRepository, ApiKeyRepository],
) -> None:
    users, _ = repos
    results = await asyncio.gather(*(users.upsert_admin(user("root")) for _ in range(10)))
    assert len({r.id for r in results}) == 1
    assert [u.username for u in await users.list(limit=20, offset=0)] == ["root"]


async def test_api_keys_round_trip(repos: tuple[UserRepository, ApiKeyRepository]) -> None:
    users, keys = repos
    alice = user("alice")
    await users.create(alice)
    first, second = key(alice.id, "한국어 키"), key(alice.id, "b", at=T0 + timedelta(seconds=1))
    assert await keys.create(first, max_active=10) is True
    assert await keys.create(second, max_active=10) is True
    assert await keys.get_by_hash(first.key_hash) == first
    assert await keys.get_by_hash("0" * 64) is None
    assert await keys.list_active(alice.id) == [first, second]
    assert await keys.list_active("usr_other") == []


async def test_revoke_only_the_owners_active_key(
    repos: tuple[UserRepository, ApiKeyRepository],
) -> None:
    users, keys = repos
    alice, mallory = user("alice"), user("mallory")
    await users.create(alice)
    await users.create(mallory)
    k = key(alice.id)
    await keys.create(k, max_active=10)
    when = T0 + timedelta(hours=2)
    assert await keys.revoke(k.id, user_id=mallory.id, revoked_at=when) is None
    revoked = await keys.revoke(k.id, user_id=alice.id, revoked_at=when)
    assert revoked == replace(k, revoked_at=when)
    assert await keys.revoke(k.id, user_id=alice.id, revoked_at=when) is None
    assert (await keys.get_by_hash(k.key_hash)) == revoked  # still found: callers see revoked_at
    assert await keys.list_active(alice.id) == []


async def test_rotate_replaces_the_secret_at_once(
    repos: tuple[UserRepository, ApiKeyRepository],
) -> None:
    users, keys = repos
    alice, mallory = user("alice"), user("mallory")
    await users.create(alice)
    await users.create(mallory)
    k = key(alice.id)
    await keys.create(k, max_active=10)
    fresh = generate_api_key()
    when = T0 + timedelta(hours=1)
    assert (
        await keys.rotate(
            k.id, user_id=mallory.id, prefix=fresh.prefix, key_hash=fresh.key_hash, rotated_at=when
        )
        is None
    )
    rotated = await keys.rotate(
        k.id, user_id=alice.id, prefix=fresh.prefix, key_hash=fresh.key_hash, rotated_at=when
    )
    assert rotated is not None
    old, new = rotated
    assert old == k
    assert new == replace(k, prefix=fresh.prefix, key_hash=fresh.key_hash, rotated_at=when)
    assert await keys.get_by_hash(k.key_hash) is None
    assert await keys.get_by_hash(fresh.key_hash) == new
    await keys.revoke(k.id, user_id=alice.id, revoked_at=when)
    again = generate_api_key()
    assert (
        await keys.rotate(
            k.id, user_id=alice.id, prefix=again.prefix, key_hash=again.key_hash, rotated_at=when
        )
        is None
    )


async def test_active_key_limit_holds_under_concurrency(
    repos: tuple[UserRepository, ApiKeyRepository],
) -> None:
    users, keys = repos
    alice = user("alice")
    await users.create(alice)
    results = await asyncio.gather(*(keys.create(key(alice.id), max_active=3) for _ in range(12)))
    assert results.count(True) == 3
    assert len(await keys.list_active(alice.id)) == 3


async def test_a_key_for_a_removed_user_is_refused_without_a_driver_error(
    repos: tuple[UserRepository, ApiKeyRepository],
    sql_backend,  # type: ignore[no-untyped-def]
) -> None:
    _users, keys = repos
    if sql_backend.kind == "memory":
        # The in-memory fake knows no users (the service checks the owner before it): it stores.
        assert await keys.create(key("usr_gone"), max_active=10) is True
        return
    with pytest.raises(OwnerMissingError):
        await keys.create(key("usr_gone"), max_active=10)
