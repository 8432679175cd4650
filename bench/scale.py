"""Scale: one Redis node against a Redis Cluster, in the same run, under the issue's two loads.

    uv run python -m bench.scale --redis single cluster --workers 2 --connections 1000 \\
        --buyers 5000 --stock 1000 --rounds 3 --rate 1000 --duration 60

Two servers (2 uvicorn workers each, `PURCHASE_STRATEGY=lua`, the rate limiter on as deployed
with its tiers raised out of the way), each on its own copy of one seeded PostgreSQL database
(`--database sqlite` for SQLite files): one on a private redis-server, one on a private
3-master + 3-replica Redis Cluster (bench/cluster.py). Both loads run against both servers, and
every figure is also given as a ratio to the single node measured in the same run.

(a) Flash sale: `--connections` (1,000) wrk connections buy one hot product of `--stock` units,
    one try per buyer for `--buyers` distinct users with their own bearer tokens (the machinery
    of bench/flash_sale.py), in `--rounds` interleaved rounds (single, cluster, then rotated).
    Reported: attempts/s, p50/p99, errors (socket errors and any answer other than 201 bought
    or 400 sold out) and the oversell check: rows in SQL == min(stock, buyers), never > stock.
(b) Held load: `--rate` (1,000) requests/s for `--duration` (60) s on a rotating mix of /ping,
    /health, GET /api/products, POST /api/classify (rules engine) and GET /api/sessions, sent by
    an open-loop client (below) so a slow answer does not slow the sending. Reported: achieved
    rate, errors (socket errors, timeouts, requests never sent, any non-2xx), p50/p99.

Why not wrk for (b): wrk is closed-loop (a connection sends its next request only after the
answer), so a stall lowers the load and hides itself (coordinated omission). The paced client
schedules request i at start + i/rate and measures each latency from that scheduled time, so
time spent waiting for a free connection counts; it is plain asyncio streams (uvloop when
installed) with requests formatted once, to keep its own share of the CPU small.

Exit status: 0; 3 when an oversell check fails (sold != min(stock, buyers) or > stock); 2 when
the bench could not run.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import functools
import json
import resource
import sys
import time
from collections.abc import Callable, Coroutine
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from bench.cluster import RedisClusterServers
from bench.flash_sale import (
    DEFAULT_POSTGRES_URL,
    HUGE,
    TOKEN_MINUTES,
    Databases,
    SaleRun,
    sale_round,
    seed_database,
)
from bench.flash_sale import Variant as SaleVariant
from bench.harness import (
    BenchError,
    RedisProcess,
    Server,
    Startable,
    base_env,
    ensure_wrk,
    format_table,
    machine_note,
    run_wrk,
    running,
    workdir,
)

SUMMARY_MARK = "SCALE "
# The sale's expected answers: bought, or turned away because the stock is gone.
SALE_EXPECTED = frozenset({"201", "400"})
SECRET = "bench-" + "x" * 40
CLASSIFY_BODY = '{"concept": "CT 영상에서 폐결절을 검출하는 AI 소프트웨어"}'


# --- the paced (open-loop) client -------------------------------------------------------
@dataclass
class PacedResult:
    """One held-load run: what was scheduled, what came back, and how late."""

    scheduled: int
    answered: int = 0
    socket_errors: int = 0
    not_sent: int = 0
    statuses: dict[str, int] = field(default_factory=dict)
    latencies_ms: list[float] = field(default_factory=list)
    elapsed_s: float = 0.0

    @property
    def achieved_rate(self) -> float:
        """Answers per second over the schedule (or until the last answer, when later)."""
        return self.answered / self.elapsed_s if self.elapsed_s else 0.0

    @property
    def errors(self) -> int:
        """Socket errors and timeouts, requests never sent, and every non-2xx answer."""
        bad = sum(n for code, n in self.statuses.items() if not code.startswith("2"))
        return self.socket_errors + self.not_sent + bad

    @property
    def error_rate(self) -> float:
        """Errors over scheduled requests."""
        return self.errors / self.scheduled if self.scheduled else 0.0

    def percentile(self, q: float) -> float:
        """Latency percentile `q` (0-100) in ms, nearest rank; 0 without answers."""
        if not self.latencies_ms:
            return 0.0
        ordered = sorted(self.latencies_ms)
        rank = max(0, min(len(ordered) - 1, round(q / 100 * len(ordered)) - 1))
        return ordered[rank]


def build_requests(host: str, token: str) -> list[bytes]:
    """The held load's mix, formatted once: HTTP/1.1 keep-alive requests on `host`."""

    def fmt(method: str, path: str, body: str = "", auth: bool = False) -> bytes:
        data = body.encode()
        lines = [f"{method} {path} HTTP/1.1", f"Host: {host}"]
        if auth:
            lines.append(f"Authorization: Bearer {token}")
        if data:
            lines += ["Content-Type: application/json", f"Content-Length: {len(data)}"]
        return ("\r\n".join(lines) + "\r\n\r\n").encode() + data

    return [
        fmt("GET", "/ping"),
        fmt("GET", "/health"),
        fmt("GET", "/api/products", auth=True),
        fmt("POST", "/api/classify", CLASSIFY_BODY, auth=True),
        fmt("GET", "/api/sessions?limit=5", auth=True),
    ]


