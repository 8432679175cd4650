"""Limit strings, route patterns, the window arithmetic, and the memory store on a fake clock."""

from __future__ import annotations

import random

import pytest

from app.platform.ratelimit import window as sw
from app.platform.ratelimit.items import LimitCheck, RateLimitItem, parse_limit, parse_limits
from app.platform.ratelimit.patterns import compile_pattern
from app.platform.ratelimit.stores.memory import MemoryRateLimitStore

pytestmark = pytest.mark.unit


@pytest.mark.parametrize(
    ("text", "amount", "window_s"),
    [
        ("10/minute", 10, 60),
        ("10 per minute", 10, 60),
        ("100/hour", 100, 3600),
        ("10000/day", 10000, 86400),
        ("5/second", 5, 1),
        ("100/2 hours", 100, 7200),
        ("7 / 30 s", 7, 30),
        ("3/MINUTES", 3, 60),
        ("1/d", 1, 86400),
    ],
)
def test_limit_strings_parse(text: str, amount: int, window_s: int) -> None:
    assert parse_limit(text) == RateLimitItem(amount, window_s)


@pytest.mark.parametrize(
    "text",
    ["", "ten/minute", "10/fortnight", "0/minute", "-1/minute", "10", "10/0 minutes", "10/60 days"],
)
def test_bad_limit_strings_are_refused(text: str) -> None:
    with pytest.raises(ValueError):
        parse_limit(text)


def test_limit_lists_split_on_semicolons_or_commas_and_empty_means_none() -> None:
    assert parse_limits("60/minute;1000/hour, 10000/day") == (
        RateLimitItem(60, 60),
        RateLimitItem(1000, 3600),
        RateLimitItem(10000, 86400),
    )
    assert parse_limits("") == ()
    assert parse_limits(["5/minute"]) == (RateLimitItem(5, 60),)
    with pytest.raises(ValueError, match="share one window"):
        parse_limits("5/minute;10/60 seconds")


@pytest.mark.parametrize(
    ("pattern", "method", "path", "expected"),
    [
        ("POST /api/classify", "POST", "/api/classify", True),
        ("POST /api/classify", "GET", "/api/classify", False),
        ("POST /api/classify", "POST", "/api/classify/stream", False),
        ("POST /api/purchase/{product_id}", "POST", "/api/purchase/42", True),
        ("POST /api/purchase/{product_id}", "POST", "/api/purchase/42/x", False),
        ("/api/inventory*", "DELETE", "/api/inventory/7/restock", True),
        ("/api/inventory*", "GET", "/api/inventoryx", True),
        ("GET|HEAD /x", "HEAD", "/x", True),
        ("GET|HEAD /x", "POST", "/x", False),
        ("/a.b", "GET", "/aXb", False),  # dots are literal, not regex
    ],
)
def test_route_patterns(pattern: str, method: str, path: str, expected: bool) -> None:
    assert compile_pattern(pattern).matches(method, path) is expected


@pytest.mark.parametrize("pattern", ["api/x", "POST", "POST /a /b", "post/x /y"])
def test_bad_route_patterns_are_refused(pattern: str) -> None:
    with pytest.raises(ValueError):
        compile_pattern(pattern)


def fits_after(prev: int, curr: int, elapsed: int, limit: int, cost: int, ms: int) -> bool:
    """Whether `cost` fits `ms` from now if nothing else is counted meanwhile (60 s window)."""
    window = 60_000
    at = elapsed + ms
    if at < window:
        return sw.fits(prev, curr, at, window, limit, cost)
    at -= window
    if at < window:
        return sw.fits(curr, 0, at, window, limit, cost)
    return cost <= limit


def test_retry_time_is_exactly_when_the_next_request_fits() -> None:
    """For many random states, the computed wait is the first millisecond that fits."""
    rng = random.Random(7)
    window = 60_000
    for _ in range(2000):
        limit = rng.randint(1, 200)
        prev = rng.randint(0, limit)
        curr = rng.randint(0, limit)
        elapsed = rng.randint(0, window - 1)
        cost = rng.randint(1, 3)
        wait = sw.retry_ms(prev, curr, elapsed, window, limit, cost)
        if wait == 0:
            assert sw.fits(prev, curr, elapsed, window, limit, cost)
            continue
        assert wait <= 2 * window

        if cost <= limit:
            assert fits_after(prev, curr, elapsed, limit, cost, wait), (
                prev,
                curr,
                elapsed,
                limit,
                cost,
                wait,
            )
            assert not fits_after(prev, curr, elapsed, limit, cost, wait - 1), (
                prev,
                curr,
                elapsed,
                limit,
                cost,
                wait,
            )


class FakeClock:
    def __init__(self, start_ms: int) -> None:
        self.now = start_ms

    def __call__(self) -> int:
        return self.now


def check(key: str, amount: int, window_s: int) -> LimitCheck:
    return LimitCheck(key=key, item=RateLimitItem(amount, window_s), policy=key)


async def test_previous_bucket_weighs_in_linearly() -> None:
    clock = FakeClock(1_000 * 60_000)  # at a bucket start
    store = MemoryRateLimitStore(clock_ms=clock)
    limit = [check("k", 10, 60)]
    for _ in range(10):
        assert (await store.hit(limit)).allowed
    assert not (await store.hit(limit)).allowed
    clock.now += 60_000  # next bucket: the 10 still weigh fully
    assert not (await store.hit(limit)).allowed
    clock.now += 30_000  # halfway: they weigh 5
    decision = await store.hit(limit)
    assert decision.allowed and decision.results[0].remaining == 4
    for _ in range(4):
        assert (await store.hit(limit)).allowed
    assert not (await store.hit(limit)).allowed
    clock.now += 120_000  # two buckets later nothing is remembered
    assert (await store.hit(limit)).results[0].remaining == 9


async def test_rejection_reports_when_to_retry_and_retrying_then_works() -> None:
    clock = FakeClock(1_000 * 60_000 + 15_000)
    store = MemoryRateLimitStore(clock_ms=clock)
    limit = [check("k", 3, 60)]
    for _ in range(3):
        await store.hit(limit)
    rejected = await store.hit(limit)
    assert not rejected.allowed
    wait = rejected.results[0].retry_ms
    assert rejected.results[0].reset_s == -(-wait // 1000)
    clock.now += wait - 1
    assert not (await store.hit(limit)).allowed
    clock.now += 1
    assert (await store.hit(limit)).allowed


async def test_store_keeps_a_bounded_number_of_keys() -> None:
    clock = FakeClock(10**9)
    store = MemoryRateLimitStore(max_keys=100, clock_ms=clock)
    for i in range(1000):
        await store.hit([check(f"ip:{i}", 5, 60)])
    assert len(store._data) <= 100


async def test_expired_keys_are_dropped_as_traffic_moves_on() -> None:
    clock = FakeClock(10**9)
    store = MemoryRateLimitStore(clock_ms=clock)
    for i in range(50):
        await store.hit([check(f"old:{i}", 5, 1)])
    clock.now += 10_000
    for i in range(20):
        await store.hit([check(f"new:{i}", 5, 1)])
    assert all(not key.startswith("old:") for key in store._data)
