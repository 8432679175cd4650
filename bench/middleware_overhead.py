"""What the middleware stack costs: `GET /ping` on the bare app (no middleware) vs the same
route through the middleware, served at once by uvicorn with N workers and driven by wrk in
interleaved rounds (bare, middleware, full, full, middleware, bare, …) so machine drift hits
every variant alike.

    uv run python -m bench.middleware_overhead --workers 2 --duration 6 --rounds 3

Variants:
- `bare`: the routes with no middleware at all;
- `middleware`: issue 2's stack (request id, access log + metrics, security headers, CORS,
  body limit, error guard), rate limiting off;
- `full`: the same plus issue 5's rate limiter (memory store, three windows, five headers).

Two phases, because they answer different questions:
1. Throughput: every connection sends its next request as soon as the last one is answered
   (wrk's closed loop), so the servers run flat out. Latency here is queueing: by Little's law it
   is connections / throughput, so its p99 only restates the throughput ratio.
2. Latency: every variant gets the same offered load, a fixed fraction of bare's throughput
   (`--paced-fraction`), from a few connections (`--paced-connections`) on one wrk thread, each
   waiting a random time between requests: queues stay short, wrk does not crowd the server
   off the 2 CPUs, and the p99 shows what the middleware adds to a request's own time.

The throughput ratio is the median over rounds of (variant / bare in the same round), printed
with its range: rounds drift, variants within a round much less.

Target (issue 2): `middleware` keeps >= 85 % of bare's throughput and adds < 1 ms to the p99.
The same target is reported for `full`; the limiter's own target is in
`bench.ratelimit_vs_slowapi` (issue 5).
"""

from __future__ import annotations

import argparse
import json
import statistics
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
MIDDLEWARE_ENV = {
    "RATE_LIMIT_ENABLED": "false",
    "LOG_LEVEL": "INFO",  # one JSON access-log line per request, as in production
    "METRICS_ENABLED": "true",
}
FULL_ENV = {**MIDDLEWARE_ENV, "RATE_LIMIT_ENABLED": "true", "RATE_LIMIT_DEFAULT": HUGE_LIMITS}
# The three stacks compared, by name: (app factory, settings).
STACKS: dict[str, tuple[str, dict[str, str]]] = {
    "bare": ("app.main:create_served_bare_app", {"RATE_LIMIT_ENABLED": "false"}),
    "middleware": ("app.main:create_served_app", MIDDLEWARE_ENV),
    "full": ("app.main:create_served_app", FULL_ENV),
}
TARGET_RATIO = 0.85
TARGET_ADDED_P99_MS = 1.0


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    """Command-line options."""
    parser = argparse.ArgumentParser(prog="python -m bench.middleware_overhead")
    parser.add_argument("--workers", type=int, default=2, help="uvicorn workers per server")
    add_wrk_options(parser)
    parser.add_argument(
        "--paced-fraction",
        type=float,
        default=0.5,
        help="latency phase: offered load as a fraction of bare's measured throughput",
    )
    parser.add_argument(
        "--paced-connections",
        type=int,
        default=8,
        help="latency phase: wrk connections (one wrk thread, so wrk leaves a core to the server)",
    )
    parser.add_argument(
        "--redis", action="store_true", help="run a private redis-server and set REDIS_URL"
    )
    parser.add_argument(
        "--breakdown", action="store_true", help="also measure full without the access log"
    )
    parser.add_argument("--json", type=Path, help="also write the results to this JSON file")
    return parser.parse_args(argv)


