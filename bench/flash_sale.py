"""Flash sale on one hot product: 1,000 units, 5,000 distinct buyers at once, over real Redis and
2 uvicorn workers, for PURCHASE_STRATEGY=lua vs lock, and GET /ping on the same server as the
baseline — all in one run, in interleaved rounds (ping, lua, lock, then rotated).

    uv run python -m bench.flash_sale --workers 2 --connections 64 --buyers 5000 --stock 1000

The durable store is PostgreSQL by default (`--database postgres`): 2 workers + Redis is the
scale-out deployment, whose database is PostgreSQL (docs/architecture.md, "Storage by
deployment"). The bench creates fresh databases `raidesk_bench_<hex>_*` on the server of
`--postgres-url` (default $TEST_POSTGRES_URL or postgresql+asyncpg://postgres@127.0.0.1:5432/test)
and drops them afterwards. `--database sqlite` gives each server its own SQLite file instead (the
embedded shape).

Setup (not timed): a private redis-server; a migrated database holding 5,000 users plus an
admin, written through the user repository (no argon2: the buyers never log in), copied once
per server (PostgreSQL: CREATE DATABASE … TEMPLATE; SQLite: a file copy); one HS256 access
token per buyer minted with the app's TokenCodec. Each round creates a fresh product
(`per_user_limit` 1) through `POST /api/products` as the admin, then wrk sends exactly one
`POST /api/purchase/{id}` per buyer, each with its own bearer token (a Lua script rotates the
tokens; each wrk thread stops after its share). Afterwards the purchases table gives the sold
count and the sell-out window (first to last `purchased_at`).

The rate limiter runs as deployed; the per-IP, authenticated and admin tiers are raised out of
the way (every buyer shares 127.0.0.1), the purchase tier keeps its default (10/minute per
user), which one try per buyer per round never reaches.

Targets (issue 6): lua attempts/s >= 35 % of /ping, lua p99 < 50 ms at 64 connections, and
lua >= 5x the lock strategy.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import secrets
import shutil
import sys
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx

from bench.harness import (
    BenchError,
    RedisProcess,
    Server,
    WrkResult,
    base_env,
    ensure_wrk,
    format_table,
    machine_note,
    run_wrk,
    running,
    workdir,
)

HUGE = "1000000000/minute;1000000000/hour;1000000000/day"
TOKEN_MINUTES = 240

# Each wrk thread takes every n-th token (its own buyers) and sends one purchase per buyer.
# Connections that free up after the last purchase went out are parked by delay() (wrk asks it
# before each send), so no buyer tries twice and nothing else pollutes the latencies; once a
# thread has every purchase answered it stops and says so, and the harness ends the run.
PURCHASE_LUA = r"""
local tokens = {}  -- the buyers' bearer tokens, then their formatted requests
local path = ""
local quota = 0
local sent = 0
local answered = 0
local stopped = false
local body = '{"quantity":1}'
local next_tid = 0

function setup(thread)
  thread:set("tid", next_tid)
  next_tid = next_tid + 1
end

function init(args)
  local file = assert(io.open(args[1], "r"))
  local nthreads = tonumber(args[3])
  local i = 0
  for line in file:lines() do
    if i % nthreads == tid then table.insert(tokens, line) end
    i = i + 1
  end
  file:close()
  path = args[2]
  quota = #tokens
  -- Every request is built here, before the clock starts: wrk shares the 2 CPUs with the
  -- server it measures, and formatting a request per call cost it a visible share of them.
  for n, token in ipairs(tokens) do
    tokens[n] = wrk.format("POST", path, {
      ["Authorization"] = "Bearer " .. token,
      ["Content-Type"] = "application/json",
    }, body)
  end
end

function delay()
  if sent >= quota then return 600000 end
  return 0
end

-- wrk calls request() once on its first thread before the run, only to inspect the request
-- (script_verify_request); that call must not use up a buyer.
local inspected = false

