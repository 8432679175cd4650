"""Every Lua script and every MULTI/EXEC transaction touches keys of one Redis Cluster slot.

Each Redis adapter runs here over fakeredis behind a recorder that notes the keys every script
call and every transaction passes; the test computes their CRC16 slots (redis-py's `key_slot`,
what a cluster routes by) and wants one slot per call. Every `.lua` file under `app/` must have
been called at least once, so a new script is covered or this test fails.
"""

from __future__ import annotations

import hashlib
import itertools
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

import fakeredis
import pytest
from redis.commands.core import AsyncScript
from redis.crc import key_slot

from app.commerce.adapters.redis.stock import RedisStockStore
from app.commerce.repository import ProductRecord, Reservation, StockLedger
from app.platform.config import Settings
from app.platform.principal import Principal
from app.platform.ratelimit.blocks import BlockCheck, BlockRule
from app.platform.ratelimit.items import NEWLY_BLOCKED
from app.platform.ratelimit.policy import RateLimitPolicy, block_client
from app.platform.ratelimit.stores.redis import RedisRateLimitStore
from app.platform.storage.kv.redis import RedisKeyValueStore
from app.platform.storage.locks.redis import RedisLockStore
from app.regulatory.adapters.redis.sessions import RedisSessionStore
from tests.conftest import make_settings

pytestmark = pytest.mark.unit

APP = Path(__file__).resolve().parents[3] / "app"
SCRIPTS = {
    hashlib.sha1(path.read_bytes()).hexdigest(): path.relative_to(APP)  # noqa: S324 - Redis's SHA
    for path in APP.rglob("lua/*.lua")
}


@dataclass
class Call:
    """One atomic unit a cluster must run on one node: a script call or a transaction."""

    what: str
    keys: list[str]

    @property
    def slots(self) -> set[int]:
        return {key_slot(k.encode()) for k in self.keys}


@dataclass
class Recorder:
    """The client the adapters get: fakeredis underneath, every script and transaction noted."""

    real: Any = field(default_factory=lambda: fakeredis.FakeAsyncRedis(decode_responses=True))
    calls: list[Call] = field(default_factory=list)

    def note_script(self, sha: str, numkeys: int, rest: tuple[Any, ...]) -> None:
        name = str(SCRIPTS.get(sha, f"unregistered script {sha}"))
        self.calls.append(Call(name, [str(k) for k in rest[:numkeys]]))

    def register_script(self, source: str) -> AsyncScript:
        return AsyncScript(self, source)  # its calls come back through evalsha below

    async def evalsha(self, sha: str, numkeys: int, *rest: Any) -> Any:
        self.note_script(sha, numkeys, rest)
        return await self.real.evalsha(sha, numkeys, *rest)

    def pipeline(self, transaction: bool = True) -> RecordingPipeline:
        return RecordingPipeline(self, self.real.pipeline(transaction=transaction), transaction)

    def __getattr__(self, name: str) -> Any:
        return getattr(self.real, name)  # single-key commands, SCAN, script_load, ...


class RecordingPipeline:
    """A pipeline's scripts are noted one by one; a transaction's keys (WATCHed ones too) as
    one call, since MULTI/EXEC runs on one node."""

    def __init__(self, recorder: Recorder, real: Any, transaction: bool) -> None:
        self._recorder = recorder
        self._real = real
        self._transaction = transaction
        self._keys: list[str] = []

    async def __aenter__(self) -> RecordingPipeline:
        await self._real.__aenter__()
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self._real.__aexit__(*exc)

    def evalsha(self, sha: str, numkeys: int, *rest: Any) -> Any:
        self._recorder.note_script(sha, numkeys, rest)
        return self._real.evalsha(sha, numkeys, *rest)

    def execute_command(self, *args: Any, **kwargs: Any) -> Any:
        if str(args[0]).upper() == "EVALSHA":
            self._recorder.note_script(args[1], int(args[2]), args[3:])
        elif self._transaction and len(args) > 1:
            self._keys.append(str(args[1]))
        return self._real.execute_command(*args, **kwargs)

    async def watch(self, *names: str) -> Any:
        self._keys.extend(names)
        return await self._real.watch(*names)

    async def execute(self, *args: Any, **kwargs: Any) -> Any:
        if self._transaction and self._keys:
            self._recorder.calls.append(Call("transaction", list(self._keys)))
        self._keys = []
        return await self._real.execute(*args, **kwargs)

    def __getattr__(self, name: str) -> Any:
        method = getattr(self._real, name)
        if name in ("multi", "unwatch", "reset") or not callable(method):
            return method

        def command(*args: Any, **kwargs: Any) -> Any:
            if args:
                self._keys.append(str(args[0]))  # every command used here names its key first
            return method(*args, **kwargs)

        return command


