"""Where a request's Python work goes: bytecodes executed per `GET /ping`, by function, in the
three stacks of `bench.middleware_overhead` (bare, middleware, full = with the rate limiter).

    uv run python -m bench.request_opcodes [--requests 200] [--top 25]

Each app runs in this process (its lifespan on the embedded default: SQLite in a temp dir and
in-process stores) and is called directly as an ASGI app, with `sys.settrace` counting every
bytecode executed during the call. The count is exact and repeatable: it does not move with the
machine's load, so it shows which function a change made cheaper. It leaves out what callgrind
(`bench.middleware_instructions`) sees and this does not: uvicorn and httptools (the server
writes every response header in a Python loop, with two regex checks each), C code called from
Python, and the access-log and metrics flushes that run every 100 ms outside any request. So the
ratios here are of Python bytecodes, not of instructions.
"""

from __future__ import annotations

import argparse
import asyncio
import re
import sys
import tempfile
from collections import Counter
from collections.abc import Callable
from pathlib import Path
from types import FrameType
from typing import Any

from bench.harness import format_table
from bench.middleware_overhead import STACKS as SERVED_STACKS

# The stacks compared, as bench.middleware_overhead defines them: the in-process factory (the
# served ones only add GC tuning for a long-lived process) and the settings from its environment.
STACKS: dict[str, tuple[str, dict[str, str]]] = {
    name: (factory.split(":")[1].replace("_served", ""), {k.lower(): v for k, v in env.items()})
    for name, (factory, env) in SERVED_STACKS.items()
}
# Pairs whose difference is printed function by function: what each layer adds.
DIFFS = (("middleware", "bare"), ("full", "middleware"))
_REQUEST_HEADERS = [(b"host", b"127.0.0.1"), (b"user-agent", b"bench"), (b"accept", b"*/*")]

Site = tuple[str, str]  # (module path, function name)
# The standard library's or an installed package's file: named from inside its install.
_INSTALLED = re.compile(r".*/lib/python3\.\d+/(?:site-packages/)?")
_ROOT = str(Path(__file__).resolve().parents[1]) + "/"


def site_of(filename: str, function: str) -> Site:
    """A short, stable name for a code object: the path inside site-packages or the repo."""
    installed = _INSTALLED.match(filename)
    if installed is not None:
        return filename[installed.end() :], function
    return filename.removeprefix(_ROOT), function


class OpcodeCounter:
    """A `sys.settrace` tracer counting bytecodes per function while it is installed."""

    def __init__(self) -> None:
        self.counts: Counter[Site] = Counter()
        self._sites: dict[Any, Site] = {}

    def _local(self, frame: FrameType, event: str, arg: object) -> Callable[..., Any]:
        if event == "opcode":
            code = frame.f_code
            site = self._sites.get(code)
            if site is None:
                site = self._sites[code] = site_of(code.co_filename, code.co_name)
            self.counts[site] += 1
        return self._local

    def tracer(self, frame: FrameType, event: str, arg: object) -> Callable[..., Any]:
        """The global trace function: every new frame reports each bytecode it executes."""
        frame.f_trace_opcodes = True
        frame.f_trace_lines = False
        return self._local


async def _call(app: Any, counter: OpcodeCounter | None) -> dict[str, Any]:
    """One `GET /ping` through `app` (counted when `counter` is given); its response start."""
    messages: list[dict[str, Any]] = []
    requests = [{"type": "http.request", "body": b"", "more_body": False}]

    async def receive() -> dict[str, Any]:
        return requests.pop() if requests else {"type": "http.disconnect"}

    async def send(message: dict[str, Any]) -> None:
        messages.append(message)

    scope = {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": "GET",
        "scheme": "http",
        "path": "/ping",
        "raw_path": b"/ping",
        "root_path": "",
        "query_string": b"",
        "headers": list(_REQUEST_HEADERS),
        "client": ("127.0.0.1", 40000),
        "server": ("127.0.0.1", 8000),
        "state": {},
    }
    previous = sys.gettrace()  # e.g. coverage's: put back after the request
    if counter is not None:
        sys.settrace(counter.tracer)
    try:
        await app(scope, receive, send)
    finally:
        if counter is not None:
            sys.settrace(previous)
    return messages[0]