function request()
  if tid == 0 and not inspected then
    inspected = true
    return wrk.format("POST", path, {["Content-Type"] = "application/json"}, body)
  end
  sent = sent + 1
  -- Never reached while delay() parks the connection; a harmless request just in case.
  if sent > quota then return wrk.format("GET", "/health/live") end
  return tokens[sent]
end

function response(status, headers, body)
  answered = answered + 1
  if answered >= quota and not stopped then
    stopped = true
    io.write("WRK_THREAD_DONE\n")
    io.stdout:flush()
    wrk.thread:stop()
  end
end
"""


@dataclass
class SaleRun:
    """One sale round: wrk's view plus what the database recorded."""

    wrk: WrkResult
    product_id: int
    sold: int
    stock_left: int
    sell_out_s: float

    @property
    def purchases_per_s(self) -> float:
        """Successful purchases per second over the sell-out window."""
        return self.sold / self.sell_out_s if self.sell_out_s > 0 else 0.0


@dataclass
class Variant:
    """Measurements of one variant over the rounds; medians are reported."""

    name: str
    wrk_runs: list[WrkResult] = field(default_factory=list)
    sales: list[SaleRun] = field(default_factory=list)

    def median(self, values: list[float]) -> float:
        """The median of `values` (0 when empty)."""
        ordered = sorted(values)
        if not ordered:
            return 0.0
        mid = len(ordered) // 2
        return ordered[mid] if len(ordered) % 2 else (ordered[mid - 1] + ordered[mid]) / 2

    @property
    def rps(self) -> float:
        """Median requests (attempts) per second."""
        return self.median([r.rps for r in self.wrk_runs])

    @property
    def p50(self) -> float:
        """Median of the rounds' p50 latency (ms)."""
        return self.median([r.p50_ms for r in self.wrk_runs])

    @property
    def p99(self) -> float:
        """Median of the rounds' p99 latency (ms)."""
        return self.median([r.p99_ms for r in self.wrk_runs])

    @property
    def purchases_per_s(self) -> float:
        """Median successful purchases per second during the sell-out window."""
        return self.median([s.purchases_per_s for s in self.sales])


# --- setup ---------------------------------------------------------------------------
async def seed_database(database_url: str, *, secret: str, buyers: int) -> tuple[str, list[str]]:
    """Migrate a database, store the admin and the buyers, and mint their access tokens."""
    from app.accounts.adapters.sql.users import SqlUserRepository
    from app.accounts.repository import UserRecord
    from app.platform.config import load_settings
    from app.platform.security import TokenCodec
    from app.platform.storage.migrate import run_migrations
    from app.platform.storage.sql.engine import create_engine

    settings = load_settings(
        _env_file=None,
        environment="production",
        secret_key=secret,
        database_url=database_url,
        redis_url="",
    )
    engine = create_engine(settings)
    try:
        await run_migrations(engine)
        users = SqlUserRepository(engine)
        # Accounts made the day before the sale, as in life: none is a recent change that the
        # servers' auth change feed would hold, so each purchase is judged by its token alone.
        now = datetime.now(UTC) - timedelta(days=1)
        # A hash no password verifies against: these accounts can only use minted tokens.
        unusable = "!bench-account-no-password"
        admin = UserRecord(
            id="usr_bench_admin",
            username="bench-admin",
            password_hash=unusable,
            role="admin",
            is_active=True,
            created_at=now,
            updated_at=now,
        )
        await users.create(admin)

        async def create_buyers(numbers: range) -> None:
            for i in numbers:
                await users.create(
                    UserRecord(
                        id=f"usr_bench_{i:06d}",
                        username=f"buyer{i:06d}",
                        password_hash=unusable,
                        role="user",
                        is_active=True,
                        created_at=now,
                        updated_at=now,
                    )
                )

        # A few writers at once: one commit per user is slow on PostgreSQL, one at a time.
        lanes = 1 if settings.is_sqlite else 8
        await asyncio.gather(*(create_buyers(range(k, buyers, lanes)) for k in range(lanes)))
    finally:
        await engine.dispose()
    codec = TokenCodec(secret_key=secret, expire_minutes=TOKEN_MINUTES)
    # Minted as login does (with the username): then no purchase needs an account read.
    admin_token = codec.issue(
        user_id="usr_bench_admin", role="admin", username="bench-admin"
    ).access_token
    tokens = [
        codec.issue(
            user_id=f"usr_bench_{i:06d}", role="user", username=f"buyer{i:06d}"
        ).access_token
        for i in range(buyers)
    ]
    return admin_token, tokens


