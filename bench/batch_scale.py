"""Batch jobs on PostgreSQL: one app process against two sharing the database.

    uv run python -m bench.batch_scale [--rows 40000] [--jobs 4] [--rounds 1]

A job is held by one process at a time (its lease), so processes share the work of several
jobs, not of one: the bench uploads `--jobs` classify jobs of `rows / jobs` catalogue rows each
(as four departments might upload four catalogues) and times from the first upload's answer
until every job is `completed`. First one uvicorn process (`BATCH_WORKERS=1`), then two
separate processes on the same fresh PostgreSQL database; each variant gets its own database,
migrated first. Prints items/s of each and the ratio two/one (target ≥ 1.6; exit 3 below it).
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import httpx

from bench.batch_catalogue import upload_catalogue, write_catalogue
from bench.batch_jobs import login
from bench.flash_sale import DEFAULT_POSTGRES_URL, Databases
from bench.harness import (
    BenchError,
    Server,
    base_env,
    format_table,
    machine_note,
    migrate_database,
    running,
    workdir,
)


def run_variant(processes: int, database_url: str, work: Path, *, rows: int, jobs: int) -> float:
    """Seconds from the first upload's answer until every job completed."""
    migrate_database(database_url)
    per_job = rows // jobs
    catalogue = work / f"catalogue-{per_job}.csv"
    if not catalogue.exists():
        write_catalogue(catalogue, per_job)
    servers = [
        Server(
            "app.main:create_served_app",
            1,
            base_env(
                work,
                f"p{processes}-{n}",
                DATABASE_URL=database_url,
                RATE_LIMIT_ENABLED="false",
                LOG_LEVEL="WARNING",
                BATCH_WORKERS="1",
                BATCH_MAX_ACTIVE_JOBS=str(jobs),
            ),
            work,
            f"p{processes}-{n}",
        )
        for n in range(processes)
    ]
    with running(*servers), httpx.Client(base_url=servers[0].url, timeout=600) as client:
        headers = login(client)
        ids: list[str] = []
        started = 0.0
        for n in range(jobs):
            ids.append(upload_catalogue(client, catalogue, name=f"dept-{n}", headers=headers))
            if len(ids) == 1:
                started = time.perf_counter()
        pending = set(ids)
        while pending:
            for job_id in list(pending):
                job = client.get(f"/api/batch/jobs/{job_id}", headers=headers).json()
                if job["status"] == "completed":
                    if job["processed_items"] != per_job:
                        raise BenchError(f"job {job_id} ended with {job}")
                    pending.discard(job_id)
                elif job["status"] in ("failed", "cancelled"):
                    raise BenchError(f"job {job_id} ended as {job['status']}")
            time.sleep(0.1)
        return time.perf_counter() - started


def main(argv: list[str] | None = None) -> int:
    """Run both variants and print the table."""
    parser = argparse.ArgumentParser(prog="python -m bench.batch_scale")
    parser.add_argument("--rows", type=int, default=40_000, help="catalogue rows over all jobs")
    parser.add_argument("--jobs", type=int, default=4)
    parser.add_argument("--rounds", type=int, default=1, help="runs of each variant (best kept)")
    parser.add_argument("--postgres-url", default=DEFAULT_POSTGRES_URL)
    args = parser.parse_args(argv)
    rows = (args.rows // args.jobs) * args.jobs
    best: dict[int, float] = {}
    with (
        workdir("raidesk-batch-scale-") as work,
        Databases("postgres", work, args.postgres_url) as dbs,
    ):
        for round_no in range(args.rounds):
            for processes in (1, 2):
                name = f"r{round_no}p{processes}"
                seconds = run_variant(processes, dbs.create(name), work, rows=rows, jobs=args.jobs)
                print(f"{processes} process(es): {rows / seconds:,.0f} items/s", flush=True)
                best[processes] = min(best.get(processes, seconds), seconds)
    one, two = rows / best[1], rows / best[2]
    print()
    print(f"{args.jobs} classify jobs, {rows} items in all, PostgreSQL; {machine_note()}")
    print(
        format_table(
            [
                ["1 process", f"{best[1]:.1f} s", f"{one:,.0f}"],
                ["2 processes", f"{best[2]:.1f} s", f"{two:,.0f}"],
            ],
            ["variant", "all jobs done", "items/s"],
        )
    )
    ratio = two / one
    print(f"two processes / one: {ratio:.2f}x items/s (target >= 1.6)")
    return 0 if ratio >= 1.6 else 3


if __name__ == "__main__":
    try:
        sys.exit(main())
    except BenchError as exc:
        print(f"bench failed: {exc}", file=sys.stderr)
        sys.exit(2)
