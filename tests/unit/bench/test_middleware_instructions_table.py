"""The callgrind bench's table, from given counts: its shape, not what a count should be."""

from __future__ import annotations

import re

import pytest

from bench.middleware_instructions import VARIANTS, instruction_table

pytestmark = pytest.mark.unit


def test_the_table_has_a_row_per_variant_against_bare() -> None:
    counts = {name: 1000.0 + 250 * i for i, name in enumerate(VARIANTS)}
    table = instruction_table(counts)
    lines = table.splitlines()
    assert re.match(r"^\|\s*variant\s*\|\s*instructions/request\s*\|\s*vs bare\s*\|", lines[0])
    rows = {
        name: (count, delta, ratio)
        for name, count, delta, ratio in re.findall(
            r"^\|\s+(\S+) \|\s+(\d+) \|\s+([+-]\d+) \|\s+(\d\.\d{3}) \|$", table, re.MULTILINE
        )
    }
    assert set(rows) == set(VARIANTS) == {"bare", "middleware", "full"}
    assert rows["bare"] == ("1000", "+0", "1.000")
    assert rows["full"] == ("1500", "+500", "0.667")
