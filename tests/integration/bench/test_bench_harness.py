"""The benchmark harness runs end to end: two real uvicorn servers, wrk, parsed results.
Not a performance assertion — only that `make bench` would produce its numbers."""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path

import pytest

pytestmark = [pytest.mark.integration, pytest.mark.slow]

ROOT = Path(__file__).resolve().parents[3]
# The smallest load that still runs every step: one worker, one short round, no warm-up.
TINY_WRK = ["--workers", "1", "--duration", "1", "--rounds", "1", "--warmup", "0"]
TINY_WRK += ["--connections", "4", "--threads", "1"]


def run_bench(module: str, *args: str, timeout: float) -> subprocess.CompletedProcess[str]:
    """`python -m bench.<module> args` from the repository root; fails the test on a non-zero exit."""
    proc = subprocess.run(
        [sys.executable, "-m", f"bench.{module}", *args],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )
    assert proc.returncode == 0, proc.stderr[-3000:] + proc.stdout[-3000:]
    return proc


def test_middleware_overhead_bench_prints_a_ratio_line(tmp_path: Path) -> None:
    out_json = tmp_path / "result.json"
    proc = run_bench("middleware_overhead", *TINY_WRK, "--json", str(out_json), timeout=240)
    for label in ("issue 2's middleware", "with issue 5's rate limiter too"):
        match = re.search(
            re.escape(label) + r": throughput (\d+\.\d+) of bare .*p99 added at the paced load: "
            r"([+-]\d+\.\d+) ms .*-> (PASS|MISS)",
            proc.stdout,
        )
        assert match is not None, proc.stdout
        assert float(match.group(1)) > 0
    assert "latency phase:" in proc.stdout
    for variant in ("bare", "middleware", "full"):
        assert re.search(rf"\|\s+{variant} \|\s+\d+ \|", proc.stdout), proc.stdout
    result = json.loads(out_json.read_text())
    assert set(result["verdicts"]) == {"middleware", "full"}
    assert result["paced_delay_ms"] >= 1


def test_response_headers_bench_prints_the_cost_of_each_header_set() -> None:
    proc = run_bench("response_headers", *TINY_WRK, timeout=120)
    for variant, extra in (("none", 0), ("issue-2", 5), ("issues-2\\+5", 10)):
        row = rf"\|\s+{variant} \|\s+{extra} \|\s+\d+ \|\s+\d\.\d{{3}} \|\s+[+-]\d+\.\d \|"
        assert re.search(row, proc.stdout), proc.stdout


def test_instruction_count_bench_counts_each_variants_requests() -> None:
    proc = run_bench("middleware_instructions", "--requests", "20", "--warmup", "5", timeout=600)
    counts = {
        name: int(count)
        for name, count in re.findall(r"^\|\s+(\w+) \|\s+(\d+) \|", proc.stdout, re.MULTILINE)
    }
    assert set(counts) == {"bare", "middleware", "full"}, proc.stdout
    # Each variant runs more code than the one before it (the stack, then the limiter too).
    assert counts["bare"] < counts["middleware"] < counts["full"], counts


def test_batch_jobs_bench_compares_a_job_with_sequential_requests() -> None:
    proc = run_bench(
        "batch_jobs",
        *("--items", "30", "--rounds", "1", "--latency-duration", "1", "--load-items", "4000"),
        timeout=240,
    )
    match = re.search(
        r"batch vs sequential: (\d+\.\d+)x items/s; /ping p99 while a job runs: ([+-]\d+\.\d+) ms",
        proc.stdout,
    )
    assert match is not None, proc.stdout
    assert float(match.group(1)) > 0
    assert re.search(r"\|\s+one batch job \|\s+\d+ \|", proc.stdout), proc.stdout
