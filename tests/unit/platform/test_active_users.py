"""`active_users_total`: users marked at most once a minute per worker, counted in a sliding
window, shared through Redis (fakeredis here; two trackers stand for two workers)."""

from __future__ import annotations

import re

import fakeredis
import pytest

from app.platform.activity import ActiveUsers
from app.platform.storage.monitoring.memory import MemoryActivityStore
from app.platform.storage.monitoring.redis import RedisActivityStore
from tests.conftest import AppFactory
from tests.unit.auth.conftest import FAST_HASH

pytestmark = pytest.mark.unit


class Clock:
    def __init__(self) -> None:
        self.now = 1_000_000.0

    def __call__(self) -> float:
        return self.now


class CountingStore(MemoryActivityStore):
    def __init__(self) -> None:
        super().__init__()
        self.writes: list[dict[str, float]] = []
        self.fail = False

    async def mark_seen(self, seen, *, horizon):  # type: ignore[no-untyped-def]
        if self.fail:
            raise ConnectionError("down")
        self.writes.append(dict(seen))
        await super().mark_seen(seen, horizon=horizon)


async def test_marks_at_most_once_a_minute_and_forgets_after_the_window() -> None:
    clock, store = Clock(), CountingStore()
    users = ActiveUsers(store, window_s=900, clock=clock)
    for _ in range(50):
        users.seen("alice")
    users.seen("bob")
    assert await users.count() == 2
    assert store.writes == [{"alice": clock.now, "bob": clock.now}]  # one write, one mark each
    clock.now += 30
    users.seen("alice")
    await users.flush()
    assert len(store.writes) == 1  # within the minute: no new mark
    clock.now += 31
    users.seen("alice")
    assert await users.count() == 2 and len(store.writes) == 2
    clock.now += 900 - 30  # bob's mark (61 + 870 s old) is out, alice's (870 s) is in
    assert await users.count() == 1


async def test_a_failed_write_is_counted_and_marked_again() -> None:
    clock, store = Clock(), CountingStore()
    users = ActiveUsers(store, window_s=900, clock=clock)
    store.fail = True
    users.seen("alice")
    await users.flush()  # never raises
    store.fail = False
    users.seen("alice")  # not skipped: the dropped mark is forgotten
    assert await users.count() == 1


async def test_two_workers_share_one_count_through_redis() -> None:
    redis = fakeredis.FakeAsyncRedis(decode_responses=True)
    clock = Clock()
    first = ActiveUsers(RedisActivityStore(redis), window_s=900, clock=clock)
    second = ActiveUsers(RedisActivityStore(redis), window_s=900, clock=clock)
    first.seen("alice")
    second.seen("alice")
    second.seen("bob")
    await first.flush()
    assert await second.count() == 2 and await first.count() == 2
    clock.now += 600
    first.seen("alice")
    await first.flush()
    clock.now += 400  # bob (1000 s) is out of the window, alice (400 s) in
    assert await second.count() == 1
    assert 0 < await redis.ttl("monitoring:active_users") <= 1000


async def test_metrics_show_the_authenticated_users(app_factory: AppFactory) -> None:
    async with app_factory(**FAST_HASH) as (_app, http):
        for name in ("ann", "ben"):
            body = {"username": name, "password": "correct horse battery"}
            assert (await http.post("/api/auth/register", json=body)).status_code == 201
            token = (await http.post("/api/auth/login", json=body)).json()["access_token"]
            for _ in range(3):
                listed = await http.get(
                    "/api/sessions", headers={"Authorization": f"Bearer {token}"}
                )
                assert listed.status_code == 200
        await http.get("/api/sessions", headers={"X-API-Key": "rdk_00000000_" + "x" * 43})
        text = (await http.get("/metrics")).text
        assert re.search(r"^active_users_total 2\.0$", text, re.M), text[-2000:]
