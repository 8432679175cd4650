"""The bytecode-count bench: its counter counts what ran, and its tables have every stack."""

from __future__ import annotations

import re
import sys

import pytest

from bench.request_opcodes import STACKS, OpcodeCounter, main, site_of

pytestmark = pytest.mark.unit


def _loop(n: int) -> int:
    total = 0
    for i in range(n):
        total += i
    return total


def _counted(n: int) -> OpcodeCounter:
    counter = OpcodeCounter()
    previous = sys.gettrace()
    sys.settrace(counter.tracer)
    try:
        _loop(n)
    finally:
        sys.settrace(previous)
    return counter


def test_the_counter_counts_each_bytecode_of_the_function_that_ran() -> None:
    site = site_of(__file__, "_loop")
    assert site == ("tests/unit/bench/test_request_opcodes.py", "_loop")
    one, eleven = _counted(1).counts[site], _counted(11).counts[site]
    assert one > 0
    # Ten more turns of the loop: the same bytecodes ten more times, nothing else changes.
    per_turn = (eleven - one) / 10
    assert per_turn == int(per_turn) and per_turn >= 3
    assert _counted(21).counts[site] - eleven == 10 * per_turn


def test_library_and_stdlib_sites_are_named_inside_their_install() -> None:
    lib = "/x/.venv/lib/python3.11/site-packages/fastapi/routing.py"
    assert site_of(lib, "app") == ("fastapi/routing.py", "app")
    assert site_of("/usr/lib/python3.11/asyncio/events.py", "_run") == ("asyncio/events.py", "_run")


def test_the_bench_prints_every_stack_and_what_each_layer_adds(
    capsys: pytest.CaptureFixture[str],
) -> None:
    assert main(["--requests", "3", "--warmup", "1", "--top", "5"]) == 0
    out = capsys.readouterr().out
    rows = {
        name: int(count.replace(",", ""))
        for name, count in re.findall(r"^\|\s+(\w+) \|\s+([\d,]+) \|", out, re.MULTILINE)
    }
    assert set(rows) == set(STACKS) == {"bare", "middleware", "full"}
    # Each layer adds work to the same route: the edge to bare, the limiter to the edge.
    assert rows["bare"] < rows["middleware"] < rows["full"]
    assert "middleware − bare:" in out and "full − middleware:" in out
    # The limiter's own store shows up among what the full stack adds.
    assert re.search(r"app/platform/ratelimit/stores/memory\.py:hit \|\s+\+[\d,.]+ \|", out), out
