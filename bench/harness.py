"""Benchmark plumbing: start uvicorn with N workers on a free port, drive it with wrk on
loopback, parse wrk's own percentiles, stop the server. Used by every `bench/` script.

wrk (C, epoll) is the load generator: on a 2-core machine a Python generator would be the
bottleneck, not the server. Results come from a Lua `done()` hook that prints one JSON line
(exact HdrHistogram percentiles in microseconds), so nothing depends on wrk's text layout.
"""

from __future__ import annotations

import argparse
import atexit
import contextlib
import json
import os
import secrets
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

import httpx

ROOT = Path(__file__).resolve().parents[1]
RESULT_MARK = "BENCH_RESULT "
# A script that ends early prints this once per wrk thread (then wrk is told to report).
THREAD_DONE_MARK = "WRK_THREAD_DONE"


class BenchError(RuntimeError):
    """A benchmark could not run (tool missing, server did not start, wrk failed)."""


# Set by the test suite (tests/support/servers.py): a directory shared by every process on the
# machine that starts servers for tests or benches, in which each claims a port by creating a
# file exclusively (holding its pid), so servers started by two test workers, by a bench a test
# runs, or by two suites running at once (CI beside a developer's run) never get the same port:
# the kernel may hand a just-freed port out again. A claim whose owner has died is taken over.
# Unset (a bench run by hand): the kernel's free port is enough.
PORT_CLAIMS_ENV = "RAIDESK_PORT_CLAIMS"
_claimed: list[Path] = []


def _owner_alive(claim: Path) -> bool:
    try:
        pid = int(claim.read_text() or "0")
    except (OSError, ValueError):
        return True  # being written right now, or unreadable: treat as held
    if pid <= 0:
        return True
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def claim_port(claim: Path) -> bool:
    """Claim the port named by `claim` (a file in the claims directory); False when held."""
    try:
        claim.parent.mkdir(exist_ok=True)
        with claim.open("x") as fh:
            fh.write(str(os.getpid()))
        return True
    except FileNotFoundError:  # the directory was removed between mkdir and open
        return False
    except FileExistsError:
        if _owner_alive(claim):
            return False
        # Stale: its owner died without releasing it. Whoever unlinks first retries the claim.
        try:
            claim.unlink()
        except FileNotFoundError:
            return False
        return claim_port(claim)


def free_port() -> int:
    """A TCP port nobody listens on right now (and, under the test suite, no one has claimed)."""
    claims = os.environ.get(PORT_CLAIMS_ENV)
    while True:
        with socket.socket() as sock:
            sock.bind(("127.0.0.1", 0))
            port = int(sock.getsockname()[1])
        if not claims:
            return port
        claim = Path(claims) / str(port)
        if claim_port(claim):
            _claimed.append(claim)
            return port


def release_port_claims() -> None:
    """Give back this process's claims (the shared directory itself stays)."""
    for claim in _claimed:
        claim.unlink(missing_ok=True)
    _claimed.clear()


atexit.register(release_port_claims)


def ensure_wrk() -> str:
    """The path of wrk, installing the Debian package when missing and allowed (root)."""
    return ensure_tool(
        "wrk",
        hint="run `sudo apt-get install -y wrk` (Debian/Ubuntu) or `brew install wrk` (macOS)",
    )


def ensure_tool(command: str, *, package: str | None = None, hint: str) -> str:
    """The path of `command`, installing its Debian package when missing and allowed (root)."""
    found = shutil.which(command)
    if found:
        return found
    package = package or command
    can_install = hasattr(os, "geteuid") and os.geteuid() == 0 and shutil.which("apt-get")
    if can_install:
        print(f"{command} not found: installing it with apt-get (package '{package}')", flush=True)
        env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
        # Another apt/dpkg run may hold the lock (a parallel install): wait for it, do not fail.
        apt = ["apt-get", "-o", "DPkg::Lock::Timeout=600"]
        install = [*apt, "install", "-y", "-qq", package]
        if subprocess.run(install, env=env, check=False, capture_output=True).returncode:
            # A fresh machine has no package lists yet.
            subprocess.run([*apt, "update", "-qq"], env=env, check=False, capture_output=True)
            subprocess.run(install, env=env, check=False, capture_output=True)
        found = shutil.which(command)
        if found:
            return found
    raise BenchError(f"{command} is not installed and could not be installed here: {hint}")


