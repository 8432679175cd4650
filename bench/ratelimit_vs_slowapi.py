"""Our limiter vs slowapi with its Redis storage, in one run on one private redis-server.

    uv run python -m bench.ratelimit_vs_slowapi --duration 10 --rounds 3

Four servers, two uvicorn workers each, all on the same Redis:
- `ours`     a bare FastAPI app with only our rate-limit gate (`GateOnly`; Redis store, one Lua call);
- `slowapi`  the same routes limited by slowapi (`Limiter(storage_uri="redis://…")`, its
             default fixed-window strategy; `--slowapi-strategy moving-window` for its exact one);
- `full-on` / `full-off`  the whole service (`create_served_app`) with the three default windows at
             limits too high to reject, vs `RATE_LIMIT_ENABLED=false`: what the limiter adds.

Measured: throughput of `GET /ping` (wrk, interleaved rounds), p50 latency at one connection
(full-on vs full-off: the limiter's added p50), and accuracy: 200 concurrent clients against a
50/minute limit on `GET /limited`, once mid-window and once straddling a minute boundary.
Also the weighted window's accuracy on a simulated clock (no servers).

Targets (issue 5): ours >= 2x slowapi throughput; full limiter adds < 0.5 ms p50.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import gc
import os
import random
import sys
import time
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import httpx
from fastapi import FastAPI, Request

from bench.harness import (
    BenchError,
    RedisProcess,
    Series,
    Server,
    add_wrk_options,
    base_env,
    ensure_wrk,
    format_table,
    machine_note,
    run_wrk,
    workdir,
)

HUGE = "1000000000/minute"
HUGE_DEFAULT = "1000000000/minute;1000000000/hour;1000000000/day"
ACCURACY_LIMIT = "50/minute"


# --- the apps under test (uvicorn factories; configured through the environment) ----------
def _startup_done(app: FastAPI) -> FastAPI:
    """What the service's lifespan does once started, done for all three apps alike: the heap
    built so far is moved out of the collector's reach (`gc.freeze`). Without it, requests
    that wait on Redis survive young collections and the full collections they trigger walk the
    whole app, which shows as a 25-40 ms p99 for an async limiter and not for a blocking one."""
    gc.collect()
    gc.freeze()
    return app


class GateOnly:
    """Our rate-limit gate alone as an ASGI layer (the service runs it inside its edge layer),
    so that it is compared with slowapi's middleware like for like."""

    def __init__(self, app: Any, *, gate: Any) -> None:
        self.app = app
        self.gate = gate

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        admitted = await self.gate.admit(scope, receive, send)
        if admitted is None:
            return
        receive, headers = admitted
        if not headers:
            await self.app(scope, receive, send)
            return

        async def send_with_headers(message: Any) -> None:
            if message["type"] == "http.response.start":
                message["headers"] = [*message.get("headers", ()), *headers]
            await send(message)

        await self.app(scope, receive, send_with_headers)


def _add_routes(app: FastAPI) -> None:
    @app.get("/health/live")
    async def live() -> dict[str, str]:
        return {"status": "alive"}


def ours_app() -> FastAPI:
    """A bare app with only our middleware: Redis store, `/ping` huge, `/limited` 50/minute."""
    from app.platform.config import load_settings
    from app.platform.middleware.rate_limit import RateLimitGate
    from app.platform.ratelimit.limiter import RateLimiter
    from app.platform.ratelimit.stores.redis import RedisRateLimitStore
    from app.platform.storage.redis.client import close_redis, create_redis

    settings = load_settings(
        _env_file=None,
        rate_limit_enabled=True,
        rate_limit_default=HUGE,
        rate_limit_routes={"GET /limited": ACCURACY_LIMIT},
    )

    @contextlib.asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        redis = create_redis(settings)
        limiter = RateLimiter(store=RedisRateLimitStore(redis))
        app.state.resources = SimpleNamespace(rate_limiter=limiter)
        yield
        await limiter.aclose()
        await close_redis(redis)

    app = FastAPI(lifespan=lifespan)
    _add_routes(app)

    @app.get("/ping")
    async def ping() -> dict[str, bool]:
        return {"pong": True}

    @app.get("/limited")
    async def limited() -> dict[str, bool]:
        return {"pong": True}

    app.add_middleware(GateOnly, gate=RateLimitGate(settings=settings))
    return _startup_done(app)


def unlimited_app() -> FastAPI:
    """The same routes with no limiter: the ceiling both limiters are measured against."""
    app = FastAPI()
    _add_routes(app)

    @app.get("/ping")
    async def ping() -> dict[str, bool]:
        return {"pong": True}

    return _startup_done(app)


