"""docs/seed-compatibility.md keeps the fixed table shape a test against a live server will walk."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

pytestmark = pytest.mark.unit

PAGE = Path(__file__).resolve().parents[3] / "docs" / "seed-compatibility.md"
COLUMNS = ["seed", "kind", "seed name", "project answer", "status"]
SEEDS = {"000", "001", "002", "003", "004"}
# What a row names: endpoints and statuses are called, the rest are read or compared.
KINDS = {
    "endpoint",
    "status",
    "field",
    "body",
    "header",
    "setting",
    "metric",
    "storage",
    "behaviour",
}
# "missing (planned)" may name the setting or target that is planned, in parentheses after it.
STATUS = re.compile(
    r"^(same|both work|undecided|n/a|missing \(not planned\)"
    r"|missing \(planned\)( \(`[^`]+`(, [^)]*)?\))?|refused: .+)$"
)


def seed_rows() -> list[list[str]]:
    """Cells of every row of the tables under the "## Seed" headings."""
    rows: list[list[str]] = []
    in_seed, header = False, None
    for line in PAGE.read_text(encoding="utf-8").splitlines():
        if line.startswith("## "):
            in_seed = line.startswith("## Seed ")
        if not in_seed or not line.startswith("|"):
            header = None  # a table ends at the first line that is not a row
            continue
        # A `|` escaped as `\|` is part of a value (`up\|down`), not a column border.
        cells = [c.strip() for c in re.split(r"(?<!\\)\|", line.strip())[1:-1]]
        if header is None:
            header = cells
            assert header == COLUMNS, f"table header {header} in: {line}"
        elif not set(line) <= {"|", "-", " "}:
            rows.append(cells)
    return rows


def test_every_seed_row_has_the_fixed_columns_and_vocabulary() -> None:
    """Five cells per row; seed, kind and status from fixed lists; names in backticks."""
    rows = seed_rows()
    assert len(rows) > 100
    for cells in rows:
        assert len(cells) == len(COLUMNS), cells
        seed, kind, name, answer, status = cells
        assert seed in SEEDS, cells
        assert kind in KINDS, cells
        assert name and answer, cells
        assert STATUS.match(status), cells
        if kind == "endpoint" and status != "n/a":
            assert re.match(r"^`(GET|POST|PUT|PATCH|DELETE) /", name), cells
        if kind == "status":
            assert re.search(r"→ [1-5]\d\d\b", name), cells


def test_every_seed_is_covered() -> None:
    """Each of the five seeds has rows."""
    assert {cells[0] for cells in seed_rows()} == SEEDS
