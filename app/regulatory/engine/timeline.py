"""Durations and critical-path arithmetic shared by the planner and refine."""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence

from app.regulatory.engine.text import Lang
from app.regulatory.schemas.analysis import TimelineItem

WEEKS_PER_MONTH = 4.345
_DURATION = re.compile(
    r"(\d+(?:\.\d+)?)\s*(?:[-~–]\s*(\d+(?:\.\d+)?)\s*)?"
    r"(주|개월|달|일|년|weeks?|wks?|months?|mos?|days?|years?|yrs?)",
    re.IGNORECASE,
)
_UNIT_WEEKS = {
    "주": 1.0,
    "week": 1.0,
    "weeks": 1.0,
    "wk": 1.0,
    "wks": 1.0,
    "개월": WEEKS_PER_MONTH,
    "달": WEEKS_PER_MONTH,
    "month": WEEKS_PER_MONTH,
    "months": WEEKS_PER_MONTH,
    "mo": WEEKS_PER_MONTH,
    "mos": WEEKS_PER_MONTH,
    "일": 1 / 7,
    "day": 1 / 7,
    "days": 1 / 7,
    "년": 52.0,
    "year": 52.0,
    "years": 52.0,
    "yr": 52.0,
    "yrs": 52.0,
}


def parse_weeks(text: str) -> int | None:
    """Weeks in "12주", "3 months", "2-3개월" (upper bound, to stay conservative)."""
    match = _DURATION.search(text or "")
    if match is None:
        return None
    value = float(match.group(2) or match.group(1))
    unit = _UNIT_WEEKS.get(match.group(3).lower(), 1.0)
    return max(1, round(value * unit))


def format_weeks(weeks: int, lang: Lang) -> str:
    """A phase duration, always in weeks so refine can re-read it without drift."""
    return f"{weeks}주" if lang == "ko" else f"{weeks} week{'s' if weeks != 1 else ''}"


def format_total(weeks: int, lang: Lang) -> str:
    """Total duration: months for people, weeks in brackets for arithmetic."""
    months = max(1, round(weeks / WEEKS_PER_MONTH))
    if lang == "ko":
        return f"약 {months}개월 ({weeks}주)"
    return f"about {months} month{'s' if months != 1 else ''} ({weeks} weeks)"


def critical_path_weeks(items: Iterable[TimelineItem]) -> int:
    """Length of the longest dependency chain; unknown dependencies are ignored."""
    ordered = list(items)
    by_phase = {item.phase: item for item in ordered}
    finish: dict[str, int] = {}
    visiting: set[str] = set()

    def end(item: TimelineItem) -> int:
        if item.phase in finish:
            return finish[item.phase]
        if item.phase in visiting:  # a cycle written by hand: break it rather than loop
            return 0
        visiting.add(item.phase)
        start = 0
        for dep in item.dependencies or []:
            if dep in by_phase and dep != item.phase:
                start = max(start, end(by_phase[dep]))
        visiting.discard(item.phase)
        finish[item.phase] = start + (parse_weeks(item.duration) or 0)
        return finish[item.phase]

    return max((end(item) for item in ordered), default=0)


def total_weeks(*sections: Sequence[TimelineItem]) -> int:
    """Critical path over several timelines that may depend on each other."""
    return critical_path_weeks([item for section in sections for item in section])