def slowapi_app() -> FastAPI:
    """The same routes limited by slowapi with its Redis storage."""
    from slowapi import Limiter, _rate_limit_exceeded_handler
    from slowapi.errors import RateLimitExceeded
    from slowapi.util import get_remote_address

    limiter = Limiter(
        key_func=get_remote_address,
        storage_uri=os.environ["REDIS_URL"],
        strategy=os.environ.get("BENCH_SLOWAPI_STRATEGY", "fixed-window"),
        headers_enabled=False,
    )
    app = FastAPI()
    app.state.limiter = limiter
    app.add_exception_handler(RateLimitExceeded, _rate_limit_exceeded_handler)  # type: ignore[arg-type]
    _add_routes(app)

    @app.get("/ping")
    @limiter.limit(HUGE)
    async def ping(request: Request) -> dict[str, bool]:
        return {"pong": True}

    @app.get("/limited")
    @limiter.limit(ACCURACY_LIMIT)
    async def limited(request: Request) -> dict[str, bool]:
        return {"pong": True}

    return _startup_done(app)


# --- accuracy ------------------------------------------------------------------------
async def _burst(url: str, count: int, *, at: float | None = None) -> list[int]:
    limits = httpx.Limits(max_connections=count, max_keepalive_connections=0)
    async with httpx.AsyncClient(limits=limits, timeout=60) as client:
        if at is not None:
            await asyncio.sleep(max(0.0, at - time.time()))
        responses = await asyncio.gather(*(client.get(url) for _ in range(count)))
    return [r.status_code for r in responses]


