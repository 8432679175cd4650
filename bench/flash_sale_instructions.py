"""The flash sale in CPU instructions: one uvicorn worker per strategy runs under valgrind's
callgrind, which counts the instructions the server process executes (its Python, uvicorn,
uvloop, the Redis and database clients and libc; not the kernel's, Redis's or PostgreSQL's)
while distinct buyers each send one `POST /api/purchase/{id}`, a few at once, and then
`GET /ping` is sent as many times on the same server.

    uv run python -m bench.flash_sale_instructions --buyers 1000 --stock 200

With `--aliases`, each strategy runs a second time with the seeds' alias router switched off
(`SEED_ALIASES=false`): the two rows show what mounting the aliases costs a purchase and a
/ping.

The throughput bench (`bench.flash_sale`) is the target's measure; on a machine shared with
other work its ratios swing with the load, while these counts repeat within about a percent, so
they tell whether the purchase path got cheaper or dearer. `ping ÷ purchase` is the share of
/ping's request rate a CPU-bound worker could sell at. It says nothing about the lock
strategy's real limit, which is waiting for the product's lock, not instructions. Setup as in
`bench.flash_sale` (seeded buyers with minted tokens, the rate limiter on with its tiers raised,
a private Redis, PostgreSQL by default); a warm-up sale on another product comes first.
"""

from __future__ import annotations

import argparse
import asyncio
import re
import subprocess
import sys
import time
from pathlib import Path

import httpx

from bench.flash_sale import (
    DEFAULT_POSTGRES_URL,
    HUGE,
    TOKEN_MINUTES,
    Databases,
    create_product,
    seed_database,
    stock_left,
)
from bench.harness import (
    BenchError,
    RedisProcess,
    Server,
    base_env,
    ensure_tool,
    format_table,
    running,
    workdir,
)


async def _send(
    url: str, requests: list[tuple[str, str, dict[str, str]]], width: int
) -> dict[int, int]:
    """Send every request, `width` at a time; count the statuses."""
    statuses: dict[int, int] = {}
    limits = httpx.Limits(max_connections=width, max_keepalive_connections=width)
    async with httpx.AsyncClient(base_url=url, limits=limits, timeout=300) as client:
        queue = list(reversed(requests))

        async def lane() -> None:
            while queue:
                method, path, headers = queue.pop()
                body = {"quantity": 1} if method == "POST" else None
                answer = await client.request(method, path, json=body, headers=headers)
                statuses[answer.status_code] = statuses.get(answer.status_code, 0) + 1

        await asyncio.gather(*(lane() for _ in range(width)))
    return statuses


def _counted(
    server: Server, control: str, send: list[tuple[str, str, dict[str, str]]], width: int
) -> tuple[int, dict[int, int]]:
    """Instructions the server executed while answering `send` (and its statuses)."""
    assert server.process is not None
    pid = str(server.process.pid)
    before = set(server.workdir.glob(f"callgrind.{server.name}.out.*"))
    subprocess.run([control, "--instr=on", pid], check=True, capture_output=True)
    statuses = asyncio.run(_send(server.url, send, width))
    subprocess.run([control, "--instr=off", pid], check=True, capture_output=True)
    subprocess.run([control, "--dump", pid], check=True, capture_output=True)
    dumps = sorted(set(server.workdir.glob(f"callgrind.{server.name}.out.*")) - before)
    if not dumps:
        raise BenchError(f"callgrind wrote no dump for {server.name}")
    totals = re.search(r"^totals: (\d+)", dumps[-1].read_text(errors="replace"), re.MULTILINE)
    if totals is None:
        raise BenchError(f"no totals line in {dumps[-1]}")
    return int(totals.group(1)), statuses


