"""The middleware bench's verdict: ratios are taken within a round, then the median is judged."""

from __future__ import annotations

import pytest

from bench.harness import Series, WrkResult
from bench.middleware_overhead import paired_ratios, verdict

pytestmark = pytest.mark.unit


def _run(rps: float, p99_ms: float = 1.0) -> WrkResult:
    return WrkResult(
        requests=int(rps * 10),
        duration_s=10.0,
        p50_ms=0.5,
        p90_ms=0.8,
        p99_ms=p99_ms,
        max_ms=5.0,
        errors={},
        statuses={},
    )


def _series(name: str, *rps: float, p99_ms: float = 1.0) -> Series:
    return Series(name, [_run(r, p99_ms) for r in rps])


def test_ratios_pair_each_round_with_bare_of_the_same_round() -> None:
    # The machine halves its speed in round 2: both variants slow down alike.
    saturated = {
        "bare": _series("bare", 10_000, 5_000, 10_000),
        "middleware": _series("middleware", 9_000, 4_500, 8_000),
    }
    assert paired_ratios(saturated, "middleware") == pytest.approx([0.9, 0.9, 0.8])


def test_one_lucky_round_does_not_move_the_verdict() -> None:
    # Round 2 ran bare slow and middleware fast. Each variant's own median (9000 / 5000) would
    # say 1.8; round by round it is 0.9, 1.8, 0.9, and the median of those is 0.9.
    saturated = {
        "bare": _series("bare", 10_000, 5_000, 5_000),
        "middleware": _series("middleware", 9_000, 9_000, 4_500),
    }
    paced = {"bare": _series("bare", 1, p99_ms=2.0), "middleware": _series("m", 1, p99_ms=2.5)}
    ratio, added, met = verdict("middleware", saturated, paced)
    assert ratio == pytest.approx(0.9)
    assert added == pytest.approx(0.5)
    assert met


@pytest.mark.parametrize(
    ("variant_rps", "variant_p99_ms", "met"),
    [
        ((8_400, 8_400, 8_400), 2.5, False),  # 0.84 of bare: just under the ratio target
        ((8_600, 8_600, 8_600), 3.1, False),  # ratio met, p99 added 1.1 ms
        ((8_600, 8_600, 8_600), 2.9, True),
    ],
)
def test_both_targets_must_hold(
    variant_rps: tuple[float, ...], variant_p99_ms: float, met: bool
) -> None:
    saturated = {"bare": _series("bare", 10_000, 10_000, 10_000), "v": _series("v", *variant_rps)}
    paced = {"bare": _series("bare", 1, p99_ms=2.0), "v": _series("v", 1, p99_ms=variant_p99_ms)}
    assert verdict("v", saturated, paced)[2] is met