def product(pid: int, *, limit: int | None = 2) -> ProductRecord:
    return ProductRecord(
        id=pid,
        name="p",
        price=Decimal("1.00"),
        initial_stock=10,
        restocked=0,
        stock=10,
        per_user_limit=limit,
        starts_at=None,
        ends_at=None,
        created_at=datetime.now(UTC),
    )


NOW = 1_800_000_000_000


async def drive_stock_store(client: Any) -> None:
    """Every method of the stock store, each script on its way to success."""
    store = RedisStockStore(client)
    for pid in (1, 42, 9_999):
        p = product(pid)
        ledger = StockLedger(
            product=p, sold=1, restock_ids=[7], sold_by_user={"u9": 1}, recent_purchase_ids=["x"]
        )
        assert (await store.rehydrate(ledger, now_ms=NOW)).status == "OK"
        r = Reservation(f"b{pid}", pid, "u1", 1, NOW + 30_000, "ab12")
        assert (
            await store.reserve(reservation=r, fingerprint="f", now_ms=NOW, in_flight_ttl_ms=1000)
        ).status == "OK"
        confirmed = await store.confirm(
            reservation=r, now_ms=NOW, fingerprint="f", response_json="{}", idempotency_ttl_ms=1000
        )
        assert confirmed.status == "CONFIRMED"
        r2 = Reservation(f"c{pid}", pid, "u2", 1, NOW + 30_000, "cd34")
        await store.reserve(reservation=r2, fingerprint="f", now_ms=NOW, in_flight_ttl_ms=1000)
        released = await store.release(
            product_id=pid, purchase_id=r2.purchase_id, idempotency_hash="cd34", now_ms=NOW,
            reason="failed",
        )  # fmt: skip
        assert released.status == "RELEASED"
        r3 = Reservation(f"d{pid}", pid, "u3", 1, NOW + 30_000, "")
        assert (await store.take(reservation=r3, now_ms=NOW, fencing_token=1)).status == "OK"
        restocked = await store.restock(product_id=pid, restock_id=8, quantity=3, now_ms=NOW)
        assert restocked.status == "OK"
        snap = await store.snapshot(pid)
        repaired = await store.repair(product_id=pid, version=snap.version, stock=5, now_ms=NOW)
        assert repaired.status == "REPAIRED"
        await store.peek(product_id=pid, user_id="u1")
        await store.events(product_id=pid, limit=5)
    await store.levels([1, 42, 9_999])


def principals() -> Iterator[Principal | None]:
    yield None
    yield Principal(user_id="17", username="ann", role="user", auth_method="jwt")
    yield Principal(user_id="1", username="root", role="admin", auth_method="api_key")


def limiting_settings() -> Settings:
    return make_settings(
        Path("/nonexistent"),
        rate_limit_enabled=True,
        rate_limit_routes={"GET /api/things/*": "5/minute;50/hour"},
        rate_limit_login_address="20/minute",
        rate_limit_login_username="5/minute",
    )


BLOCK_AT_ONCE = BlockRule(after=1, window_s=60, block_s=60, max_block_s=600)


