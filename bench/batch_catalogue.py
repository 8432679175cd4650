"""A catalogue-sized batch job on the embedded default: upload a 100,000-row CSV, run it, download
its results, and see what it costs the API beside it.

    uv run python -m bench.batch_catalogue --rows 100000
    uv run python -m bench.batch_catalogue --rows 100000 --database postgres

One uvicorn process (SQLite, rules engine, AI cache on as by default — a catalogue repeats
device types, so 20 distinct concepts stand in for it), BATCH_WORKERS=1. Reported:
- the upload: seconds until the job is stored (rows/s);
- the job: items/s from the upload's answer until the SSE stream says `done`;
- `/ping` p50 / p99 at a paced load (wrk) with the server idle and while the job runs;
- the server's RSS before the upload, at its peak while the job runs (sampled each second),
  and after;
- the CSV download: seconds and rows.
With `--database postgres` the server runs on a fresh, migrated PostgreSQL database (dropped
afterwards) instead of its SQLite file.
"""

from __future__ import annotations

import argparse
import csv
import json
import sys
import threading
import time
from pathlib import Path
from typing import Any

import httpx

from bench.batch_jobs import login
from bench.flash_sale import DEFAULT_POSTGRES_URL, Databases
from bench.harness import (
    BenchError,
    Server,
    WrkResult,
    base_env,
    ensure_wrk,
    format_table,
    machine_note,
    migrate_database,
    run_wrk,
    running,
    workdir,
)

CONCEPTS = [
    f"{kind} {use}"
    for kind in (
        "AI software that",
        "Mobile app that",
        "Wearable sensor that",
        "Cloud service that",
    )
    for use in (
        "flags lung nodules on chest CT",
        "counts daily steps for fitness",
        "measures blood pressure at home",
        "reads ECG traces to detect arrhythmia",
        "tracks sleep for wellness",
    )
]


