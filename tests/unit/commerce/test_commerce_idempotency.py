"""Idempotency keys, fingerprints and receipts (the parts that need no server)."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime
from decimal import Decimal

import pytest

from app.commerce.idempotency import KvIdempotency, check_key, fingerprint, key_digest
from app.commerce.purchase import PurchaseReceipt
from app.platform.errors import (
    IdempotencyInFlightError,
    IdempotencyKeyReusedError,
    InvalidIdempotencyKeyError,
)
from app.platform.storage.kv.memory import MemoryKeyValueStore

pytestmark = pytest.mark.unit


def test_key_rules() -> None:
    assert check_key(None) is None
    assert check_key("order-42_A.b~") == "order-42_A.b~"
    assert check_key("x" * 255) == "x" * 255
    for bad in ("", " ", "a b", "x" * 256, "키", "tab\there", "nl\n"):
        with pytest.raises(InvalidIdempotencyKeyError):
            check_key(bad)


def test_fingerprint_and_digest_separate_what_must_differ() -> None:
    assert fingerprint(product_id=1, quantity=1) == fingerprint(product_id=1, quantity=1)
    assert fingerprint(product_id=1, quantity=1) != fingerprint(product_id=1, quantity=2)
    assert fingerprint(product_id=1, quantity=1) != fingerprint(product_id=2, quantity=1)
    assert key_digest(user_id="a", key="k") != key_digest(user_id="b", key="k")
    # The separator keeps ("ab", "c") and ("a", "bc") apart.
    assert key_digest(user_id="ab", key="c") != key_digest(user_id="a", key="bc")


def test_receipt_json_round_trip_keeps_money_exact() -> None:
    receipt = PurchaseReceipt(
        purchase_id="pur_1",
        product_id=7,
        quantity=3,
        unit_price=Decimal("19.99"),
        total_price=Decimal("59.97"),
        remaining_stock=12,
        purchased_at=datetime(2026, 1, 15, 10, 0, 0, 123000, tzinfo=UTC),
    )
    assert PurchaseReceipt.from_json(receipt.to_json()) == receipt
    assert '"total_price":"59.97"' in receipt.to_json()


async def test_kv_idempotency_claim_replay_mismatch_and_abandon() -> None:
    idem = KvIdempotency(MemoryKeyValueStore(), ttl_s=60, in_flight_ttl_s=5)
    args = {"product_id": 1, "digest": "d1"}
    claims = await asyncio.gather(
        *(idem.begin(**args, fingerprint="f1") for _ in range(10)), return_exceptions=True
    )
    assert claims.count(None) == 1
    assert all(isinstance(c, IdempotencyInFlightError) for c in claims if c is not None)
    with pytest.raises(IdempotencyKeyReusedError):
        await idem.begin(**args, fingerprint="f2")
    await idem.complete(**args, fingerprint="f1", response_json='{"ok":1}')
    assert await idem.begin(**args, fingerprint="f1") == '{"ok":1}'
    with pytest.raises(IdempotencyKeyReusedError):
        await idem.begin(**args, fingerprint="f2")
    await idem.abandon(**args)
    assert await idem.begin(**args, fingerprint="f2") is None