def create_product(server: Server, admin_token: str, *, stock: int, label: str) -> int:
    """A fresh hot product for one round (admin API)."""
    resp = httpx.post(
        server.url + "/api/products",
        headers={"Authorization": f"Bearer {admin_token}"},
        json={
            "name": f"bench {label} {time.time_ns()}",
            "price": "10.00",
            "initial_stock": stock,
            "per_user_limit": 1,
        },
        timeout=30,
    )
    if resp.status_code != 201:
        raise BenchError(f"creating the product failed: {resp.status_code} {resp.text[:500]}")
    return int(resp.json()["id"])


def stock_left(server: Server, admin_token: str, product_id: int) -> int:
    """The product's live stock as the API reports it."""
    resp = httpx.get(
        f"{server.url}/api/inventory/{product_id}",
        headers={"Authorization": f"Bearer {admin_token}"},
        timeout=30,
    )
    if resp.status_code != 200:
        raise BenchError(f"reading the stock failed: {resp.status_code} {resp.text[:500]}")
    return int(resp.json()["stock"])


def _as_utc(ts: datetime) -> datetime:
    return ts if ts.tzinfo else ts.replace(tzinfo=UTC)


async def _purchase_books(database_url: str, product_id: int) -> tuple[int, Any, Any]:
    from sqlalchemy import func, select
    from sqlalchemy.ext.asyncio import create_async_engine

    from app.platform.storage.sql.tables import purchases

    engine = create_async_engine(database_url)
    try:
        async with engine.connect() as conn:
            row = (
                await conn.execute(
                    select(
                        func.count(),
                        func.min(purchases.c.purchased_at),
                        func.max(purchases.c.purchased_at),
                    ).where(purchases.c.product_id == product_id)
                )
            ).one()
    finally:
        await engine.dispose()
    return int(row[0]), row[1], row[2]


def recorded_purchases(database_url: str, product_id: int, *, expect: int) -> tuple[int, float]:
    """(rows, seconds from first to last purchase) once the rows stop changing (group commit)."""
    deadline = time.monotonic() + 30
    last = -1
    while True:
        count, first, final = asyncio.run(_purchase_books(database_url, product_id))
        if count in (expect, last) or time.monotonic() > deadline:
            break
        last = count
        time.sleep(0.5)
    if not count:
        return 0, 0.0
    return count, (_as_utc(final) - _as_utc(first)).total_seconds()


# --- databases -----------------------------------------------------------------------
DEFAULT_POSTGRES_URL = os.environ.get(
    "TEST_POSTGRES_URL", "postgresql+asyncpg://postgres@127.0.0.1:5432/test"
)


async def _pg_admin(admin_url: str, *statements: str) -> None:
    from sqlalchemy import text
    from sqlalchemy.ext.asyncio import create_async_engine

    engine = create_async_engine(admin_url, isolation_level="AUTOCOMMIT")
    try:
        async with engine.connect() as conn:
            for statement in statements:
                await conn.execute(text(statement))
    finally:
        await engine.dispose()


