"""The middleware's cost in CPU instructions: each variant of `bench.middleware_overhead` runs in
one uvicorn worker under valgrind's callgrind, which counts the instructions the server process
executes (its Python, uvicorn, httptools, uvloop and libc; not the kernel's) while one keep-alive
connection sends `GET /ping` a fixed number of times.

    uv run python -m bench.middleware_instructions --requests 3000

Unlike throughput on a shared 2-CPU machine, where the same code measured 0.79 and 0.94 of bare
on one day, the count barely moves between runs: it tells whether a change made the request path
cheaper without waiting for a quiet machine. It leaves out the kernel, wrk and cache misses, so
it is a guide for the throughput bench, not a replacement: the target stays a throughput one.
Counting runs the server ~50x slower, so startup takes a while; only the `--requests` after a
warm-up are counted. The same slowdown makes the timed writes of access lines (every 100 ms) and
metrics (every second) serve ~50x fewer requests each than natively: the counts overstate them.
"""

from __future__ import annotations

import argparse
import re
import socket
import subprocess
import sys

from bench.harness import BenchError, Server, base_env, ensure_tool, format_table, workdir
from bench.middleware_overhead import MIDDLEWARE_ENV, STACKS

VARIANTS = STACKS
# --breakdown: the middleware without its access line, then without its metrics too.
BREAKDOWN = {
    "middleware-nolog": ("app.main:create_served_app", {**MIDDLEWARE_ENV, "LOG_LEVEL": "WARNING"}),
    "middleware-nolog-nometrics": (
        "app.main:create_served_app",
        {**MIDDLEWARE_ENV, "LOG_LEVEL": "WARNING", "METRICS_ENABLED": "false"},
    ),
}
# --aliases: the middleware stack with the seeds' alias router switched off (docs/configuration.md).
ALIASES = {
    "middleware-noaliases": (
        "app.main:create_served_app",
        {**MIDDLEWARE_ENV, "SEED_ALIASES": "false"},
    ),
}
_REQUEST = b"GET /ping HTTP/1.1\r\nHost: 127.0.0.1\r\nUser-Agent: bench\r\nAccept: */*\r\n\r\n"
_LENGTH = re.compile(rb"\r\ncontent-length: *(\d+)", re.IGNORECASE)


def send_pings(port: int, count: int) -> None:
    """`count` requests on one keep-alive connection, each answered before the next is sent."""
    with socket.create_connection(("127.0.0.1", port), timeout=120) as sock:
        pending = b""
        for _ in range(count):
            sock.sendall(_REQUEST)
            while True:
                end = pending.find(b"\r\n\r\n")
                if end >= 0:
                    length = _LENGTH.search(pending[: end + 2])
                    if length is None:
                        raise BenchError(f"answer without Content-Length: {pending[:200]!r}")
                    if not pending.startswith(b"HTTP/1.1 200 "):
                        raise BenchError(f"/ping answered {pending[:200]!r}")
                    size = end + 4 + int(length.group(1))
                    if len(pending) >= size:
                        pending = pending[size:]
                        break
                chunk = sock.recv(65536)
                if not chunk:
                    raise BenchError("the server closed the connection")
                pending += chunk


def count_instructions(server: Server, control: str, *, warmup: int, requests: int) -> int:
    """Instructions the server executed for `requests` pings, after `warmup` uncounted ones."""
    assert server.process is not None
    pid = str(server.process.pid)  # valgrind runs python in its own process: same pid
    port = int(server.url.rsplit(":", 1)[1])
    send_pings(port, warmup)
    subprocess.run([control, "--instr=on", pid], check=True, capture_output=True)
    send_pings(port, requests)
    subprocess.run([control, "--instr=off", pid], check=True, capture_output=True)
    subprocess.run([control, "--dump", pid], check=True, capture_output=True)
    dumps = sorted(server.workdir.glob(f"callgrind.{server.name}.out.*"))
    if not dumps:
        raise BenchError(f"callgrind wrote no dump for {server.name}")
    totals = re.search(r"^totals: (\d+)", dumps[-1].read_text(errors="replace"), re.MULTILINE)
    if totals is None:
        raise BenchError(f"no totals line in {dumps[-1]}")
    return int(totals.group(1))


def main(argv: list[str] | None = None) -> int:
    """Count each variant's instructions per request and print them against bare's."""
    parser = argparse.ArgumentParser(prog="python -m bench.middleware_instructions")
    parser.add_argument("--requests", type=int, default=3000, help="counted requests per variant")
    parser.add_argument("--warmup", type=int, default=500, help="uncounted requests first")
    parser.add_argument(
        "--breakdown", action="store_true", help="also the middleware without log / metrics"
    )
    parser.add_argument(
        "--aliases", action="store_true", help="also the middleware without the seeds' aliases"
    )
    parser.add_argument(
        "--start-timeout", type=float, default=300, help="seconds a server may take to start"
    )
    args = parser.parse_args(argv)
    variants = {
        **VARIANTS,
        **(BREAKDOWN if args.breakdown else {}),
        **(ALIASES if args.aliases else {}),
    }
    hint = "run `sudo apt-get install -y valgrind`"
    valgrind = ensure_tool("valgrind", hint=hint)
    control = ensure_tool("callgrind_control", package="valgrind", hint=hint)
    per_request: dict[str, float] = {}
    with workdir() as work:
        for name, (factory, env) in variants.items():
            wrapper = (
                valgrind,
                "--tool=callgrind",
                "--instr-atstart=no",
                f"--callgrind-out-file={work / f'callgrind.{name}.out'}",
            )
            # Fixed string hashing: dict layouts, and so the counts, repeat from run to run.
            server_env = base_env(work, name, PYTHONHASHSEED="0", **env)
            server = Server(factory, 1, server_env, work, name, wrapper=wrapper)
            server.start(timeout=args.start_timeout)
            try:
                total = count_instructions(
                    server, control, warmup=args.warmup, requests=args.requests
                )
            finally:
                server.stop()
            per_request[name] = total / args.requests
            print(f"  {name} {per_request[name]:.0f} instructions per request", flush=True)
    print()
    print(instruction_table(per_request))
    return 0


def instruction_table(per_request: dict[str, float]) -> str:
    """Each variant's instructions per request against bare's (bare must be among them)."""
    bare = per_request["bare"]
    rows = [
        [name, f"{count:.0f}", f"{count - bare:+.0f}", f"{bare / count:.3f}"]
        for name, count in per_request.items()
    ]
    return format_table(rows, ["variant", "instructions/request", "vs bare", "bare / variant"])


if __name__ == "__main__":
    sys.exit(main())
