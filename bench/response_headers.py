"""What the response headers themselves cost, apart from any Python that makes them: a plain ASGI
app (no FastAPI, no middleware) answering every request with the same 13-byte JSON body and
either no extra headers, issue 2's five (security headers and `X-Request-ID`), or those plus issue
5's five rate-limit headers — the exact names and the values' shape `/ping` answers with on the
default settings. uvicorn validates, lower-cases and joins every header in Python; wrk and the
kernel handle the longer response.

    uv run python -m bench.response_headers --workers 2 --duration 5 --rounds 5

Prints each variant's throughput and the machine time per request it adds over `none`
(CPUs / req/s): the part of `bench.middleware_overhead`'s gap that no middleware code can remove
while those headers are required.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys

from app.platform.middleware.types import ASGIApp, Receive, Scope, Send
from bench.harness import (
    Server,
    add_wrk_options,
    base_env,
    ensure_wrk,
    format_table,
    machine_note,
    running,
    workdir,
)
from bench.middleware_overhead import measure, paired_ratios

BODY = b'{"ping":true}'
_BASE = [(b"content-type", b"application/json"), (b"content-length", b"%d" % len(BODY))]
# As `/ping` sends them (docs/benchmarks.md, session 5): values of the same length and form.
ISSUE_2 = [
    (b"x-content-type-options", b"nosniff"),
    (b"x-frame-options", b"DENY"),
    (b"referrer-policy", b"strict-origin-when-cross-origin"),
    (b"content-security-policy", b"default-src 'none'; frame-ancestors 'none'; base-uri 'none'"),
    (b"x-request-id", b"08baeb9c6b772e80f16dccb83e24ad2c"),
]
ISSUE_5 = [
    (
        b"ratelimit-policy",
        b'"global-60s";q=60;w=60, "global-3600s";q=1000;w=3600, "global-86400s";q=10000;w=86400',
    ),
    (
        b"ratelimit",
        b'"global-60s";r=58;t=17, "global-3600s";r=998;t=2537, "global-86400s";r=9998;t=52937',
    ),
    (b"x-ratelimit-limit", b"60"),
    (b"x-ratelimit-remaining", b"58"),
    (b"x-ratelimit-reset", b"17"),
    # The seeds' per-window forms (docs/seed-compatibility.md), sent beside the ones above.
    (b"x-ratelimit-limit-minute", b"60"),
    (b"x-ratelimit-remaining-minute", b"58"),
    (b"x-ratelimit-limit-hour", b"1000"),
    (b"x-ratelimit-remaining-hour", b"998"),
    (b"x-ratelimit-limit-day", b"10000"),
    (b"x-ratelimit-remaining-day", b"9998"),
]
VARIANTS = {"none": [], "issue-2": ISSUE_2, "issues-2+5": [*ISSUE_2, *ISSUE_5]}
_ENV = "BENCH_RESPONSE_HEADERS"


def create_app() -> ASGIApp:
    """The ASGI app uvicorn serves (`--factory`); `BENCH_RESPONSE_HEADERS` picks the variant."""
    headers = [*_BASE, *VARIANTS[os.environ[_ENV]]]

    async def app(scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            return  # lifespan: nothing to start
        await send({"type": "http.response.start", "status": 200, "headers": headers})
        await send({"type": "http.response.body", "body": BODY})

    return app


def main(argv: list[str] | None = None) -> int:
    """Serve the three variants side by side and drive them in interleaved rounds."""
    parser = argparse.ArgumentParser(prog="python -m bench.response_headers")
    parser.add_argument("--workers", type=int, default=2, help="uvicorn workers per server")
    add_wrk_options(parser)
    args = parser.parse_args(argv)
    ensure_wrk()
    cpus = os.cpu_count() or 1
    with workdir() as work:
        servers = [
            Server(
                "bench.response_headers:create_app",
                args.workers,
                base_env(work, name, **{_ENV: name}),
                work,
                name,
            )
            for name in VARIANTS
        ]
        with running(*servers):
            print(
                f"Response headers: a plain ASGI app, {args.workers} uvicorn worker(s) per server, "
                f"wrk {args.threads} threads / {args.connections} connections, {args.rounds} x "
                f"{args.duration:g} s rounds interleaved; {machine_note()}",
                flush=True,
            )
            # The app answers every path alike; `measure` asks for /ping.
            series = measure(
                servers,
                args,
                work,
                phase="throughput",
                connections=args.connections,
                threads=args.threads,
            )
    base = series["none"]
    rows = []
    for name, s in series.items():
        ratios = paired_ratios(series, name, base="none")
        added = [cpus / r.rps - cpus / b.rps for r, b in zip(s.runs, base.runs, strict=True)]
        rows.append(
            [
                name,
                str(len(VARIANTS[name])),
                f"{s.median('rps'):.0f}",
                f"{statistics.median(ratios):.3f}",
                f"{statistics.median(added) * 1e6:+.1f}",
            ]
        )
    header = ["headers", "extra", "req/s", "vs none", "machine µs/request added"]
    print()
    print(format_table(rows, header))
    errors = sum(s.errors for s in series.values())
    return 0 if errors == 0 else 1


if __name__ == "__main__":
    sys.exit(main())