def check_stacks(servers: dict[str, Server]) -> None:
    """Make sure the servers differ the way the bench claims before timing them."""
    answers = {name: httpx.get(s.url + "/ping", timeout=5) for name, s in servers.items()}
    bad = {name: a.status_code for name, a in answers.items() if a.status_code != 200}
    if bad:
        raise BenchError(f"/ping did not answer 200: {bad}")

    def limited(response: httpx.Response) -> bool:
        return any(h.lower().startswith("ratelimit") for h in response.headers)

    for name, answer in answers.items():
        has_stack = "x-request-id" in answer.headers
        if has_stack != (name != "bare"):
            raise BenchError(f"{name}: X-Request-ID {'set' if has_stack else 'missing'}")
        if limited(answer) != name.startswith("full"):
            raise BenchError(f"{name}: RateLimit headers {'set' if limited(answer) else 'missing'}")


def build_servers(args: argparse.Namespace, work: Path, redis_url: str) -> list[Server]:
    """bare, middleware and full, plus (with --breakdown) full without the access log."""
    variants = [(name, factory, env) for name, (factory, env) in STACKS.items()]
    if args.breakdown:
        variants.append(
            ("full-nolog", "app.main:create_served_app", {**FULL_ENV, "LOG_LEVEL": "WARNING"})
        )
    return [
        Server(factory, args.workers, base_env(work, name, REDIS_URL=redis_url, **env), work, name)
        for name, factory, env in variants
    ]


def measure(
    servers: list[Server],
    args: argparse.Namespace,
    work: Path,
    *,
    phase: str,
    connections: int,
    threads: int,
    delay_ms: int = 0,
) -> dict[str, Series]:
    """Interleaved rounds of one phase; `delay_ms` > 0 makes each connection wait between
    requests (wrk's `delay` hook) for a random 0 to 2 x `delay_ms`: the offered load is paced,
    and the connections, which all start at once, drift apart instead of arriving in bursts."""
    script = f"delay = function() return math.random(0, {2 * delay_ms}) end\n" if delay_ms else ""
    series = {server.name: Series(server.name) for server in servers}
    for rnd in range(args.rounds):
        # Alternate the order (ABBA...): no variant always runs first in a round.
        order = servers if rnd % 2 == 0 else servers[::-1]
        for server in order:
            result = run_wrk(
                server.url + "/ping",
                duration_s=args.duration,
                connections=connections,
                threads=threads,
                script=script,
                scratch=work,
            )
            series[server.name].runs.append(result)
            print(
                f"  {phase} round {rnd + 1} {server.name:11s} {result.rps:9.0f} req/s  "
                f"p50 {result.p50_ms:6.2f} ms  p99 {result.p99_ms:6.2f} ms  "
                f"errors {result.error_count}",
                flush=True,
            )
    return series


