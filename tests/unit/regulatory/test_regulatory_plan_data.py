"""The planning tables are data with sources and review dates, and complete for every tier."""

from __future__ import annotations

import datetime as dt

import pytest

from app.regulatory.engine import plan_data as pd

pytestmark = pytest.mark.unit


def test_review_dates_are_dates_in_order() -> None:
    reviewed = dt.date.fromisoformat(pd.FX_REVIEWED_ON)
    assert dt.date.fromisoformat(pd.FX_NEXT_REVIEW_ON) > reviewed
    dt.date.fromisoformat(pd.REVIEWED_ON)
    assert pd.SRC_FX and pd.SRC_REVIEW and pd.SRC_CLINICAL


def test_every_tier_has_a_value_in_every_tier_table() -> None:
    assert set(pd.REVIEW_FACTOR) == set(pd.TIERS) == set(pd.MARKETS_BY_TIER)
    for table in (
        pd.CLINICAL_IVD,
        pd.CLINICAL_SAMD,
        pd.CLINICAL_HIGH,
        pd.CLINICAL_CLASS_II,
        pd.CLINICAL_CLASS_I,
        pd.CLINICAL_APPROVAL_WEEKS,
        pd.TECHDOC_WEEKS,
    ):
        assert len(table) == len(pd.TIERS)
    for phase in pd.PHASES:
        assert len(phase.weeks) == len(pd.TIERS) and phase.when


def test_review_clocks_and_fees_cover_every_class_and_pathway() -> None:
    assert set(pd.MFDS_REVIEW_WEEKS) == {"I", "II", "III", "IV"}
    assert set(pd.FDA_REVIEW_WEEKS) == set(pd.FDA_FEES_MKRW)
    assert set(pd.EU_NB_WEEKS) == set(pd.EU_NB_FEES_MKRW)


def test_tag_rules_say_why() -> None:
    assert all(rule.why for rule in pd.TAG_RULES)
    hardware = pd.TAG_RULES[0]
    assert hardware.applies({"active"}, "normal", "II", "510(k)")
    assert not hardware.applies({"health_software"}, "normal", "II", "510(k)")