async def read_response(reader: asyncio.StreamReader) -> tuple[str, bool]:
    """Read one HTTP/1.1 response; (status code, whether the server closes the connection)."""
    head = await reader.readuntil(b"\r\n\r\n")
    status = head[9:12].decode()
    length = 0
    chunked = close = False
    for line in head.split(b"\r\n")[1:]:
        name, _, value = line.partition(b":")
        key = name.strip().lower()
        if key == b"content-length":
            length = int(value)
        elif key == b"transfer-encoding":
            chunked = b"chunked" in value.lower()
        elif key == b"connection":
            close = b"close" in value.lower()
    if chunked:
        while True:
            size = int((await reader.readuntil(b"\r\n")).split(b";")[0], 16)
            await reader.readexactly(size + 2)  # the chunk and its CRLF (the last: just CRLF)
            if size == 0:
                break
    elif length:
        await reader.readexactly(length)
    return status, close


async def paced_load(
    port: int,
    requests: list[bytes],
    *,
    rate: float,
    duration_s: float,
    connections: int,
    timeout_s: float,
) -> PacedResult:
    """Send `rate` requests/s for `duration_s` over at most `connections` keep-alive
    connections; each latency runs from the request's scheduled send time to its answer."""
    # perf_counter, not loop.time(): uvloop's clock ticks in whole milliseconds.
    clock = time.perf_counter
    total = max(1, round(rate * duration_s))
    result = PacedResult(scheduled=total)
    queue: asyncio.Queue[tuple[float, int] | None] = asyncio.Queue()
    start = clock() + 0.05
    last_answer = start

    async def schedule() -> None:
        for i in range(total):
            delay = start + i / rate - clock()
            if delay > 0:
                await asyncio.sleep(delay)
            # Behind schedule (the loop was busy): the overdue ones go out at once, as an
            # open-loop client must; their lateness is in their latency.
            queue.put_nowait((start + i / rate, i % len(requests)))
        for _ in range(connections):
            queue.put_nowait(None)

    async def connection() -> None:
        nonlocal last_answer
        streams: tuple[asyncio.StreamReader, asyncio.StreamWriter] | None = None
        while (item := await queue.get()) is not None:
            due, which = item
            try:
                if streams is None:
                    streams = await asyncio.wait_for(
                        asyncio.open_connection("127.0.0.1", port), timeout_s
                    )
                reader, writer = streams
                writer.write(requests[which])
                status, close = await asyncio.wait_for(read_response(reader), timeout_s)
            except (OSError, asyncio.IncompleteReadError, asyncio.LimitOverrunError, TimeoutError):
                result.socket_errors += 1
                close, status = True, ""
            else:
                now = clock()
                last_answer = max(last_answer, now)
                result.answered += 1
                result.statuses[status] = result.statuses.get(status, 0) + 1
                result.latencies_ms.append((now - due) * 1000)
            if close and streams is not None:
                streams[1].close()
                streams = None
        if streams is not None:
            streams[1].close()

    workers = [asyncio.create_task(connection()) for _ in range(connections)]
    scheduler = asyncio.create_task(schedule())
    # The run ends with the schedule plus one timeout for the last answers; what is still
    # queued then was never sent (the server fell that far behind).
    done, pending = await asyncio.wait(
        [scheduler, *workers], timeout=duration_s + 0.05 + timeout_s + 5
    )
    for task in pending:
        task.cancel()
    await asyncio.gather(*pending, return_exceptions=True)
    for task in done:
        if task.exception() is not None:
            raise BenchError(f"the paced client failed: {task.exception()!r}")
    result.not_sent = total - result.answered - result.socket_errors
    # At least the scheduled span: answers that all came back early do not make a higher rate.
    result.elapsed_s = max(duration_s, last_answer - start)
    return result


