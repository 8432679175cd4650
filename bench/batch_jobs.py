"""What a batch job buys, and what it costs the API beside it, on one served process.

    uv run python -m bench.batch_jobs --items 1000 --rounds 3

One uvicorn worker (SQLite, rules engine, AI cache off so every item is computed) serves:
- `sequential`: the baseline — the same concepts as one `POST /api/classify` each, from one
  keep-alive client, one after another (a script working through a catalogue itself);
- `batch`: the concepts as one job (`POST /api/batch/jobs`), timed from the POST until the
  job's SSE stream says `done`.
Reported: items per second of each and their ratio, in interleaved rounds (medians).

Then the API's latency while a job runs: `GET /ping` at a paced load (wrk, few connections)
with the server idle, and again while a large job is being worked on in the same process —
the runner yields the event loop after every item, so the p99 should move by about one item.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import time
from typing import Any

import httpx

from bench.harness import (
    BenchError,
    Server,
    base_env,
    ensure_wrk,
    format_table,
    machine_note,
    run_wrk,
    running,
    workdir,
)

PASSWORD = "correct horse battery staple"  # noqa: S105 - a throwaway bench account
WORDS = ("lung", "nodule", "retina", "ecg", "glucose", "fracture", "sleep", "insulin", "stent")


def concepts(n: int, tag: str) -> list[str]:
    """`n` distinct device concepts: the AI cache (off anyway) could not answer repeats."""
    return [
        f"AI software that analyses {WORDS[i % len(WORDS)]} images to help diagnosis, {tag}-{i}"
        for i in range(n)
    ]


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    """Command-line options."""
    parser = argparse.ArgumentParser(prog="python -m bench.batch_jobs")
    parser.add_argument("--items", type=int, default=1000, help="items per job / requests")
    parser.add_argument("--rounds", type=int, default=3, help="interleaved rounds")
    parser.add_argument("--latency-duration", type=float, default=5.0, help="seconds per wrk run")
    parser.add_argument("--latency-rate", type=int, default=200, help="offered /ping req/s")
    parser.add_argument(
        "--load-items",
        type=int,
        default=10_000,
        help="items of the job that runs during the second latency run (it must outlast wrk)",
    )
    return parser.parse_args(argv)


def login(client: httpx.Client) -> dict[str, str]:
    """A bench user's Authorization header."""
    r = client.post("/api/auth/register", json={"username": "bench", "password": PASSWORD})
    if r.status_code not in (201, 409):
        raise BenchError(f"register answered {r.status_code}: {r.text[:200]}")
    r = client.post("/api/auth/login", json={"username": "bench", "password": PASSWORD})
    if r.status_code != 200:
        raise BenchError(f"login answered {r.status_code}: {r.text[:200]}")
    return {"Authorization": f"Bearer {r.json()['access_token']}"}


def sequential(client: httpx.Client, items: list[str]) -> float:
    """Seconds to classify every concept with one request each, one after another."""
    started = time.perf_counter()
    for concept in items:
        r = client.post("/api/classify", json={"concept": concept})
        if r.status_code != 200:
            raise BenchError(f"classify answered {r.status_code}: {r.text[:200]}")
    return time.perf_counter() - started


def start_job(client: httpx.Client, headers: dict[str, str], items: list[str]) -> str:
    """Queue one classify job; its id."""
    body = {"kind": "classify", "items": [{"concept": c} for c in items]}
    r = client.post("/api/batch/jobs", json=body, headers=headers)
    if r.status_code != 202:
        raise BenchError(f"creating the job answered {r.status_code}: {r.text[:300]}")
    job_id: str = r.json()["id"]
    return job_id


def wait_done(client: httpx.Client, headers: dict[str, str], job_id: str) -> dict[str, Any]:
    """Follow the job's SSE stream to its `done` event."""
    with client.stream("GET", f"/api/batch/jobs/{job_id}/events", headers=headers) as stream:
        for line in stream.iter_lines():
            if line.startswith("data: {"):
                event = json.loads(line.removeprefix("data: "))
                if event["type"] == "done":
                    job: dict[str, Any] = event["job"]
                    return job
    raise BenchError("the progress stream ended without a done event")


def batch(client: httpx.Client, headers: dict[str, str], items: list[str]) -> float:
    """Seconds from queueing the concepts as one job until it is done."""
    started = time.perf_counter()
    job = wait_done(client, headers, start_job(client, headers, items))
    elapsed = time.perf_counter() - started
    if job["status"] != "completed" or job["succeeded"] != len(items):
        raise BenchError(f"the job ended {job['status']} with {job['succeeded']} succeeded")
    return elapsed


