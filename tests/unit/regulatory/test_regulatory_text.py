"""Language detection, uninformative replies, keyword matching and durations."""

from __future__ import annotations

import pytest

from app.regulatory.engine.text import compile_terms, detect_language, is_uninformative
from app.regulatory.engine.timeline import critical_path_weeks, format_total, parse_weeks
from app.regulatory.schemas.analysis import TimelineItem

pytestmark = pytest.mark.unit


@pytest.mark.parametrize(
    ("text", "lang"),
    [
        ("CT 영상에서 폐결절을 검출하는 AI 소프트웨어", "ko"),
        ("AI software for lung nodules", "en"),
        ("insulin pump 인슐린", "en"),
        ("인슐린 pump", "ko"),
    ],
)
def test_detect_language(text: str, lang: str) -> None:
    assert detect_language(text) == lang


def test_detect_language_default_without_letters() -> None:
    assert detect_language("123 !!", default="en") == "en"


@pytest.mark.parametrize(
    "text",
    [
        "네",
        "예.",
        "OK",
        "yes!",
        " 응 ",
        "?",
        "ㅇㅇ",
        "진행",
        "진행해줘",
        "맞아",
        "네 진행해주세요",
        "Yes, proceed",
        "go ahead",
        "sounds good",
        "네네 좋아요!!",
        "👍",
        "아니요",
        "no thanks",
        "계속 진행할게요 ㅎㅎ",
    ],
)
def test_uninformative(text: str) -> None:
    assert is_uninformative(text)


@pytest.mark.parametrize(
    "text",
    ["폐결절 검출", "insulin pump", "ECG app", "네 손목형 혈압계예요", "yes, a glucose meter"],
)
def test_informative(text: str) -> None:
    assert not is_uninformative(text)


def test_english_terms_respect_word_boundaries_and_korean_attaches_particles() -> None:
    lex = compile_terms("t", ("ct", "diagnos*", "폐결절"))
    assert lex.find("it can detect lesions") == []
    assert lex.find("chest ct scan") == ["ct"]
    assert lex.find("diagnostic aid") == ["diagnostic"]
    assert lex.find("폐결절을 찾는다") == ["폐결절"]


@pytest.mark.parametrize(
    ("text", "weeks"),
    [("12주", 12), ("3 months", 13), ("2-3개월", 13), ("10 days", 1), ("1년", 52), ("n/a", None)],
)
def test_parse_weeks(text: str, weeks: int | None) -> None:
    assert parse_weeks(text) == weeks


def test_critical_path_follows_dependencies_not_the_sum() -> None:
    items = [
        TimelineItem(phase="a", description="", duration="4주"),
        TimelineItem(phase="b", description="", duration="10주"),
        TimelineItem(phase="c", description="", duration="2주", dependencies=["a", "b"]),
        TimelineItem(phase="d", description="", duration="3주", dependencies=["a"]),
    ]
    assert critical_path_weeks(items) == 12


def test_critical_path_survives_a_cycle() -> None:
    items = [
        TimelineItem(phase="a", description="", duration="4주", dependencies=["b"]),
        TimelineItem(phase="b", description="", duration="2주", dependencies=["a"]),
    ]
    assert critical_path_weeks(items) in (4, 6)


def test_format_total_in_both_languages() -> None:
    assert format_total(52, "ko") == "약 12개월 (52주)"
    assert format_total(52, "en") == "about 12 months (52 weeks)"