def main(argv: list[str] | None = None) -> int:
    """Count instructions per purchase attempt and per /ping for each strategy."""
    parser = argparse.ArgumentParser(prog="python -m bench.flash_sale_instructions")
    parser.add_argument("--buyers", type=int, default=1000, help="counted purchases (one each)")
    parser.add_argument("--stock", type=int, default=200, help="units of the counted product")
    parser.add_argument("--warmup", type=int, default=200, help="uncounted purchases first")
    parser.add_argument("--concurrency", type=int, default=16, help="requests in flight")
    parser.add_argument(
        "--strategies", nargs="+", default=["lua", "lock"], choices=["lua", "lock", "sql"]
    )
    parser.add_argument("--database", default="postgres", choices=["postgres", "sqlite"])
    parser.add_argument("--postgres-url", default=DEFAULT_POSTGRES_URL)
    parser.add_argument(
        "--aliases", action="store_true", help="also each strategy without the alias router"
    )
    parser.add_argument(
        "--start-timeout", type=float, default=300, help="seconds a server may take to start"
    )
    args = parser.parse_args(argv)
    hint = "run `sudo apt-get install -y valgrind`"
    valgrind = ensure_tool("valgrind", hint=hint)
    control = ensure_tool("callgrind_control", package="valgrind", hint=hint)
    with workdir() as work, Databases(args.database, work, args.postgres_url) as dbs:
        return _run(args, work, dbs, valgrind, control)


def _run(args: argparse.Namespace, work: Path, dbs: Databases, valgrind: str, control: str) -> int:
    redis = RedisProcess(work)
    secret = "bench-" + "x" * 40
    seed_url = dbs.create_seed()
    buyers = max(args.buyers, args.warmup)
    admin_token, tokens = asyncio.run(seed_database(seed_url, secret=secret, buyers=buyers))
    rows: list[list[str]] = []
    runs = [(strategy, strategy, "true") for strategy in args.strategies]
    if args.aliases:
        runs += [(f"{strategy}-noaliases", strategy, "false") for strategy in args.strategies]
    with running(redis):
        for number, (label, strategy, aliases) in enumerate(runs, start=1):
            env = base_env(
                work,
                label,
                SECRET_KEY=secret,
                DATABASE_URL=dbs.clone_seed(label.replace("-", "_")),
                REDIS_URL=redis.url.rsplit("/", 1)[0] + f"/{number}",
                PURCHASE_STRATEGY=strategy,
                SEED_ALIASES=aliases,
                RATE_LIMIT_ENABLED="true",
                RATE_LIMIT_DEFAULT=HUGE,
                RATE_LIMIT_AUTHENTICATED=HUGE,
                RATE_LIMIT_ADMIN=HUGE,
                LOG_LEVEL="INFO",
                ACCESS_TOKEN_EXPIRE_MINUTES=str(TOKEN_MINUTES),
                PYTHONHASHSEED="0",
            )
            wrapper = (
                valgrind,
                "--tool=callgrind",
                "--instr-atstart=no",
                f"--callgrind-out-file={work / f'callgrind.{label}.out'}",
            )
            server = Server("app.main:create_app", 1, env, work, label, wrapper=wrapper)
            started = time.monotonic()
            server.start(timeout=args.start_timeout)
            try:

                def buys(product: int, count: int) -> list[tuple[str, str, dict[str, str]]]:
                    return [
                        ("POST", f"/api/purchase/{product}", {"Authorization": f"Bearer {t}"})
                        for t in tokens[:count]
                    ]

                warm = create_product(
                    server, admin_token, stock=max(1, args.warmup // 5), label="warm"
                )
                asyncio.run(_send(server.url, buys(warm, args.warmup), args.concurrency))
                asyncio.run(
                    _send(server.url, [("GET", "/ping", {})] * args.warmup, args.concurrency)
                )
                product = create_product(server, admin_token, stock=args.stock, label=label)
                bought, statuses = _counted(
                    server, control, buys(product, args.buyers), args.concurrency
                )
                left = stock_left(server, admin_token, product)
                pings, ping_statuses = _counted(
                    server, control, [("GET", "/ping", {})] * args.buyers, args.concurrency
                )
            finally:
                server.stop()
            per_buy, per_ping = bought / args.buyers, pings / args.buyers
            print(
                f"  {label}: {per_buy:.0f} instructions per purchase attempt "
                f"(statuses {statuses}, {args.stock - left} sold), {per_ping:.0f} per /ping "
                f"({ping_statuses}); {time.monotonic() - started:.0f} s",
                flush=True,
            )
            if args.stock - left != min(args.stock, args.buyers):
                raise BenchError(f"{label}: sold {args.stock - left} of {args.stock}")
            rows.append([label, f"{per_buy:.0f}", f"{per_ping:.0f}", f"{per_ping / per_buy:.3f}"])
    print()
    print(
        format_table(
            rows, ["strategy", "instructions/purchase", "instructions/ping", "ping ÷ purchase"]
        )
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