async def _boundary_burst(url: str, count: int, boundary: float) -> list[int]:
    """One request 59.7 s before `boundary` (it starts slowapi's fixed window, which runs from
    its first hit), then half the clients 0.3 s before the boundary and half 0.3 s after:
    the worst case of a fixed window, and a bucket rollover of ours (epoch-aligned buckets)."""
    primer = await _burst(url, 1, at=boundary - 59.7)
    first, second = await asyncio.gather(
        _burst(url, count // 2, at=boundary - 0.3),
        _burst(url, count - count // 2, at=boundary + 0.3),
    )
    return primer + first + second


def _flush(redis_url: str) -> None:
    import redis

    client = redis.Redis.from_url(redis_url)
    try:
        client.flushall()
    finally:
        client.close()


def accuracy(servers: list[Server], redis_url: str, *, boundary: bool) -> dict[str, list[int]]:
    """Allowed counts of 200 concurrent clients vs 50/minute, per server and scenario."""
    found: dict[str, list[int]] = {}
    for server in servers:
        _flush(redis_url)
        statuses = asyncio.run(_burst(server.url + "/limited", 200))
        found[f"{server.name} mid-window"] = statuses
    if boundary:
        _flush(redis_url)

        # Both at once, at the same boundary: the run waits one to two minutes.
        edge = (time.time() // 60 + 2) * 60
        if edge - 59.7 - time.time() < 3:
            edge += 60

        async def both() -> list[list[int]]:
            return list(
                await asyncio.gather(
                    *(_boundary_burst(s.url + "/limited", 200, edge) for s in servers)
                )
            )

        for server, statuses in zip(servers, asyncio.run(both()), strict=True):
            found[f"{server.name} 1 + 200 across a window boundary"] = statuses
    return found


# --- simulated accuracy of the weighted window (no servers, fake clock) ----------------
def _max_in_window(times_ms: list[int], window_ms: int) -> int:
    best, start = 0, 0
    for end, t in enumerate(times_ms):
        while times_ms[start] <= t - window_ms:
            start += 1
        best = max(best, end - start + 1)
    return best


def simulate(
    limit: int = 50, window_s: int = 60, windows: int = 30, seed: int = 5
) -> list[list[str]]:
    """Worst sliding-window count / limit, and long-run rate / limit, for three traffic shapes."""
    from app.platform.ratelimit.items import LimitCheck, RateLimitItem
    from app.platform.ratelimit.stores.memory import MemoryRateLimitStore

    window_ms = window_s * 1000
    rng = random.Random(seed)
    start = 10**6 * window_ms

    def arrivals(kind: str) -> Iterator[int]:
        t = start
        end = start + windows * window_ms
        if kind == "poisson 2x":
            while t < end:
                t += int(rng.expovariate(2 * limit / window_ms)) + 1
                yield t
        elif kind == "saturating 20x":
            while t < end:
                t += window_ms // (20 * limit)
                yield t
        elif kind == "saturating 20x from mid-bucket":
            t += window_ms // 2
            while t < end:
                t += window_ms // (20 * limit)
                yield t
        else:  # a full burst just before a bucket boundary, then saturation
            for _ in range(limit * 3):
                yield start + window_ms - 1
            t = start + window_ms
            while t < end:
                t += window_ms // (20 * limit)
                yield t

    rows = []
    kinds = (
        "poisson 2x",
        "saturating 20x",
        "saturating 20x from mid-bucket",
        "boundary burst + saturation",
    )
    for kind in kinds:
        clock = _Clock(start)
        store = MemoryRateLimitStore(clock_ms=clock)
        check = [LimitCheck("k", RateLimitItem(limit, window_s), "k")]
        allowed: list[int] = []
        for t in arrivals(kind):
            clock.now = t
            if _hit_sync(store, check):
                allowed.append(t)
        span_windows = (allowed[-1] - start) / window_ms if allowed else 1
        rows.append(
            [
                kind,
                f"{_max_in_window(allowed, window_ms) / limit:.3f}",
                f"{len(allowed) / (limit * max(span_windows, 1)):.3f}",
            ]
        )
    return rows


class _Clock:
    def __init__(self, now: int) -> None:
        self.now = now

    def __call__(self) -> int:
        return self.now


def _hit_sync(store: Any, check: Any) -> bool:
    # MemoryRateLimitStore.hit never awaits: drive the coroutine by hand, no loop per call.
    coro = store.hit(check)
    try:
        coro.send(None)
    except StopIteration as done:
        return bool(done.value.allowed)
    raise BenchError("the memory store awaited; it must not")


# --- run -----------------------------------------------------------------------------
def parse_args(argv: list[str] | None) -> argparse.Namespace:
    """Command-line options."""
    parser = argparse.ArgumentParser(prog="python -m bench.ratelimit_vs_slowapi")
    add_wrk_options(parser)
    parser.add_argument(
        "--slowapi-strategy",
        default="fixed-window",
        choices=["fixed-window", "moving-window", "sliding-window-counter"],
    )
    parser.add_argument(
        "--no-boundary", action="store_true", help="skip the burst across a minute boundary"
    )
    return parser.parse_args(argv)


@contextlib.contextmanager
def started(items: list[Any], timeout: float = 180) -> Iterator[None]:
    """Start each (patiently: worker start-up is slow on a loaded machine); stop all after."""
    up: list[Any] = []
    try:
        for item in items:
            if isinstance(item, Server):
                item.start(timeout=timeout)
            else:
                item.start()
            up.append(item)
        yield
    finally:
        for item in reversed(up):
            with contextlib.suppress(Exception):
                item.stop()


def measure(
    servers: list[Server], path: str, args: argparse.Namespace, work: Path, connections: int
) -> dict[str, Series]:
    """Interleaved wrk rounds (A B B A …) so drift of the shared machine hits all alike."""
    for server in servers:
        if args.warmup > 0:
            run_wrk(
                server.url + path,
                duration_s=args.warmup,
                connections=connections,
                threads=min(args.threads, connections),
                scratch=work,
            )
    series = {s.name: Series(s.name) for s in servers}
    for rnd in range(args.rounds):
        for server in servers if rnd % 2 == 0 else servers[::-1]:
            result = run_wrk(
                server.url + path,
                duration_s=args.duration,
                connections=connections,
                threads=min(args.threads, connections),
                scratch=work,
                count_statuses=True,
            )
            if set(result.statuses) - {"200"}:
                raise BenchError(f"{server.name} answered {result.statuses}: limits too low?")
            series[server.name].runs.append(result)
            print(
                f"  c={connections:<3d} round {rnd + 1} {server.name:8s} {result.rps:8.0f} req/s"
                f"  p50 {result.p50_ms:6.3f} ms  p99 {result.p99_ms:6.2f} ms",
                flush=True,
            )
    return series


def main(argv: list[str] | None = None) -> int:
    """Run every measurement and print the tables and the verdict lines."""
    args = parse_args(argv)
    ensure_wrk()
    with workdir("raidesk-ratelimit-bench-") as work:
        redis = RedisProcess(work)
        env = {"REDIS_URL": redis.url}
        module = "bench.ratelimit_vs_slowapi"
        ours = Server(f"{module}:ours_app", 2, base_env(work, "ours", **env), work, "ours")
        none = Server(f"{module}:unlimited_app", 2, base_env(work, "none", **env), work, "none")
        slow = Server(
            f"{module}:slowapi_app",
            2,
            base_env(work, "slowapi", BENCH_SLOWAPI_STRATEGY=args.slowapi_strategy, **env),
            work,
            "slowapi",
        )
        full_env = {"RATE_LIMIT_DEFAULT": HUGE_DEFAULT, "LOG_LEVEL": "WARNING", **env}
        full_on = Server(
            "app.main:create_served_app",
            2,
            base_env(work, "full-on", RATE_LIMIT_ENABLED="true", **full_env),
            work,
            "full-on",
        )
        full_off = Server(
            "app.main:create_served_app",
            2,
            base_env(work, "full-off", RATE_LIMIT_ENABLED="false", **full_env),
            work,
            "full-off",
        )
        with started([redis, ours, slow, none, full_on, full_off]):
            _check(ours, slow, full_on, full_off)
            print(
                f"Rate limiting: ours vs slowapi ({args.slowapi_strategy}, Redis storage), 2 uvicorn "
                f"workers each, one private redis-server; wrk {args.threads} threads, "
                f"{args.rounds} x {args.duration:g} s interleaved rounds; {machine_note()}",
                flush=True,
            )
            throughput = measure([ours, slow, none], "/ping", args, work, args.connections)
            latency = measure([full_on, full_off], "/ping", args, work, 1)
            loaded = measure([full_on, full_off], "/ping", args, work, args.connections)
            bursts = accuracy([ours, slow], redis.url, boundary=not args.no_boundary)
    return report(throughput, latency, loaded, bursts)


def _check(ours: Server, slow: Server, full_on: Server, full_off: Server) -> None:
    """The variants must differ the way the bench says before they are timed."""
    a = httpx.get(ours.url + "/ping", timeout=5)
    b = httpx.get(slow.url + "/ping", timeout=5)
    on = httpx.get(full_on.url + "/ping", timeout=5)
    off = httpx.get(full_off.url + "/ping", timeout=5)
    if not all(r.status_code == 200 for r in (a, b, on, off)):
        raise BenchError("a server did not answer /ping with 200")
    if "ratelimit-policy" not in a.headers or "ratelimit-policy" not in on.headers:
        raise BenchError(
            f"our limiter is not active where it should be: {dict(a.headers)} {dict(on.headers)}"
        )
    if "ratelimit-policy" in off.headers:
        raise BenchError("RATE_LIMIT_ENABLED=false still limits")


def report(
    throughput: dict[str, Series],
    latency: dict[str, Series],
    loaded: dict[str, Series],
    bursts: dict[str, list[int]],
) -> int:
    """Print the tables and verdicts; exit status 1 when a target is missed."""
    ours, slow, none = throughput["ours"], throughput["slowapi"], throughput["none"]
    ratio = ours.median("rps") / slow.median("rps")
    print()
    print(
        format_table(
            [
                [
                    s.name,
                    f"{s.median('rps'):.0f}",
                    f"{s.median('rps') / none.median('rps'):.2f}",
                    f"{s.median('p50_ms'):.2f}",
                    f"{s.median('p99_ms'):.2f}",
                ]
                for s in throughput.values()
            ],
            ["GET /ping (bare app)", "req/s (median)", "vs no limiter", "p50 ms", "p99 ms"],
        )
    )
    print()
    rows = []
    for name in ("full-on", "full-off"):
        rows.append(
            [
                name,
                f"{latency[name].median('p50_ms'):.3f}",
                f"{latency[name].median('p99_ms'):.3f}",
                f"{loaded[name].median('rps'):.0f}",
                f"{loaded[name].median('p50_ms'):.2f}",
            ]
        )
    print(
        format_table(
            rows,
            [
                "full app",
                "p50 ms (1 conn)",
                "p99 ms (1 conn)",
                "req/s (64 conn)",
                "p50 ms (64 conn)",
            ],
        )
    )
    added = latency["full-on"].median("p50_ms") - latency["full-off"].median("p50_ms")
    print()
    acc_rows = []
    exact = True
    for name, statuses in bursts.items():
        passed = statuses.count(200)
        rejected = statuses.count(429)
        acc_rows.append(
            [name, str(len(statuses)), str(passed), str(rejected), f"{passed / 50:.2f}"]
        )
        if name.startswith("ours") and passed != 50:
            exact = False
    print(
        format_table(
            acc_rows, ["200 concurrent vs 50/minute", "sent", "200", "429", "allowed / limit"]
        )
    )
    print()
    print(
        format_table(
            simulate(),
            ["simulated (50/min, 30 windows)", "worst 60-s span / limit", "long-run rate / limit"],
        )
    )
    ok = ratio >= 2.0 and added < 0.5 and exact
    print()
    print(
        f"throughput ours/slowapi: {ratio:.2f}x (target >= 2; the no-limiter ceiling is "
        f"{none.median('rps') / slow.median('rps'):.2f}x slowapi); limiter adds {added * 1000:+.0f} us "
        f"p50 (target < 500 us); ours exact under 200 concurrent: {exact} -> "
        f"{'PASS' if ok else 'MISS'}"
    )
    return 0 if ok else 1


if __name__ == "__main__":
    try:
        sys.exit(main())
    except BenchError as exc:
        print(f"bench failed: {exc}", file=sys.stderr)
        sys.exit(2)