def run_async(factory: Callable[[], Coroutine[Any, Any, PacedResult]]) -> PacedResult:
    """Run the paced client on uvloop when installed (cheaper per request), else asyncio."""
    try:
        import uvloop
    except ImportError:
        return asyncio.run(factory())
    with asyncio.Runner(loop_factory=uvloop.new_event_loop) as runner:
        return runner.run(factory())


# --- variants ------------------------------------------------------------------------
@dataclass
class Variant:
    """One Redis deployment: its server, database and measurements."""

    name: str
    server: Server
    database_url: str
    backing: Startable
    # The sale rounds, kept as bench.flash_sale keeps them (its medians of rps, p50, p99).
    sale: SaleVariant = field(init=False)
    held: PacedResult | None = None

    def __post_init__(self) -> None:
        self.sale = SaleVariant(self.name)

    def sale_errors(self) -> tuple[int, int]:
        """(errors, attempts) over the rounds: socket errors plus unexpected answers."""
        errors = attempts = 0
        for sale in self.sale.sales:
            answered = sum(sale.wrk.statuses.values())
            unexpected = sum(n for k, n in sale.wrk.statuses.items() if k not in SALE_EXPECTED)
            errors += sale.wrk.error_count + unexpected
            attempts += answered + sale.wrk.error_count
        return errors, attempts


def oversell_check(sales: list[SaleRun], *, stock: int, buyers: int) -> str:
    """'ok' when every round sold exactly min(stock, buyers) units; else what went wrong."""
    expected = min(stock, buyers)
    if any(s.sold > stock for s in sales):
        return "OVERSOLD"
    if any(s.sold != expected for s in sales):
        return "SHORT"
    return "ok"


def ratio(value: float, base: float) -> str:
    """value / base to three places, '-' without a base."""
    return f"{value / base:.3f}" if base else "-"


# --- run -----------------------------------------------------------------------------
def parse_args(argv: list[str] | None) -> argparse.Namespace:
    """Command-line options; the defaults are the issue's sizes."""
    parser = argparse.ArgumentParser(prog="python -m bench.scale")
    parser.add_argument(
        "--redis", nargs="+", default=["single", "cluster"], choices=["single", "cluster"]
    )
    parser.add_argument("--workers", type=int, default=2, help="uvicorn workers per server")
    parser.add_argument("--connections", type=int, default=1000, help="wrk connections (sale)")
    parser.add_argument("--threads", type=int, default=2, help="wrk threads (sale)")
    parser.add_argument("--buyers", type=int, default=5000, help="distinct users, one try each")
    parser.add_argument("--stock", type=int, default=1000, help="units of the hot product")
    parser.add_argument("--rounds", type=int, default=3, help="sale rounds per variant")
    parser.add_argument("--rate", type=float, default=1000, help="held load, requests/s")
    parser.add_argument("--duration", type=float, default=60, help="held load, seconds")
    parser.add_argument(
        "--paced-connections", type=int, default=128, help="the held load's connection pool"
    )
    parser.add_argument("--timeout", type=float, default=10, help="held load: seconds per answer")
    parser.add_argument("--database", default="postgres", choices=["postgres", "sqlite"])
    parser.add_argument("--postgres-url", default=DEFAULT_POSTGRES_URL)
    parser.add_argument("--loop", default="auto", choices=["auto", "asyncio", "uvloop"])
    parser.add_argument("--json", type=Path, help="also write the results to this JSON file")
    return parser.parse_args(argv)


