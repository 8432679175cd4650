"""Soak: minutes of mixed traffic on two workers with Redis, and a Redis restart in the middle.

    uv run python -m bench.soak [--minutes 2] [--window 10] [--connections 16]

One uvicorn server (2 workers, SQLite + Redis, rate limits off: this measures the backends, not
the limiter) gets a rotating mix from wrk: `/ping`, `/api/auth/me`, `/api/classify`, a session
write and read, the product list and a purchase. The run is cut into windows; in the middle
window the private redis-server is killed and started again (empty) on the same port. Per window
it prints requests/s, p50/p99, errors (socket errors and 5xx) and each worker's RSS; then the
error rate outside the outage window, the p99 drift (last window against the first) and the
RSS growth per worker. Not part of `make test`: it runs for minutes (`make soak`).

Exit status: 0, or 3 when a target of the issue is missed (errors outside the outage window
≥ 0.1 %, or a worker's RSS grew ≥ 10 %).
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import secrets
import sys
import threading
import time
from dataclasses import dataclass
from pathlib import Path

import httpx

from bench.harness import (
    RedisProcess,
    Server,
    base_env,
    format_table,
    machine_note,
    run_wrk,
    running,
    workdir,
)

ADMIN_PASSWORD = secrets.token_urlsafe(16)

# wrk: each request() takes the next entry of the mix; {token} and {product} are filled in.
MIX_LUA = r"""
local token, product = nil, nil
local mix = {}
local i = 0
init = function(args)
  token, product = args[1], args[2]
  local auth = { ["Authorization"] = "Bearer " .. token, ["Content-Type"] = "application/json" }
  mix = {
    wrk.format("GET", "/ping"),
    wrk.format("GET", "/api/auth/me", auth),
    wrk.format("POST", "/api/classify", auth,
      '{"concept": "CT 영상에서 폐결절을 검출하는 AI 소프트웨어"}'),
    wrk.format("POST", "/api/sessions", auth, '{"data": {"step": "soak"}}'),
    wrk.format("GET", "/api/sessions?limit=5", auth),
    wrk.format("GET", "/api/products", auth),
    wrk.format("POST", "/api/purchase/" .. product, auth, '{"quantity": 1}'),
  }