def rss_mb(pid: int) -> float:
    """Resident set size of a process, in MB (Linux)."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    raise BenchError("no VmRSS")


def write_catalogue(path: Path, rows: int) -> None:
    """A CSV of `rows` products: ref, concept."""
    with path.open("w", encoding="utf-8", newline="") as out:
        writer = csv.writer(out)
        writer.writerow(["ref", "concept"])
        for n in range(rows):
            writer.writerow([f"SKU-{n:06d}", CONCEPTS[n % len(CONCEPTS)]])


def upload_catalogue(
    client: httpx.Client, catalogue: Path, *, name: str, headers: dict[str, str]
) -> str:
    """Upload a catalogue CSV as a classify job; its id (BenchError unless 202)."""
    with catalogue.open("rb") as upload:
        r = client.post(
            "/api/batch/jobs/upload",
            data={"kind": "classify", "name": name},
            files={"file": ("catalogue.csv", upload, "text/csv")},
            headers=headers,
        )
    if r.status_code != 202:
        raise BenchError(f"upload answered {r.status_code}: {r.text[:300]}")
    job_id: str = r.json()["job_id"]
    return job_id


def main(argv: list[str] | None = None) -> int:
    """Run the flow and print the table."""
    parser = argparse.ArgumentParser(prog="python -m bench.batch_catalogue")
    parser.add_argument("--rows", type=int, default=100_000)
    parser.add_argument("--latency-duration", type=float, default=10.0)
    parser.add_argument("--latency-rate", type=int, default=200, help="offered /ping req/s")
    parser.add_argument("--chunk-size", type=int, default=None, help="BATCH_CHUNK_SIZE")
    parser.add_argument("--database", default="sqlite", choices=["sqlite", "postgres"])
    parser.add_argument("--postgres-url", default=DEFAULT_POSTGRES_URL)
    args = parser.parse_args(argv)
    ensure_wrk()
    with workdir() as work, Databases(args.database, work, args.postgres_url) as dbs:
        return _run(args, work, dbs)


def _run(args: argparse.Namespace, work: Path, dbs: Databases) -> int:
    """The flow on one server, on the database `dbs` names."""
    extra = {} if args.chunk_size is None else {"BATCH_CHUNK_SIZE": str(args.chunk_size)}
    if args.database == "postgres":
        extra["DATABASE_URL"] = dbs.create("catalogue")
        migrate_database(extra["DATABASE_URL"])
    env = base_env(work, "catalogue", RATE_LIMIT_ENABLED="false", LOG_LEVEL="WARNING", **extra)
    server = Server("app.main:create_served_app", 1, env, work, "catalogue")
    catalogue = work / "catalogue.csv"
    write_catalogue(catalogue, args.rows)
    delay_ms = max(1, round(4 * 1000 / args.latency_rate))
    script = f"delay = function() return math.random(0, {2 * delay_ms}) end\n"
    with running(server), httpx.Client(base_url=server.url, timeout=3600) as client:
        assert server.process is not None
        pid = server.process.pid
        headers = login(client)
        print(
            f"Catalogue job: {args.rows} rows, 1 uvicorn process, "
            f"{'PostgreSQL' if args.database == 'postgres' else 'SQLite'}, "
            f"BATCH_CHUNK_SIZE={args.chunk_size or 'default'}; {machine_note()}"
        )

        def ping_latency() -> WrkResult:
            """`/ping` at the paced rate for `--latency-duration` seconds (wrk)."""
            return run_wrk(
                server.url + "/ping",
                duration_s=args.latency_duration,
                connections=4,
                threads=1,
                script=script,
                scratch=work,
            )

        idle = ping_latency()
        rss_before = rss_mb(pid)
        started = time.perf_counter()
        job_id = upload_catalogue(client, catalogue, name="bench", headers=headers)
        stored_s = time.perf_counter() - started
        run_started = time.perf_counter()

        peak = [rss_before]
        stop = threading.Event()

        def sample() -> None:
            while not stop.wait(1.0):
                peak[0] = max(peak[0], rss_mb(pid))

        sampler = threading.Thread(target=sample, daemon=True)
        sampler.start()
        busy = ping_latency()
        during = client.get(f"/api/batch/jobs/{job_id}", headers=headers).json()
        done: dict[str, Any] = {}
        with client.stream("GET", f"/api/batch/jobs/{job_id}/events", headers=headers) as stream:
            for line in stream.iter_lines():
                if line.startswith("data: {"):
                    event = json.loads(line.removeprefix("data: "))
                    if event["type"] == "done":
                        done = event["job"]
                        break
        run_s = time.perf_counter() - run_started
        stop.set()
        sampler.join()
        rss_after = rss_mb(pid)
        if done.get("status") != "completed" or done["processed_items"] != args.rows:
            raise BenchError(f"the job ended as {done}")

        started = time.perf_counter()
        lines = 0
        with client.stream(
            "GET", f"/api/batch/jobs/{job_id}/results?format=csv", headers=headers
        ) as download:
            for _ in download.iter_lines():
                lines += 1
        download_s = time.perf_counter() - started

    rows = [
        ["upload stored", f"{stored_s:.1f} s", f"{args.rows / stored_s:.0f} rows/s"],
        ["job run (upload answer → done)", f"{run_s:.1f} s", f"{args.rows / run_s:.0f} items/s"],
        ["CSV download", f"{download_s:.1f} s", f"{lines - 1} rows"],
        ["/ping idle", f"p50 {idle.p50_ms:.2f} ms", f"p99 {idle.p99_ms:.2f} ms"],
        [
            f"/ping during the job (at {during['progress_percent']}%)",
            f"p50 {busy.p50_ms:.2f} ms",
            f"p99 {busy.p99_ms:.2f} ms",
        ],
        ["RSS before / peak / after", f"{rss_before:.0f} / {peak[0]:.0f}", f"{rss_after:.0f} MB"],
    ]
    print()
    print(format_table(rows, ["what", "time", "rate"]))
    return 0 if idle.error_count == 0 and busy.error_count == 0 else 1


if __name__ == "__main__":
    try:
        sys.exit(main())
    except BenchError as exc:
        print(f"bench failed: {exc}", file=sys.stderr)
        sys.exit(2)