def ensure_redis_server() -> str:
    """The path of redis-server (the benches that need real Redis start a private one)."""
    found = shutil.which("redis-server")
    if found:
        return found
    raise BenchError("redis-server is not installed: run `make redis-server` or apt-get it")


# --- servers -------------------------------------------------------------------------
# One client for every readiness probe: `httpx.get` builds a new client, and with it a TLS
# context, on each call (~20 ms of CPU). Polled every few ms while a server starts, that took
# a core from the very server being waited for.
_PROBE = httpx.Client(timeout=1.0, headers={"Connection": "close"})


def http_status(url: str) -> int | None:
    """The status `GET url` answers on 127.0.0.1, or None while nothing answers (cheap to poll)."""
    port = httpx.URL(url).port
    if port is not None:
        # A refused connect costs microseconds; only a listening port gets an HTTP request.
        with socket.socket() as sock:
            sock.settimeout(0.5)
            if sock.connect_ex(("127.0.0.1", port)) != 0:
                return None
    try:
        return _PROBE.get(url).status_code
    except httpx.HTTPError:
        return None


def wait_until(predicate: Any, *, timeout: float, what: str) -> None:
    """Poll `predicate` every 50 ms until it holds; BenchError after `timeout` seconds."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return
        time.sleep(0.05)
    raise BenchError(f"timed out after {timeout:.0f} s waiting for {what}")


def ephemeral_redis_args(port: int, workdir: Path) -> list[str]:
    """redis-server options for a private server: loopback only, nothing kept on disk, quiet."""
    return [
        "--port",
        str(port),
        "--bind",
        "127.0.0.1",
        "--save",
        "",
        "--appendonly",
        "no",
        "--dir",
        str(workdir),
        "--daemonize",
        "no",
        "--loglevel",
        "warning",
    ]


@dataclass
class RedisProcess:
    """A private redis-server (no persistence) on a free port, for one bench or test run."""

    workdir: Path
    port: int = field(default_factory=free_port)
    process: subprocess.Popen[bytes] | None = None
    start_timeout_s: float = 15.0

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def start(self) -> None:
        binary = ensure_redis_server()
        self.process = subprocess.Popen(
            [binary, *ephemeral_redis_args(self.port, self.workdir)],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )

        def up() -> bool:
            with socket.socket() as sock:
                sock.settimeout(0.2)
                return sock.connect_ex(("127.0.0.1", self.port)) == 0

        wait_until(up, timeout=self.start_timeout_s, what=f"redis-server on port {self.port}")

    def stop(self) -> None:
        if self.process is not None:
            self.process.send_signal(signal.SIGCONT)  # a stopped (SIGSTOP) server must die too
            self.process.kill()
            self.process.wait(timeout=10)
            self.process = None


@dataclass
class Server:
    """uvicorn serving an app factory with N workers on a free loopback port."""

    factory: str
    workers: int
    env: dict[str, str]
    workdir: Path
    name: str = "server"
    # uvicorn's --loop: auto (uvloop when installed, as in production) or asyncio.
    loop: str = "auto"
    # A command the server runs under (e.g. valgrind): prepended to the uvicorn command line.
    wrapper: tuple[str, ...] = ()
    port: int = field(default_factory=free_port)
    process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def log_path(self) -> Path:
        return self.workdir / f"{self.name}.log"

    def start(self, *, timeout: float | None = None) -> None:
        # BENCH_START_TIMEOUT: seconds a server may take to start (a loaded machine needs more).
        if timeout is None:
            timeout = float(os.environ.get("BENCH_START_TIMEOUT", "60"))
        env = {**os.environ, **self.env}
        if self.workers > 1 and "PROMETHEUS_MULTIPROC_DIR" not in self.env:
            metrics_dir = self.workdir / f"{self.name}-prom"
            metrics_dir.mkdir(exist_ok=True)
            env["PROMETHEUS_MULTIPROC_DIR"] = str(metrics_dir)
        log = self.log_path.open("wb")
        self.process = subprocess.Popen(
            [
                *self.wrapper,
                sys.executable,
                "-m",
                "uvicorn",
                self.factory,
                "--factory",
                "--host",
                "127.0.0.1",
                "--port",
                str(self.port),
                "--workers",
                str(self.workers),
                "--no-access-log",
                "--loop",
                self.loop,
            ],
            cwd=ROOT,
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
        )
        log.close()

        def ready() -> bool:
            if self.process is not None and self.process.poll() is not None:
                tail = self.log_path.read_text(errors="replace")[-3000:]
                raise BenchError(f"{self.name} exited with {self.process.returncode}:\n{tail}")
            return http_status(self.url + "/health/live") == 200

        wait_until(ready, timeout=timeout, what=f"{self.name} on {self.url}")
        if self.workers > 1:
            self._wait_for_all_workers()

    def _wait_for_all_workers(self) -> None:
        # /health/live answering means one worker is up; the others may still be importing.
        def all_started() -> bool:
            text = self.log_path.read_text(errors="replace")
            return text.count("Application startup complete") >= self.workers

        wait_until(all_started, timeout=60, what=f"{self.workers} workers of {self.name}")

    def stop(self) -> None:
        if self.process is None:
            return
        self.process.send_signal(signal.SIGTERM)
        try:
            self.process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait(timeout=5)
        self.process = None


@contextlib.contextmanager
def workdir(prefix: str = "raidesk-bench-") -> Iterator[Path]:
    """A scratch directory for databases, logs and wrk scripts; removed afterwards unless
    BENCH_KEEP=1 is set (then its path is printed, for reading the server logs)."""
    if os.environ.get("BENCH_KEEP") == "1":
        path = Path(tempfile.mkdtemp(prefix=prefix))
        print(f"keeping the bench's files in {path}", flush=True)
        yield path
        return
    with tempfile.TemporaryDirectory(prefix=prefix) as tmp:
        yield Path(tmp)


class Startable(Protocol):
    """Anything a bench starts before measuring and stops afterwards (a server, Redis)."""

    def start(self) -> None:
        """Start it and wait until it answers."""

    def stop(self) -> None:
        """Stop it (idempotent)."""


@contextlib.contextmanager
def running(*servers: Startable) -> Iterator[None]:
    """Start each in order; stop them all (in reverse) however the block ends."""
    started: list[Startable] = []
    try:
        for server in servers:
            server.start()
            started.append(server)
        yield
    finally:
        for server in reversed(started):
            with contextlib.suppress(Exception):
                server.stop()


def add_wrk_options(parser: argparse.ArgumentParser) -> None:
    """The load options every HTTP bench shares (rounds of wrk against interleaved servers)."""
    parser.add_argument("--duration", type=float, default=10, help="seconds per measured round")
    parser.add_argument("--rounds", type=int, default=3, help="measured rounds per variant")
    parser.add_argument("--connections", type=int, default=64, help="wrk connections")
    parser.add_argument("--threads", type=int, default=2, help="wrk threads")
    parser.add_argument("--warmup", type=float, default=2, help="seconds of warm-up per server")


def migrate_database(database_url: str) -> None:
    """`python -m app migrate` on a fresh database (PostgreSQL never migrates at startup)."""
    proc = subprocess.run(
        [sys.executable, "-m", "app", "migrate"],
        cwd=ROOT,
        env={**os.environ, "DATABASE_URL": database_url, "ENVIRONMENT": "development"},
        capture_output=True,
        text=True,
        check=False,
    )
    if proc.returncode != 0:
        raise BenchError(f"migrate failed: {proc.stderr[-2000:]}")


def base_env(work: Path, name: str, **extra: str) -> dict[str, str]:
    """Settings every bench server shares: its own SQLite file, a random secret, JSON logs."""
    return {
        "ENVIRONMENT": "production",
        "SECRET_KEY": secrets.token_urlsafe(48),
        "DATABASE_URL": f"sqlite+aiosqlite:///{work / (name + '.db')}",
        "REDIS_URL": "",
        "LOG_FORMAT": "json",
        **extra,
    }


# --- wrk -----------------------------------------------------------------------------
# Appended to every wrk script: each thread counts its statuses; done() prints one JSON line.
_DONE_LUA = r"""
local __threads = {}
local __user_setup = setup
setup = function(thread)
  table.insert(__threads, thread)
  if __user_setup then __user_setup(thread) end