def raise_open_files(need: int) -> None:
    """Lift the soft open-files limit toward `need` (wrk and the servers inherit it): 1,000
    connections are 1,000 sockets on each side, past the common soft limit of 1,024."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft != resource.RLIM_INFINITY and soft < need:
        target = need if hard == resource.RLIM_INFINITY else min(need, hard)
        with contextlib.suppress(ValueError, OSError):
            resource.setrlimit(resource.RLIMIT_NOFILE, (target, hard))


def main(argv: list[str] | None = None) -> int:
    """Set up, run both loads on every variant, print the tables."""
    args = parse_args(argv)
    ensure_wrk()
    raise_open_files(4 * args.connections + 1024)
    with (
        workdir("raidesk-scale-") as work,
        Databases(args.database, work, args.postgres_url) as dbs,
    ):
        return run_all(args, work, dbs)


def make_variants(args: argparse.Namespace, work: Path, dbs: Databases) -> list[Variant]:
    """One server per Redis deployment, each with its own copy of the seeded database."""
    variants = []
    for name in args.redis:
        backing: RedisProcess | RedisClusterServers
        if name == "single":
            backing = RedisProcess(work)
            redis_url = backing.url
        else:
            backing = RedisClusterServers(work / "cluster")
            redis_url = backing.url
        database_url = dbs.clone_seed(name)
        env = base_env(
            work,
            name,
            SECRET_KEY=SECRET,
            DATABASE_URL=database_url,
            REDIS_URL=redis_url,
            PURCHASE_STRATEGY="lua",
            AI_PROVIDER="rules",
            RATE_LIMIT_ENABLED="true",
            RATE_LIMIT_DEFAULT=HUGE,
            RATE_LIMIT_AUTHENTICATED=HUGE,
            RATE_LIMIT_ADMIN=HUGE,
            # One caller sends the held load's classify requests: its tier is raised too.
            RATE_LIMIT_CLASSIFY=HUGE,
            LOG_LEVEL="WARNING",
            ACCESS_TOKEN_EXPIRE_MINUTES=str(TOKEN_MINUTES),
        )
        server = Server("app.main:create_served_app", args.workers, env, work, name, loop=args.loop)
        variants.append(Variant(name, server, database_url, backing))
    return variants


def run_all(args: argparse.Namespace, work: Path, dbs: Databases) -> int:
    """Seed, start every variant, run the sale rounds then the held loads, report."""
    started = time.monotonic()
    seed_url = dbs.create_seed()
    admin_token, tokens = asyncio.run(seed_database(seed_url, secret=SECRET, buyers=args.buyers))
    tokens_file = work / "tokens.txt"
    tokens_file.write_text("\n".join(tokens) + "\n", encoding="utf-8")
    print(f"seeded {args.buyers} buyers ({args.database}) in {time.monotonic() - started:.1f} s")
    variants = make_variants(args, work, dbs)
    backings = [v.backing for v in variants]
    with running(*backings, *(v.server for v in variants)):
        print(
            f"Scale: Redis {' vs '.join(args.redis)}; {args.workers} uvicorn workers per server "
            f"(loop {args.loop}), {args.database}; (a) sale of {args.stock} units to "
            f"{args.buyers} buyers over {args.connections} wrk connections, {args.rounds} "
            f"interleaved rounds; (b) {args.rate:g} requests/s for {args.duration:g} s, mixed "
            f"routes, open loop; {machine_note()}",
            flush=True,
        )
        for v in variants:  # warm-up: code paths, pools, the cluster client's slot map
            run_wrk(v.server.url + "/ping", duration_s=1, connections=4, threads=1, scratch=work)
        for rnd in range(args.rounds):
            shift = rnd % len(variants)
            for v in variants[shift:] + variants[:shift]:
                sale = sale_round(
                    v.server,
                    admin_token=admin_token,
                    tokens_file=tokens_file,
                    database_url=v.database_url,
                    args=args,
                    scratch=work,
                )
                v.sale.sales.append(sale)
                v.sale.wrk_runs.append(sale.wrk)
                print(
                    f"  sale round {rnd + 1} {v.name:7s} {sale.wrk.rps:8.0f} attempts/s  "
                    f"p50 {sale.wrk.p50_ms:7.2f} ms  p99 {sale.wrk.p99_ms:7.2f} ms  "
                    f"sold {sale.sold}  statuses {sale.wrk.statuses}  "
                    f"socket errors {sale.wrk.error_count}",
                    flush=True,
                )
        requests = build_requests("127.0.0.1", tokens[0])
        for v in variants:
            v.held = run_async(
                functools.partial(
                    paced_load,
                    v.server.port,
                    requests,
                    rate=args.rate,
                    duration_s=args.duration,
                    connections=args.paced_connections,
                    timeout_s=args.timeout,
                )
            )
            print(
                f"  held load {v.name:7s} {v.held.achieved_rate:8.0f} req/s achieved  "
                f"p50 {v.held.percentile(50):7.2f} ms  p99 {v.held.percentile(99):7.2f} ms  "
                f"statuses {v.held.statuses}  socket errors {v.held.socket_errors}  "
                f"not sent {v.held.not_sent}",
                flush=True,
            )
    return report(variants, args)


def report(variants: list[Variant], args: argparse.Namespace) -> int:
    """Print both tables and the summary line; write JSON when asked."""
    base = variants[0]
    sale_rows = []
    held_rows = []
    summary: dict[str, Any] = {"bench": "scale", "args": {k: str(v) for k, v in vars(args).items()}}
    checks = {}
    for v in variants:
        errors, attempts = v.sale_errors()
        checks[v.name] = oversell_check(v.sale.sales, stock=args.stock, buyers=args.buyers)
        sale_rows.append(
            [
                v.name,
                f"{v.sale.rps:.0f}",
                ratio(v.sale.rps, base.sale.rps),
                f"{v.sale.p50:.2f}",
                f"{v.sale.p99:.2f}",
                ratio(v.sale.p99, base.sale.p99),
                f"{errors} ({errors / attempts if attempts else 0:.2%})",
                "/".join(str(s.sold) for s in v.sale.sales),
                checks[v.name],
            ]
        )
        held = v.held or PacedResult(scheduled=0)
        base_held = base.held or PacedResult(scheduled=0)
        held_rows.append(
            [
                v.name,
                f"{args.rate:g}",
                f"{held.achieved_rate:.0f}",
                ratio(held.achieved_rate, base_held.achieved_rate),
                f"{held.percentile(50):.2f}",
                f"{held.percentile(99):.2f}",
                ratio(held.percentile(99), base_held.percentile(99)),
                f"{held.errors} ({held.error_rate:.2%})",
            ]
        )
        summary[v.name] = {
            "sale_attempts_per_s": v.sale.rps,
            "sale_p50_ms": v.sale.p50,
            "sale_p99_ms": v.sale.p99,
            "sale_errors": errors,
            "sale_attempts": attempts,
            "sold": [s.sold for s in v.sale.sales],
            "oversell_check": checks[v.name],
            "held_rate": held.achieved_rate,
            "held_p50_ms": held.percentile(50),
            "held_p99_ms": held.percentile(99),
            "held_errors": held.errors,
            "held_scheduled": held.scheduled,
        }
    print()
    connections = min(args.connections, args.buyers)  # as sale_round opens them
    print(f"(a) flash sale, {connections} connections (medians of {args.rounds} rounds)")
    print(
        format_table(
            sale_rows,
            [
                "redis",
                "attempts/s",
                f"vs {base.name}",
                "p50 ms",
                "p99 ms",
                f"p99 vs {base.name}",
                "errors",
                "sold per round",
                "oversell check",
            ],
        )
    )
    print()
    print(f"(b) held load, mixed routes, {args.duration:g} s open loop")
    print(
        format_table(
            held_rows,
            [
                "redis",
                "target req/s",
                "achieved req/s",
                f"vs {base.name}",
                "p50 ms",
                "p99 ms",
                f"p99 vs {base.name}",
                "errors",
            ],
        )
    )
    print(SUMMARY_MARK + json.dumps(summary))
    if args.json:
        args.json.write_text(json.dumps(summary, indent=2))
    return 0 if all(c == "ok" for c in checks.values()) else 3


if __name__ == "__main__":
    try:
        sys.exit(main())
    except BenchError as exc:
        print(f"bench failed: {exc}", file=sys.stderr)
        sys.exit(2)