async def drive_rate_limits(client: Any) -> int:
    """Every combination of caller, route rule and login name the policy builds checks for."""
    policy = RateLimitPolicy.from_settings(limiting_settings())
    store = RedisRateLimitStore(client)
    rule_sets: list[tuple[Any, ...]] = [(), *((rule,) for rule in policy.rules)]
    calls = 0
    for principal, rules, username, ip in itertools.product(
        principals(), rule_sets, (None, "Ann@example.com"), ("10.0.0.7", "2001:db8::1")
    ):
        checks = policy.checks(client_ip=ip, principal=principal, rules=rules, username=username)
        await store.hit(checks)
        calls += 1
        # The same counters with blocks on, as the middleware sends them: one rejection blocks
        # (cost past every limit), so the block keys are written in the same call.
        client = block_client(checks)
        if client is not None:
            decision = await store.hit(checks, cost=10**6, block=BlockCheck(client, BLOCK_AT_ONCE))
            assert decision.block_state == NEWLY_BLOCKED
            calls += 1
            assert await store.release_block(client)
        for rule in rules:
            if username and rule.key == "ip_and_username":
                await store.hit(policy.slowdown_checks(rule, username))
                calls += 1
    return calls


async def drive_locks_sessions_kv(client: Any) -> None:
    locks = RedisLockStore(client)
    for name in ("reconciler", "product:42", "we{ird}name", "ünï"):
        lease = await locks.try_acquire(name, ttl_ms=5_000)
        assert lease is not None
        assert await locks.extend(lease, ttl_ms=5_000)
        assert await locks.release(lease)
    sessions = RedisSessionStore(client)
    for i in range(3):
        await sessions.create(session_id=f"s{i}", owner_id="o1", data={"n": i}, ttl_s=60)
        await sessions.update(f"s{i}", mutate=lambda d: {**d, "seen": True}, ttl_s=60)
    assert len(await sessions.list_by_owner("o1", limit=10)) == 3
    kv = RedisKeyValueStore(client)
    for i in range(5):
        await kv.set(f"cache:{i}", "v")
    assert await kv.delete_prefix("cache:") == 5


async def test_every_script_and_transaction_touches_one_slot() -> None:
    recorder = Recorder()
    await drive_stock_store(recorder)
    rate_limit_calls = await drive_rate_limits(recorder)
    await drive_locks_sessions_kv(recorder)

    spread = [(c.what, c.keys) for c in recorder.calls if len(c.slots) != 1]
    assert spread == []
    called = {c.what for c in recorder.calls}
    assert called >= {str(path) for path in SCRIPTS.values()}, "a Lua script was never called"
    assert not any(w.startswith("unregistered") for w in called)
    assert "transaction" in called  # the stock snapshot and the session update
    rate_limit = str(next(p for p in SCRIPTS.values() if p.name == "rate_limit.lua"))
    # At least: the first call of a script is sent again after NOSCRIPT.
    assert sum(c.what == rate_limit for c in recorder.calls) >= rate_limit_calls
    # Several keys per call where it matters: a one-key call proves nothing about slots.
    assert max(len(c.keys) for c in recorder.calls if c.what == rate_limit) >= 3


def test_a_token_on_a_login_route_counts_as_its_address() -> None:
    """One identity per request: a login with a bearer token is counted by address."""
    policy = RateLimitPolicy.from_settings(limiting_settings())
    login = next(rule for rule in policy.rules if rule.name == "login")
    user = Principal(user_id="17", username="ann", role="user", auth_method="jwt")
    checks = policy.checks(client_ip="10.0.0.7", principal=user, rules=(login,), username="ann")
    assert {c.key.split("}", 1)[0] for c in checks} == {"{ip:10.0.0.7"}
    assert [c.policy.rsplit("-", 1)[0] for c in checks][-1] == "global"
    purchase = next(rule for rule in policy.rules if rule.name == "purchase")
    checks = policy.checks(client_ip="10.0.0.7", principal=user, rules=(purchase,))
    assert {c.key.split("}", 1)[0] for c in checks} == {"{u:17"}
    assert checks[0].key == "{u:17}:purchase:60"