async def count_stack(
    name: str, work: Path, *, requests: int, warmup: int
) -> tuple[Counter[Site], int]:
    """Bytecodes per function over `requests` pings (after `warmup`), and how many headers the
    answer has (the server writes each one)."""
    import app.main as main_module
    from app.platform.config import load_settings

    factory_name, overrides = STACKS[name]
    settings = load_settings(
        _env_file=None,
        environment="development",
        database_url=f"sqlite+aiosqlite:///{work / (name + '.db')}",
        redis_url="",
        **overrides,
    )
    app = getattr(main_module, factory_name)(settings)
    counter = OpcodeCounter()
    async with app.router.lifespan_context(app):
        for _ in range(warmup):
            await _call(app, None)
        answer: dict[str, Any] = {}
        for _ in range(requests):
            answer = await _call(app, counter)
            if answer["status"] != 200:
                raise RuntimeError(f"{name}: /ping answered {answer['status']}")
    return counter.counts, len(answer.get("headers", ()))


def group_of(site: Site) -> str:
    """The module a function belongs to (the app's by file, libraries by package)."""
    path = site[0]
    if path.startswith("app/"):
        return path
    return path.split("/", 1)[0]


def main(argv: list[str] | None = None) -> int:
    """Count each stack and print the totals and what each layer adds."""
    parser = argparse.ArgumentParser(prog="python -m bench.request_opcodes")
    parser.add_argument("--requests", type=int, default=200, help="counted pings per stack")
    parser.add_argument("--warmup", type=int, default=50, help="uncounted pings first")
    parser.add_argument("--top", type=int, default=25, help="functions listed per difference")
    args = parser.parse_args(argv)
    per_request: dict[str, Counter[Site]] = {}
    headers: dict[str, int] = {}
    with tempfile.TemporaryDirectory(prefix="raidesk-opcodes-") as tmp:
        for name in STACKS:
            counts, headers[name] = asyncio.run(
                count_stack(name, Path(tmp), requests=args.requests, warmup=args.warmup)
            )
            per_request[name] = counts
    totals = {name: sum(c.values()) / args.requests for name, c in per_request.items()}
    bare = totals["bare"]
    print(f"Python bytecodes per GET /ping, in process ({args.requests} counted requests each)")
    print(
        format_table(
            [
                [
                    name,
                    f"{total:,.0f}",
                    f"{total - bare:+,.0f}",
                    f"{bare / total:.3f}",
                    str(headers[name]),
                ]
                for name, total in totals.items()
            ],
            ["stack", "bytecodes/request", "vs bare", "bare ÷ stack", "response headers"],
        )
    )
    for upper, lower in DIFFS:
        diff: Counter[Site] = Counter()
        for site, n in per_request[upper].items():
            diff[site] += n
        for site, n in per_request[lower].items():
            diff[site] -= n
        by_group: Counter[str] = Counter()
        for site, n in diff.items():
            by_group[group_of(site)] += n
        added = sum(diff.values()) / args.requests
        print()
        print(f"{upper} − {lower}: {added:+,.0f} bytecodes/request, by module")
        rows = [
            [group, f"{n / args.requests:+,.1f}"]
            for group, n in by_group.most_common()
            if abs(n) / args.requests >= 0.5
        ]
        print(format_table(rows, ["module", "bytecodes/request"]))
        print(f"{upper} − {lower}: the {args.top} functions that add most")
        rows = [
            [f"{site[0]}:{site[1]}", f"{n / args.requests:+,.1f}"]
            for site, n in diff.most_common(args.top)
            if n > 0
        ]
        print(format_table(rows, ["function", "bytecodes/request"]))
    return 0


if __name__ == "__main__":
    sys.exit(main())
