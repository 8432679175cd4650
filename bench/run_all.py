"""`make bench`: run every benchmark in turn with its default settings, one after another (never
two at once: they would measure each other). Results and how to read them: docs/benchmarks.md.

    uv run python -m bench.run_all [--only NAME ...]
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]

# (module, arguments). Listed explicitly so the order and settings are the documented ones;
# a module that is not in this checkout (an area not built yet) is reported and skipped.
BENCHES: list[tuple[str, list[str]]] = [
    ("bench.middleware_overhead", ["--workers", "2", "--duration", "10", "--connections", "64"]),
    ("bench.response_headers", ["--workers", "2", "--duration", "5", "--rounds", "5"]),
    ("bench.middleware_instructions", ["--requests", "3000"]),
    ("bench.request_opcodes", ["--requests", "200"]),
    ("bench.ratelimit_vs_slowapi", []),
    ("bench.flash_sale", ["--workers", "2", "--connections", "64"]),
    # Single Redis against a Redis Cluster: 1,000-connection sale, then 1,000 req/s for 60 s each.
    (
        "bench.scale",
        ["--workers", "2", "--connections", "1000", "--rate", "1000", "--duration", "60"],
    ),
    ("bench.auth_resolve", []),
    ("bench.regulatory_engine", []),
    ("bench.batch_jobs", []),
]


def main(argv: list[str] | None = None) -> int:
    """Run the benches; exit non-zero when any of them failed."""
    parser = argparse.ArgumentParser(prog="python -m bench.run_all")
    parser.add_argument("--only", nargs="*", help="short names to run, e.g. flash_sale")
    args = parser.parse_args(argv)
    failed: list[str] = []
    for module, bench_args in BENCHES:
        short = module.rsplit(".", 1)[1]
        if args.only and short not in args.only:
            continue
        if not (ROOT / "bench" / f"{short}.py").exists():
            print(f"== {module}: not in this checkout, skipped", flush=True)
            continue
        print(f"\n== {module} {' '.join(bench_args)}", flush=True)
        started = time.monotonic()
        code = subprocess.call([sys.executable, "-m", module, *bench_args], cwd=ROOT)
        print(f"== {module}: exit {code} after {time.monotonic() - started:.0f} s", flush=True)
        if code != 0:
            failed.append(module)
    if failed:
        print(f"\nfailed: {', '.join(failed)}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