def main(argv: list[str] | None = None) -> int:
    """Run both measurements and print the tables."""
    args = parse_args(argv)
    ensure_wrk()
    with workdir() as work:
        env = base_env(
            work,
            "batch",
            RATE_LIMIT_ENABLED="false",
            CACHE_TTL_S="0",
            LOG_LEVEL="WARNING",
            BATCH_MAX_ITEMS="10000",
            BATCH_MAX_ACTIVE_JOBS="1000",
            MAX_BODY_BYTES=str(64 * 1024 * 1024),  # the latency phase queues one large job
        )
        server = Server("app.main:create_served_app", 1, env, work, "batch")
        with running(server), httpx.Client(base_url=server.url, timeout=600) as client:
            headers = login(client)
            print(
                f"Batch jobs: {args.items} classify items, 1 uvicorn worker, SQLite, rules "
                f"engine, AI cache off, {args.rounds} interleaved rounds; {machine_note()}",
                flush=True,
            )
            batch(client, headers, concepts(50, "warm"))
            sequential(client, concepts(50, "warm-s"))
            rates: dict[str, list[float]] = {"sequential": [], "batch": []}
            for rnd in range(args.rounds):
                order = ("sequential", "batch") if rnd % 2 == 0 else ("batch", "sequential")
                for name in order:
                    items = concepts(args.items, f"{name}-{rnd}")
                    if name == "sequential":
                        seconds = sequential(client, items)
                    else:
                        seconds = batch(client, headers, items)
                    rates[name].append(args.items / seconds)
                    print(
                        f"  round {rnd + 1} {name:10s} {args.items / seconds:8.0f} items/s",
                        flush=True,
                    )

            latency = {}
            delay_ms = max(1, round(4 * 1000 / args.latency_rate))
            script = f"delay = function() return math.random(0, {2 * delay_ms}) end\n"
            for name in ("idle", "during a job"):
                job_id = None
                if name == "during a job":
                    job_id = start_job(client, headers, concepts(args.load_items, "load"))
                result = run_wrk(
                    server.url + "/ping",
                    duration_s=args.latency_duration,
                    connections=4,
                    threads=1,
                    script=script,
                    scratch=work,
                )
                progress = None
                if job_id is not None:
                    job = client.get(f"/api/batch/jobs/{job_id}", headers=headers).json()
                    progress = job["processed"]
                    if job["status"] != "running":
                        raise BenchError(f"the load job was {job['status']} before wrk finished")
                    client.post(f"/api/batch/jobs/{job_id}/cancel", headers=headers)
                latency[name] = (result, progress)
                print(
                    f"  /ping {name}: {result.rps:.0f} req/s, p50 {result.p50_ms:.2f} ms, "
                    f"p99 {result.p99_ms:.2f} ms"
                    + (f", job at {progress} items" if progress else ""),
                    flush=True,
                )
    return report(rates, latency, args)


def report(rates: dict[str, list[float]], latency: dict[str, Any], args: argparse.Namespace) -> int:
    """Print the two tables."""
    seq, job = statistics.median(rates["sequential"]), statistics.median(rates["batch"])
    print()
    print(
        format_table(
            [
                ["sequential POST /api/classify", f"{seq:.0f}", "1.00"],
                ["one batch job", f"{job:.0f}", f"{job / seq:.2f}"],
            ],
            ["way", "items/s (median)", "vs sequential"],
        )
    )
    print()
    rows = [
        [name, f"{r.rps:.0f}", f"{r.p50_ms:.2f}", f"{r.p99_ms:.2f}"]
        for name, (r, _progress) in latency.items()
    ]
    print(format_table(rows, ["/ping at a paced load", "req/s", "p50 ms", "p99 ms"]))
    idle, busy = latency["idle"][0], latency["during a job"][0]
    print()
    print(
        f"batch vs sequential: {job / seq:.2f}x items/s; /ping p99 while a job runs: "
        f"{busy.p99_ms - idle.p99_ms:+.2f} ms"
    )
    return 0 if idle.error_count == 0 and busy.error_count == 0 else 1


if __name__ == "__main__":
    try:
        sys.exit(main())
    except BenchError as exc:
        print(f"bench failed: {exc}", file=sys.stderr)
        sys.exit(2)