end
request = function()
  i = i + 1
  return mix[(i % #mix) + 1]
end
"""


@dataclass
class Window:
    """One window of the run."""

    index: int
    outage: bool
    requests: int
    errors: int
    unexpected_4xx: int
    rps: float
    p50_ms: float
    p99_ms: float
    rss_mb: list[float]


def worker_pids(master: int) -> list[int]:
    """The uvicorn master's child processes (its workers), by pid."""
    children = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
        except OSError:
            continue
        # pid (comm) state ppid ...: comm may hold spaces, so split after its closing paren.
        ppid = int(stat.rsplit(")", 1)[1].split()[1])
        if ppid != master:
            continue
        # multiprocessing's resource tracker is a child too, but serves no request.
        with contextlib.suppress(OSError):
            if b"resource_tracker" in (entry / "cmdline").read_bytes():
                continue
        children.append(int(entry.name))
    return sorted(children)


def rss_mb(pid: int) -> float:
    """Resident set size of `pid` in MB (0 when it is gone)."""
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    except OSError:
        pass
    return 0.0


def setup(server: Server) -> tuple[str, int]:
    """Log the admin in and create a product with stock for the whole run."""
    with httpx.Client(base_url=server.url, timeout=30) as http:
        login = http.post("/api/auth/login", json={"username": "admin", "password": ADMIN_PASSWORD})
        login.raise_for_status()
        token = str(login.json()["access_token"])
        product = http.post(
            "/api/products",
            json={"name": "soak", "price": "1.00", "initial_stock": 100_000_000},
            headers={"Authorization": f"Bearer {token}"},
        )
        product.raise_for_status()
        return token, int(product.json()["id"])


def run(args: argparse.Namespace) -> int:
    """Run the soak and print its tables; the exit status says whether targets were met."""
    windows = max(3, round(args.minutes * 60 / args.window))
    outage_index = windows // 2
    with workdir("raidesk-soak-") as work:
        redis = RedisProcess(work)
        env = base_env(
            work,
            "soak",
            REDIS_URL="",
            RATE_LIMIT_ENABLED="false",
            ADMIN_USERNAME="admin",
            ADMIN_PASSWORD=ADMIN_PASSWORD,
            ARGON2_TIME_COST="2",
            ARGON2_MEMORY_COST="19456",
            PURCHASE_STRATEGY="lua",
        )
        server = Server("app.main:create_app", workers=2, env=env, workdir=work, name="soak")
        redis.start()
        server.env["REDIS_URL"] = redis.url
        with running(server):
            token, product = setup(server)
            workers = worker_pids(server.process.pid if server.process else 0)
            rows: list[Window] = []
            for index in range(windows):
                outage = index == outage_index
                restarter: threading.Thread | None = None
                if outage:
                    # Kill Redis a fifth into the window and start it again (empty) a tenth later.
                    def restart() -> None:
                        time.sleep(args.window / 5)
                        redis.stop()
                        time.sleep(args.window / 10)
                        redis.start()

                    restarter = threading.Thread(target=restart)
                    restarter.start()
                result = run_wrk(
                    server.url,
                    duration_s=args.window,
                    connections=args.connections,
                    threads=2,
                    script=MIX_LUA,
                    script_args=[token, str(product)],
                    count_statuses=True,
                    scratch=work,
                )
                if restarter is not None:
                    restarter.join()
                statuses = {int(k): v for k, v in result.statuses.items()}
                errors = result.error_count + sum(v for k, v in statuses.items() if k >= 500)
                # 404/409/429 would be a bug here (the mix only uses what exists, stock lasts).
                unexpected = sum(v for k, v in statuses.items() if 400 <= k < 500)
                rows.append(
                    Window(
                        index=index,
                        outage=outage,
                        requests=result.requests,
                        errors=errors,
                        unexpected_4xx=unexpected,
                        rps=result.rps,
                        p50_ms=result.p50_ms,
                        p99_ms=result.p99_ms,
                        rss_mb=[rss_mb(pid) for pid in workers],
                    )
                )
                print(
                    f"window {index + 1}/{windows}{' (Redis restart)' if outage else ''}: "
                    f"{result.rps:,.0f} req/s, p99 {result.p99_ms:.1f} ms, {errors} errors",
                    flush=True,
                )
    return report(rows, args)


def report(rows: list[Window], args: argparse.Namespace) -> int:
    """Print the per-window table and the verdicts."""
    table = [
        [
            str(w.index + 1) + (" (restart)" if w.outage else ""),
            f"{w.rps:,.0f}",
            f"{w.p50_ms:.2f}",
            f"{w.p99_ms:.2f}",
            str(w.errors),
            str(w.unexpected_4xx),
            " / ".join(f"{mb:.0f}" for mb in w.rss_mb),
        ]
        for w in rows
    ]
    header = ["window", "req/s", "p50 ms", "p99 ms", "errors", "4xx", "RSS MB per worker"]
    print()
    print(machine_note())
    print(format_table(table, header))
    steady = [w for w in rows if not w.outage]
    requests = sum(w.requests for w in steady)
    error_rate = sum(w.errors + w.unexpected_4xx for w in steady) / max(requests, 1)
    drift = rows[-1].p99_ms / rows[0].p99_ms if rows[0].p99_ms else float("inf")
    growth = [
        (last - first) / first if first else 0.0
        for first, last in zip(rows[0].rss_mb, rows[-1].rss_mb, strict=True)
    ]
    outage = next(w for w in rows if w.outage)
    summary = {
        "windows": len(rows),
        "window_s": args.window,
        "error_rate_outside_outage": round(error_rate, 6),
        "outage_window_errors": outage.errors,
        "outage_window_requests": outage.requests,
        "p99_drift": round(drift, 3),
        "rss_growth_per_worker": [round(g, 4) for g in growth],
    }
    print("SOAK " + json.dumps(summary))
    met = error_rate < 0.001 and all(g < 0.10 for g in growth)
    print(
        f"errors outside the outage window: {error_rate:.4%} (target < 0.1 %); "
        f"p99 last/first window: {drift:.2f}×; RSS growth per worker: "
        + ", ".join(f"{g:+.1%}" for g in growth)
        + " (target < 10 %)"
    )
    return 0 if met else 3


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    """Command-line options."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--minutes", type=float, default=2.0, help="length of the run")
    parser.add_argument("--window", type=float, default=10.0, help="seconds per window")
    parser.add_argument("--connections", type=int, default=16, help="wrk connections")
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    """Entry point."""
    os.environ.setdefault("BENCH_START_TIMEOUT", "120")
    return run(parse_args(argv))


if __name__ == "__main__":
    sys.exit(main())