end

local function __str(s)
  s = string.gsub(s, '[%c"\\]', function(c)
    if c == '"' then return '\\"' elseif c == '\\' then return '\\\\' end
    return string.format("\\u%04x", string.byte(c))
  end)
  return '"' .. s .. '"'
end

local function __json(v)
  local t = type(v)
  if t == "table" then
    local parts = {}
    for k, x in pairs(v) do
      table.insert(parts, __str(tostring(k)) .. ":" .. __json(x))
    end
    return "{" .. table.concat(parts, ",") .. "}"
  elseif t == "number" then
    return string.format("%.17g", v)
  elseif t == "string" then
    return __str(v)
  end
  return "null"
end

done = function(summary, latency, requests)
  local statuses = {}
  local samples = {}
  for _, thread in ipairs(__threads) do
    local counts = thread:get("__statuses")
    if counts then
      for code, n in pairs(counts) do statuses[code] = (statuses[code] or 0) + n end
    end
    local bodies = thread:get("__samples")
    if bodies then
      for code, body in pairs(bodies) do samples[code] = samples[code] or body end
    end
  end
  local result = {
    requests = summary.requests,
    duration_us = summary.duration,
    bytes = summary.bytes,
    errors = summary.errors,
    p50_us = latency:percentile(50),
    p90_us = latency:percentile(90),
    p99_us = latency:percentile(99),
    max_us = latency.max,
    mean_us = latency.mean,
    statuses = statuses,
    samples = samples,
  }
  io.write("BENCH_RESULT " .. __json(result) .. "\n")
