"""Every error code the code can raise is documented in docs/errors.md, and codes are unique."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

import app.main  # noqa: F401  - importing the app registers every area's errors
from app.platform.errors import AppError

pytestmark = pytest.mark.unit
ROOT = Path(__file__).resolve().parents[3]


def all_error_classes() -> list[type[AppError]]:
    seen: list[type[AppError]] = []
    stack: list[type[AppError]] = [AppError]
    while stack:
        cls = stack.pop()
        seen.append(cls)
        stack.extend(cls.__subclasses__())
    return seen


def test_every_error_code_is_documented() -> None:
    doc = (ROOT / "docs/errors.md").read_text(encoding="utf-8")
    rows = set(re.findall(r"^\|\s*(ERR_\d{4})\s*\|\s*([A-Z_]+)\s*\|", doc, re.M))
    missing = [
        (c.error_code, c.code) for c in all_error_classes() if (c.error_code, c.code) not in rows
    ]
    assert not missing, f"add these rows to docs/errors.md: {missing}"


def test_numbered_codes_are_unique() -> None:
    by_number: dict[str, str] = {}
    for cls in all_error_classes():
        assert by_number.setdefault(cls.error_code, cls.code) == cls.code, cls