class Databases:
    """A seed database and one copy per server, on SQLite files or a PostgreSQL server."""

    def __init__(self, kind: str, work: Path, admin_url: str) -> None:
        self.kind = kind
        self.work = work
        self.admin_url = admin_url
        self.prefix = f"raidesk_bench_{secrets.token_hex(4)}"
        self.created: list[str] = []

    def url(self, name: str) -> str:
        """The SQLAlchemy URL of database `name`."""
        if self.kind == "sqlite":
            return f"sqlite+aiosqlite:///{self.work / (name + '.db')}"
        return self.admin_url.rsplit("/", 1)[0] + f"/{self.prefix}_{name}"

    def create_seed(self) -> str:
        """An empty database for the seed (migrated by `seed_database`)."""
        if self.kind == "postgres":
            self._pg(f'CREATE DATABASE "{self.prefix}_seed"')
            self.created.append(f"{self.prefix}_seed")
        return self.url("seed")

    def create(self, name: str) -> str:
        """An empty PostgreSQL database `name` for this run (dropped by `drop_all`)."""
        self._pg(f'CREATE DATABASE "{self.prefix}_{name}"')
        self.created.append(f"{self.prefix}_{name}")
        return self.url(name)

    def clone_seed(self, name: str) -> str:
        """A copy of the seeded database for one server."""
        if self.kind == "sqlite":
            shutil.copyfile(self.work / "seed.db", self.work / f"{name}.db")
        else:
            self._pg(f'CREATE DATABASE "{self.prefix}_{name}" TEMPLATE "{self.prefix}_seed"')
            self.created.append(f"{self.prefix}_{name}")
        return self.url(name)

    def drop_all(self) -> None:
        """Drop every PostgreSQL database this run created."""
        for name in reversed(self.created):
            with contextlib.suppress(Exception):
                self._pg(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        self.created.clear()

    def __enter__(self) -> Databases:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.drop_all()  # whether the run ended or failed: no database is left behind

    def _pg(self, statement: str) -> None:
        try:
            asyncio.run(_pg_admin(self.admin_url, statement))
        except Exception as exc:
            raise BenchError(
                f"PostgreSQL at {self.admin_url} could not be used ({statement}): {exc}; "
                "start it or pass --database sqlite"
            ) from exc


# --- run -----------------------------------------------------------------------------
def parse_args(argv: list[str] | None) -> argparse.Namespace:
    """Command-line options."""
    parser = argparse.ArgumentParser(prog="python -m bench.flash_sale")
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--connections", type=int, default=64)
    parser.add_argument("--threads", type=int, default=2, help="wrk threads")
    parser.add_argument("--buyers", type=int, default=5000, help="distinct users, one try each")
    parser.add_argument("--stock", type=int, default=1000, help="units of the hot product")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--ping-duration", type=float, default=5, help="seconds of /ping")
    parser.add_argument(
        "--strategies", nargs="+", default=["lua", "lock"], choices=["lua", "lock", "sql"]
    )
    parser.add_argument(
        "--database",
        default="postgres",
        choices=["postgres", "sqlite"],
        help="the durable store: fresh PostgreSQL databases (default) or SQLite files",
    )
    parser.add_argument(
        "--postgres-url",
        default=DEFAULT_POSTGRES_URL,
        help="any database on the PostgreSQL server to create the bench's databases on",
    )
    parser.add_argument(
        "--loop", default="auto", choices=["auto", "asyncio", "uvloop"], help="uvicorn --loop"
    )
    parser.add_argument("--json", type=Path, help="also write the results to this JSON file")
    return parser.parse_args(argv)


def sale_round(
    server: Server,
    *,
    admin_token: str,
    tokens_file: Path,
    database_url: str,
    args: argparse.Namespace,
    scratch: Path,
) -> SaleRun:
    """One hot-product sale: fresh product, one purchase per buyer, then the books."""
    product_id = create_product(server, admin_token, stock=args.stock, label=server.name)
    # No more connections than buyers: wrk sends each connection's first request without
    # asking delay(), so a connection with no buyer left sends the script's filler, whose
    # quick answer would count toward the thread's quota and stop it before the purchases.
    connections = max(1, min(args.connections, args.buyers))
    threads = max(1, min(args.threads, connections))
    result = run_wrk(
        f"{server.url}/api/purchase/{product_id}",
        duration_s=300,  # an upper bound: the threads stop after their buyers
        connections=connections,
        threads=threads,
        script=PURCHASE_LUA,
        script_args=[str(tokens_file), f"/api/purchase/{product_id}", str(threads)],
        count_statuses=True,
        stop_when_threads_done=True,
        timeout_s=30,
        scratch=scratch,
    )
    answered = sum(result.statuses.values())
    if answered != args.buyers:
        print(f"  warning: {answered} of {args.buyers} purchases were answered", flush=True)
    left = stock_left(server, admin_token, product_id)
    sold, window = recorded_purchases(database_url, product_id, expect=args.stock - left)
    if sold > args.stock or left < 0 or sold != args.stock - left:
        raise BenchError(
            f"{server.name}: books do not balance: stock {args.stock}, left {left}, rows {sold}"
        )
    return SaleRun(result, product_id, sold, left, window)


def main(argv: list[str] | None = None) -> int:
    """Set up, run the interleaved rounds, print the table and the acceptance lines."""
    args = parse_args(argv)
    ensure_wrk()
    with workdir() as work, Databases(args.database, work, args.postgres_url) as dbs:
        return run_all(args, work, dbs)


def run_all(args: argparse.Namespace, work: Path, dbs: Databases) -> int:
    """Seed, start Redis and one server per strategy, run the rounds, report."""
    redis = RedisProcess(work)
    secret = "bench-" + "x" * 40
    started = time.monotonic()
    seed_url = dbs.create_seed()
    admin_token, tokens = asyncio.run(seed_database(seed_url, secret=secret, buyers=args.buyers))
    tokens_file = work / "tokens.txt"
    tokens_file.write_text("\n".join(tokens) + "\n", encoding="utf-8")
    print(
        f"seeded {args.buyers} buyers ({args.database}) in {time.monotonic() - started:.1f} s",
        flush=True,
    )

    servers: dict[str, Server] = {}
    urls: dict[str, str] = {}
    for number, strategy in enumerate(args.strategies, start=1):
        urls[strategy] = dbs.clone_seed(strategy)
        env = base_env(
            work,
            strategy,
            SECRET_KEY=secret,
            DATABASE_URL=urls[strategy],
            # One Redis database per server: product ids restart at 1 in each database.
            REDIS_URL=redis.url.rsplit("/", 1)[0] + f"/{number}",
            PURCHASE_STRATEGY=strategy,
            RATE_LIMIT_ENABLED="true",
            RATE_LIMIT_DEFAULT=HUGE,
            RATE_LIMIT_AUTHENTICATED=HUGE,
            RATE_LIMIT_ADMIN=HUGE,
            LOG_LEVEL="INFO",
            # The server trusts a token's claims only if it lives no longer than it would issue.
            ACCESS_TOKEN_EXPIRE_MINUTES=str(TOKEN_MINUTES),
        )
        servers[strategy] = Server(
            "app.main:create_served_app", args.workers, env, work, strategy, loop=args.loop
        )
    first = servers[args.strategies[0]]

    with running(redis, *servers.values()):
        print(
            f"Flash sale: {args.stock} units, {args.buyers} distinct buyers, "
            f"{args.workers} uvicorn workers per server (loop {args.loop}), real Redis, "
            f"{args.database}, wrk {args.threads} threads / {args.connections} connections, "
            f"{args.rounds} interleaved rounds; "
            f"baseline GET /ping on the {first.name} server; {machine_note()}",
            flush=True,
        )
        # Warm-up: code paths, connection pools and the users' cache entries.
        run_wrk(
            first.url + "/ping",
            duration_s=1,
            connections=args.connections,
            threads=args.threads,
            scratch=work,
        )
        variants = {"ping": Variant("ping")} | {s: Variant(s) for s in args.strategies}
        order = list(variants)
        for rnd in range(args.rounds):
            shift = rnd % len(order)
            for name in order[shift:] + order[:shift]:
                if name == "ping":
                    result = run_wrk(
                        first.url + "/ping",
                        duration_s=args.ping_duration,
                        connections=args.connections,
                        threads=args.threads,
                        scratch=work,
                    )
                    variants["ping"].wrk_runs.append(result)
                    print(
                        f"  round {rnd + 1} ping  {result.rps:8.0f} req/s  "
                        f"p50 {result.p50_ms:7.2f} ms  p99 {result.p99_ms:7.2f} ms",
                        flush=True,
                    )
                    continue
                sale = sale_round(
                    servers[name],
                    admin_token=admin_token,
                    tokens_file=tokens_file,
                    database_url=urls[name],
                    args=args,
                    scratch=work,
                )
                variants[name].wrk_runs.append(sale.wrk)
                variants[name].sales.append(sale)
                print(
                    f"  round {rnd + 1} {name:5s} {sale.wrk.rps:8.0f} req/s  "
                    f"p50 {sale.wrk.p50_ms:7.2f} ms  p99 {sale.wrk.p99_ms:7.2f} ms  "
                    f"sold {sale.sold} in {sale.sell_out_s:.2f} s "
                    f"({sale.purchases_per_s:.0f}/s)  statuses {sale.wrk.statuses}",
                    flush=True,
                )
    return report(variants, args)


def report(variants: dict[str, Variant], args: argparse.Namespace) -> int:
    """Print the table and the acceptance lines; write JSON when asked."""
    ping = variants["ping"]
    rows = []
    for v in variants.values():
        statuses: dict[str, int] = {}
        for run in v.wrk_runs:
            for code, n in run.statuses.items():
                statuses[code] = statuses.get(code, 0) + n
        rows.append(
            [
                v.name,
                f"{v.rps:.0f}",
                f"{v.rps / ping.rps:.3f}" if ping.rps else "-",
                f"{v.p50:.2f}",
                f"{v.p99:.2f}",
                "/".join(str(s.sold) for s in v.sales) or "-",
                f"{v.purchases_per_s:.0f}" if v.sales else "-",
                " ".join(f"{k}:{n}" for k, n in sorted(statuses.items())) or "-",
            ]
        )
    print()
    print(
        format_table(
            rows,
            [
                "variant",
                "req/s",
                "vs ping",
                "p50 ms",
                "p99 ms",
                "sold per round",
                "purchases/s",
                "statuses",
            ],
        )
    )
    summary: dict[str, Any] = {
        "bench": "flash_sale",
        "args": {k: str(v) for k, v in vars(args).items()},
    }
    summary["variants"] = {
        v.name: {
            "rps": v.rps,
            "p50_ms": v.p50,
            "p99_ms": v.p99,
            "purchases_per_s": v.purchases_per_s,
            "sold": [s.sold for s in v.sales],
        }
        for v in variants.values()
    }
    if "lua" in variants:
        lua = variants["lua"]
        ratio_ping = lua.rps / ping.rps if ping.rps else 0.0
        print()
        print(
            f"lua vs ping throughput: {ratio_ping:.3f} (target >= 0.35); "
            f"lua p99: {lua.p99:.1f} ms at {args.connections} connections (target < 50 ms)"
        )
        summary["lua_vs_ping"] = ratio_ping
        if "lock" in variants and variants["lock"].rps:
            lock = variants["lock"]
            times_rps = lua.rps / lock.rps
            times_buys = lua.purchases_per_s / lock.purchases_per_s if lock.purchases_per_s else 0.0
            print(
                f"lua vs lock: {times_rps:.1f}x requests/s, {times_buys:.1f}x purchases/s "
                f"during the sell-out (target >= 5x)"
            )
            summary["lua_vs_lock_rps"] = times_rps
            summary["lua_vs_lock_purchases"] = times_buys
    if args.json:
        args.json.write_text(json.dumps(summary, indent=2))
    return 0


if __name__ == "__main__":
    try:
        sys.exit(main())
    except BenchError as exc:
        print(f"bench failed: {exc}", file=sys.stderr)
        sys.exit(2)
