"""What the middleware stack costs: `GET /ping` on the bare app (no middleware) vs the full
app (request id, access log + metrics, security headers, CORS, rate limiter, body limit,
error guard), both served at once by uvicorn with N workers and driven by wrk in
interleaved rounds (bare, full, full, bare, …) so machine drift hits both alike.

    uv run python -m bench.middleware_overhead --workers 2 --duration 10 --connections 64

Target (issue 2): full >= 85 % of bare throughput, and < 1 ms added p99.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import httpx

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
    running,
    workdir,
)

# Limits as many as the default tier (three windows) but too high to reject anything, so the
# limiter does all of its work on every request and the bench measures it, not 429s.
HUGE_LIMITS = "1000000000/minute;1000000000/hour;1000000000/day"
FULL_ENV = {
    "RATE_LIMIT_ENABLED": "true",
    "RATE_LIMIT_DEFAULT": HUGE_LIMITS,
    "LOG_LEVEL": "INFO",  # one JSON access-log line per request, as in production
    "METRICS_ENABLED": "true",
}


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    """Command-line options."""
    parser = argparse.ArgumentParser(prog="python -m bench.middleware_overhead")
    parser.add_argument("--workers", type=int, default=2, help="uvicorn workers per server")
    add_wrk_options(parser)
    parser.add_argument(
        "--redis", action="store_true", help="run a private redis-server and set REDIS_URL"
    )
    parser.add_argument(
        "--breakdown",
        action="store_true",
        help="also measure full without the access log and full without the rate limiter",
    )
    parser.add_argument("--json", type=Path, help="also write the results to this JSON file")
    return parser.parse_args(argv)


def check_stacks(bare: Server, full: Server) -> None:
    """Make sure the two servers differ the way the bench claims before timing them."""
    b = httpx.get(bare.url + "/ping", timeout=5)
    f = httpx.get(full.url + "/ping", timeout=5)
    if b.status_code != 200 or f.status_code != 200:
        raise BenchError(f"/ping answered {b.status_code} (bare) and {f.status_code} (full)")
    if "x-request-id" in b.headers or "x-request-id" not in f.headers:
        raise BenchError("the full app should set X-Request-ID and the bare app should not")
    if not any(h.lower().startswith("ratelimit") for h in f.headers):
        raise BenchError("the full app answered without RateLimit headers: limiter not active")


def build_servers(args: argparse.Namespace, work: Path, redis_url: str) -> list[Server]:
    """bare and full, plus (with --breakdown) full minus one costly layer at a time."""
    variants: list[tuple[str, str, dict[str, str]]] = [
        ("bare", "app.main:create_bare_app", {"RATE_LIMIT_ENABLED": "false"}),
        ("full", "app.main:create_app", FULL_ENV),
    ]
    if args.breakdown:
        variants += [
            ("full-nolog", "app.main:create_app", {**FULL_ENV, "LOG_LEVEL": "WARNING"}),
            ("full-nolimit", "app.main:create_app", {**FULL_ENV, "RATE_LIMIT_ENABLED": "false"}),
        ]
    return [
        Server(factory, args.workers, base_env(work, name, REDIS_URL=redis_url, **env), work, name)
        for name, factory, env in variants
    ]


def main(argv: list[str] | None = None) -> int:
    """Run the interleaved rounds and print the table and the ratio line."""
    args = parse_args(argv)
    ensure_wrk()
    with workdir() as work:
        redis = RedisProcess(work) if args.redis else None
        servers = build_servers(args, work, redis.url if redis is not None else "")
        bare, full = servers[0], servers[1]
        with running(*([redis] if redis is not None else []), *servers):
            check_stacks(bare, full)
            print(
                f"Middleware overhead: GET /ping, {args.workers} uvicorn worker(s) per server, "
                f"wrk {args.threads} threads / {args.connections} connections, "
                f"{args.rounds} x {args.duration:g} s rounds interleaved; "
                f"limiter store: {'redis' if redis else 'memory'}; {machine_note()}",
                flush=True,
            )
            for server in servers:
                if args.warmup > 0:
                    run_wrk(
                        server.url + "/ping",
                        duration_s=args.warmup,
                        connections=args.connections,
                        threads=args.threads,
                        scratch=work,
                    )
            series = {server.name: Series(server.name) for server in servers}
            for rnd in range(args.rounds):
                # Alternate the order (ABBA...): no variant always runs first in a round.
                order = servers if rnd % 2 == 0 else servers[::-1]
                for server in order:
                    result = run_wrk(
                        server.url + "/ping",
                        duration_s=args.duration,
                        connections=args.connections,
                        threads=args.threads,
                        scratch=work,
                    )
                    series[server.name].runs.append(result)
                    print(
                        f"  round {rnd + 1} {server.name:12s} {result.rps:9.0f} req/s  "
                        f"p50 {result.p50_ms:6.2f} ms  p99 {result.p99_ms:6.2f} ms  "
                        f"errors {result.error_count}",
                        flush=True,
                    )
    return report(series, args)


def report(series: dict[str, Series], args: argparse.Namespace) -> int:
    """Print the summary table and the ratio line; write JSON when asked."""
    rows = [
        [
            s.name,
            f"{s.median('rps'):.0f}",
            f"{s.median('rps') / series['bare'].median('rps'):.3f}",
            f"{s.median('p50_ms'):.2f}",
            f"{s.median('p99_ms'):.2f}",
            str(s.requests),
            str(s.errors),
        ]
        for s in series.values()
    ]
    print()
    print(
        format_table(
            rows, ["variant", "req/s (median)", "vs bare", "p50 ms", "p99 ms", "requests", "errors"]
        )
    )
    bare, full = series["bare"], series["full"]
    ratio = full.median("rps") / bare.median("rps")
    added_p99 = full.median("p99_ms") - bare.median("p99_ms")
    verdict = "PASS" if ratio >= 0.85 and added_p99 < 1.0 else "MISS"
    print()
    print(
        f"ratio full/bare throughput: {ratio:.3f} (target >= 0.85); "
        f"p99 added: {added_p99:+.2f} ms (target < 1 ms) -> {verdict}"
    )
    if args.json:
        args.json.write_text(
            json.dumps(
                {
                    "bench": "middleware_overhead",
                    "args": {k: str(v) for k, v in vars(args).items()},
                    "ratio": ratio,
                    "added_p99_ms": added_p99,
                    "variants": {
                        s.name: {
                            "rps": s.median("rps"),
                            "p50_ms": s.median("p50_ms"),
                            "p99_ms": s.median("p99_ms"),
                            "requests": s.requests,
                            "errors": s.errors,
                        }
                        for s in series.values()
                    },
                },
                indent=2,
            )
        )
    return 0 if all(s.errors == 0 for s in series.values()) else 1


if __name__ == "__main__":
    try:
        sys.exit(main())
    except BenchError as exc:
        print(f"bench failed: {exc}", file=sys.stderr)
        sys.exit(2)
