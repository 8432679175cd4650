"""The archetype table's integrity and the classification table (≥ 300 concepts from sources).

Known misses stay in the table, marked, counted here (≤ 5 %) and listed in
docs/regulatory-rules.md; they are never deleted or rewritten to the engine's answer.
"""

from __future__ import annotations

import re
from collections import Counter

import pytest

from app.regulatory.engine import archetype_data as ad
from app.regulatory.engine.classifier import assess, match_archetypes
from app.regulatory.engine.text import normalise

from .classification_table import ROWS, Row

pytestmark = pytest.mark.unit

MDR_CLASSES = {"I", "IIa", "IIb", "III"}
IVDR_CLASSES = {"A", "B", "C", "D"}


def _engine_agrees(row: Row) -> bool:
    a = assess(row.concept)
    if row.code is None:
        return not a.is_device
    return a.is_device and a.code == row.code and (row.mfds is None or a.mfds == row.mfds)


@pytest.mark.parametrize("row", ROWS, ids=[r.concept for r in ROWS])
def test_classification_table(row: Row) -> None:
    assert row.source.strip(), "every row names its source"
    if row.miss:
        # A known miss that now passes must lose its mark (the list in the docs shrinks).
        assert not _engine_agrees(row), f"known miss now passes: unmark it: {row.concept}"
    else:
        a = assess(row.concept)
        assert _engine_agrees(row), (row, a.is_device, a.code, a.mfds)


def test_table_is_large_mixed_and_known_misses_are_few() -> None:
    assert len(ROWS) >= 300
    assert len({r.concept for r in ROWS}) == len(ROWS), "no duplicate concepts"
    korean = sum(1 for r in ROWS if re.search(r"[가-힣]", r.concept))
    non_devices = sum(1 for r in ROWS if r.code is None)
    assert korean >= 100 and len(ROWS) - korean >= 100
    assert non_devices >= 30
    misses = [r for r in ROWS if r.miss]
    assert len(misses) <= 0.05 * len(ROWS)


def test_table_has_at_least_150_archetypes_with_unique_codes() -> None:
    codes = [a.code for a in ad.ALL_ARCHETYPES]
    assert len(codes) >= 150
    assert len(set(codes)) == len(codes)


def test_every_archetype_is_reached_by_a_concept_of_the_table() -> None:
    reached = {r.code for r in ROWS if r.code and not r.miss}
    unreached = [a.code for a in ad.ALL_ARCHETYPES if a.code not in reached]
    assert unreached == []


@pytest.mark.parametrize("arch", ad.ALL_ARCHETYPES, ids=[a.code for a in ad.ALL_ARCHETYPES])
def test_classes_are_in_range_and_citations_present(arch: ad.Archetype) -> None:
    assert arch.mfds in {"I", "II", "III", "IV"}
    allowed = IVDR_CLASSES if "IVDR" in arch.eu_framework else MDR_CLASSES
    assert arch.eu_class in allowed
    assert set(arch.fda_class.split("–")) <= {"I", "II", "III"}  # "II–III": by subtype
    assert arch.imdrf_class in {"A", "B", "C", "D"}
    assert arch.imdrf is None or arch.imdrf in {"I", "II", "III", "IV"}
    assert arch.name.ko and arch.name.en and arch.description.ko and arch.description.en
    assert arch.fda_regulation and arch.eu_rule and arch.fda_pathway
    # A citation names the MFDS regulation and, except the generic IVD type, the 품목 and
    # its class (or says what is unverified).
    assert "MFDS" in arch.source
    if arch.code != "IVD-GENERIC":
        assert "품목" in arch.source or "—" in arch.source, arch.source
    korean_terms = any(re.search(r"[가-힣]", t) for group in arch.all_of for t in group)
    latin_terms = any(re.search(r"[a-z]", t) for group in arch.all_of for t in group)
    assert korean_terms and latin_terms, "terms in both languages"


def test_shadowing_is_only_where_declared() -> None:
    codes = {a.code for a in ad.ALL_ARCHETYPES}
    for arch in ad.ALL_ARCHETYPES:
        assert set(arch.refines) <= codes, arch.code
        for other in arch.refines:
            assert arch.code not in ad.ARCHETYPES_BY_CODE[other].refines, "refinement cycle"
    # Where two types match a concept with the same number of term groups, only the table
    # order would decide: that must not happen (declare `refines` or a `none_of` veto).
    ties = set()
    for row in ROWS:
        if row.code is None:
            continue
        matched = match_archetypes(normalise(row.concept))
        for other, _ in matched[1:]:
            if len(other.all_of) == len(matched[0][0].all_of):
                ties.add((matched[0][0].code, other.code))
    assert ties == set()


def test_known_misses_are_listed_in_the_docs() -> None:
    from pathlib import Path

    doc = (Path(__file__).parents[3] / "docs" / "regulatory-rules.md").read_text()
    for row in ROWS:
        if row.miss:
            assert row.concept in doc


def test_groups_cover_the_mfds_areas() -> None:
    prefixes = Counter(a.code.split("-")[0] for a in ad.ALL_ARCHETYPES)
    assert prefixes["SW"] >= 15 and prefixes["IVD"] >= 10 and prefixes["DN"] >= 5
    implants = [a for a in ad.ALL_ARCHETYPES if "implant" in a.tags]
    active_implants = [a for a in implants if "active" in a.tags]
    assert len(implants) >= 20 and len(active_implants) >= 5
    assert all(a.mfds == "IV" for a in active_implants), "active implants are MFDS class 4"