end
"""

# Counting statuses needs a response() hook, which makes wrk parse every body; only enabled
# when the caller asks for it (the middleware bench leaves wrk on its fastest path).
_STATUS_LUA = r"""
__statuses = {}
__samples = {}
local __user_response = response
response = function(status, headers, body)
  local key = tostring(status)
  __statuses[key] = (__statuses[key] or 0) + 1
  if __samples[key] == nil and body ~= nil then __samples[key] = string.sub(body, 1, 240) end
  if __user_response then return __user_response(status, headers, body) end
end
"""


@dataclass(frozen=True)
class WrkResult:
    """One wrk run: totals, throughput and latency percentiles (milliseconds)."""

    requests: int
    duration_s: float
    p50_ms: float
    p90_ms: float
    p99_ms: float
    max_ms: float
    errors: dict[str, int]
    statuses: dict[str, int]
    # The first body (cut to 240 chars) seen for each status, when statuses are counted.
    samples: dict[str, str] = field(default_factory=dict)

    @property
    def rps(self) -> float:
        """Requests per second over the run."""
        return self.requests / self.duration_s if self.duration_s else 0.0

    @property
    def error_count(self) -> int:
        """Socket errors and timeouts (wrk also counts non-2xx/3xx statuses as 'status')."""
        return sum(v for k, v in self.errors.items() if k != "status")


def run_wrk(
    url: str,
    *,
    duration_s: float,
    connections: int,
    threads: int = 2,
    script: str = "",
    script_args: list[str] | None = None,
    count_statuses: bool = False,
    stop_when_threads_done: bool = False,
    timeout_s: float = 10.0,
    scratch: Path,
    extra_env: Mapping[str, str] | None = None,
) -> WrkResult:
    """Run wrk against `url` and return its parsed result; raise BenchError when it fails.

    With `stop_when_threads_done`, the script calls `wrk.thread:stop()` and prints
    THREAD_DONE_MARK per thread when its work is done; the run then ends at once instead of
    after `duration_s`, which is only an upper bound.
    """
    wrk = ensure_wrk()
    threads = max(1, min(threads, connections))
    lua = script + ("\n" + _STATUS_LUA if count_statuses else "") + "\n" + _DONE_LUA
    script_path = scratch / f"wrk-{secrets.token_hex(4)}.lua"
    script_path.write_text(lua, encoding="utf-8")
    cmd = [
        wrk,
        f"-t{threads}",
        f"-c{connections}",
        f"-d{max(1, round(duration_s))}s",
        f"--timeout={max(1, round(timeout_s))}s",
        "-s",
        str(script_path),
        url,
    ]
    if script_args:
        cmd += ["--", *script_args]
    proc = subprocess.Popen(
        cmd,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        encoding="utf-8",
        errors="replace",
        env={**os.environ, **(extra_env or {})},
    )
    assert proc.stdout is not None and proc.stderr is not None
    lines: list[str] = []
    finished = 0
    grace: threading.Timer | None = None
    for line in proc.stdout:
        lines.append(line)
        # wrk runs for its full -d even when every thread stopped; SIGINT makes it report now.
        if stop_when_threads_done and line.startswith(THREAD_DONE_MARK):
            finished += 1
            if finished >= threads:
                proc.send_signal(signal.SIGINT)
            elif grace is None:
                # A request lost to a broken connection would keep a thread waiting for its
                # last answer forever; the caller sees the shortfall in the status counts.
                grace = threading.Timer(timeout_s, proc.send_signal, args=(signal.SIGINT,))
                grace.start()
    if grace is not None:
        grace.cancel()
    proc.wait(timeout=timeout_s + 60)
    stderr = proc.stderr.read()
    for line in lines:
        if line.startswith(RESULT_MARK):
            raw = json.loads(line[len(RESULT_MARK) :])
            return WrkResult(
                requests=int(raw["requests"]),
                duration_s=float(raw["duration_us"]) / 1e6,
                p50_ms=float(raw["p50_us"]) / 1000,
                p90_ms=float(raw["p90_us"]) / 1000,
                p99_ms=float(raw["p99_us"]) / 1000,
                max_ms=float(raw["max_us"]) / 1000,
                errors={k: int(v) for k, v in (raw.get("errors") or {}).items()},
                statuses={k: int(v) for k, v in (raw.get("statuses") or {}).items()},
                samples={k: str(v) for k, v in (raw.get("samples") or {}).items()},
            )
    raise BenchError(
        f"wrk failed (exit {proc.returncode}): {stderr.strip()[-1000:]}\n"
        f"{''.join(lines).strip()[-1000:]}"
    )


# --- reporting -----------------------------------------------------------------------
@dataclass
class Series:
    """Repeated measurements of one variant; the median of each metric is reported."""

    name: str
    runs: list[WrkResult] = field(default_factory=list)

    def median(self, attr: str) -> float:
        """Median of a WrkResult attribute over the runs."""
        return float(statistics.median(getattr(r, attr) for r in self.runs))

    @property
    def requests(self) -> int:
        """All requests over all runs."""
        return sum(r.requests for r in self.runs)

    @property
    def errors(self) -> int:
        """All socket errors and timeouts over all runs."""
        return sum(r.error_count for r in self.runs)


def format_table(rows: list[list[str]], header: list[str]) -> str:
    """A plain aligned text table (also valid Markdown)."""
    widths = [max(len(h), *(len(r[i]) for r in rows)) for i, h in enumerate(header)]

    def line(cells: list[str]) -> str:
        return "| " + " | ".join(c.rjust(w) for c, w in zip(cells, widths, strict=True)) + " |"

    sep = "|" + "|".join("-" * (w + 2) for w in widths) + "|"
    return "\n".join([line(header), sep, *(line(r) for r in rows)])


def machine_note() -> str:
    """CPU count and load average at the time of the run (the machine may be shared)."""
    load = os.getloadavg() if hasattr(os, "getloadavg") else (0.0, 0.0, 0.0)
    return f"{os.cpu_count()} CPUs, load average {load[0]:.2f} / {load[1]:.2f} / {load[2]:.2f}"