def main(argv: list[str] | None = None) -> int:
    """Run both phases and print the table and the verdict lines."""
    args = parse_args(argv)
    ensure_wrk()
    with workdir() as work:
        redis = RedisProcess(work) if args.redis else None
        servers = build_servers(args, work, redis.url if redis is not None else "")
        with running(*([redis] if redis is not None else []), *servers):
            check_stacks({server.name: server for server in servers})
            print(
                f"Middleware overhead: GET /ping, {args.workers} uvicorn worker(s) per server, "
                f"wrk {args.threads} threads / {args.connections} connections, "
                f"{args.rounds} x {args.duration:g} s rounds interleaved per phase; "
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
            saturated = measure(
                servers,
                args,
                work,
                phase="throughput",
                connections=args.connections,
                threads=args.threads,
            )
            paced_rps = saturated["bare"].median("rps") * args.paced_fraction
            # Each connection: wait delay_ms on average, send, get the answer (far shorter).
            conns = args.paced_connections
            delay_ms = max(1, round(conns * 1000 / max(paced_rps, 1.0)))
            print(
                f"latency phase: {conns} connections, 1 wrk thread, each waiting 0-{2 * delay_ms} "
                f"ms between requests (about {conns * 1000 / delay_ms:.0f} req/s offered)",
                flush=True,
            )
            paced = measure(
                servers,
                args,
                work,
                phase="latency",
                connections=conns,
                threads=1,
                delay_ms=delay_ms,
            )
    return report(saturated, paced, args, delay_ms)


def paired_ratios(saturated: dict[str, Series], name: str, *, base: str = "bare") -> list[float]:
    """Round by round, the variant's throughput over the base's in the same round.

    The machine's speed drifts between rounds (bare alone: +-12 % on this 2-CPU VM), but within
    one round the variants run back to back, so a ratio taken inside a round cancels most of it."""
    bare = saturated[base].runs
    return [run.rps / base.rps for run, base in zip(saturated[name].runs, bare, strict=True)]


def verdict(
    name: str, saturated: dict[str, Series], paced: dict[str, Series]
) -> tuple[float, float, bool]:
    """Throughput ratio to bare (median of the paired rounds), p99 added at the paced load, and
    whether both targets hold."""
    ratio = statistics.median(paired_ratios(saturated, name))
    added = paced[name].median("p99_ms") - paced["bare"].median("p99_ms")
    return ratio, added, ratio >= TARGET_RATIO and added < TARGET_ADDED_P99_MS


def report(
    saturated: dict[str, Series],
    paced: dict[str, Series],
    args: argparse.Namespace,
    delay_ms: int,
) -> int:
    """Print the summary table and the verdict lines; write JSON when asked."""
    rows = [
        [
            name,
            f"{s.median('rps'):.0f}",
            f"{statistics.median(paired_ratios(saturated, name)):.3f}",
            f"{s.median('p99_ms'):.2f}",
            f"{paced[name].median('rps'):.0f}",
            f"{paced[name].median('p50_ms'):.2f}",
            f"{paced[name].median('p99_ms'):.2f}",
            str(s.errors + paced[name].errors),
        ]
        for name, s in saturated.items()
    ]
    header = [
        "variant",
        "req/s (flat out)",
        "vs bare",
        "p99 ms (flat out)",
        "req/s (paced)",
        "p50 ms (paced)",
        "p99 ms (paced)",
        "errors",
    ]
    print()
    print(format_table(rows, header))
    print()
    results = {}
    for name, label in (
        ("middleware", "issue 2's middleware"),
        ("full", "with issue 5's rate limiter too"),
    ):
        ratio, added, met = verdict(name, saturated, paced)
        rounds = paired_ratios(saturated, name)
        results[name] = {
            "ratio": ratio,
            "ratio_rounds": rounds,
            "added_p99_ms": added,
            "met": met,
        }
        print(
            f"{label}: throughput {ratio:.3f} of bare (median of {len(rounds)} paired rounds, "
            f"{min(rounds):.3f}-{max(rounds):.3f}; target >= {TARGET_RATIO}); "
            f"p99 added at the paced load: {added:+.2f} ms (target < {TARGET_ADDED_P99_MS:g} ms) "
            f"-> {'PASS' if met else 'MISS'}"
        )
    if args.json:
        args.json.write_text(
            json.dumps(
                {
                    "bench": "middleware_overhead",
                    "args": {k: str(v) for k, v in vars(args).items()},
                    "paced_delay_ms": delay_ms,
                    "verdicts": results,
                    "variants": {
                        name: {
                            "rps": s.median("rps"),
                            "p50_ms": s.median("p50_ms"),
                            "p99_ms": s.median("p99_ms"),
                            "paced_rps": paced[name].median("rps"),
                            "paced_p50_ms": paced[name].median("p50_ms"),
                            "paced_p99_ms": paced[name].median("p99_ms"),
                            "requests": s.requests + paced[name].requests,
                            "errors": s.errors + paced[name].errors,
                        }
                        for name, s in saturated.items()
                    },
                },
                indent=2,
            )
        )
    errors = sum(s.errors for s in saturated.values()) + sum(s.errors for s in paced.values())
    return 0 if errors == 0 else 1


if __name__ == "__main__":
    try:
        sys.exit(main())
    except BenchError as exc:
        print(f"bench failed: {exc}", file=sys.stderr)
        sys.exit(2)
