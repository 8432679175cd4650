"""The purchase strategies are types: picked once from the setting, then only called."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal
from types import SimpleNamespace
from typing import Any, cast

import pytest

from app.commerce.idempotency import KvIdempotency
from app.commerce.purchase import (
    KvIdempotentPurchase,
    LockPurchase,
    LuaPurchase,
    PurchaseOutcome,
    PurchaseReceipt,
    PurchaseRequest,
    PurchaseService,
    PurchaseSteps,
    PurchaseStrategy,
    SqlPurchase,
    make_purchase_strategy,
)
from app.commerce.repository import ProductRecord
from app.platform.errors import InsufficientStockError
from app.platform.principal import Principal
from app.platform.storage.kv.memory import MemoryKeyValueStore

pytestmark = pytest.mark.unit

AT = datetime(2026, 12, 4, tzinfo=UTC)
PRODUCT = ProductRecord(
    id=7,
    name="p",
    price=Decimal("2.50"),
    initial_stock=5,
    restocked=0,
    stock=5,
    per_user_limit=None,
    starts_at=None,
    ends_at=None,
    created_at=AT,
)
BUYER = Principal(user_id="u1", username="u1", role="user", auth_method="jwt")


def _steps(*, keeper: object | None = None) -> PurchaseSteps:
    # The strategies only keep these at construction; no call reaches them in these tests.
    return PurchaseSteps(
        products=cast(Any, object()),
        purchases=cast(Any, SimpleNamespace(buy_many=None)),
        keeper=cast(Any, keeper),
        reservation_ttl_s=30,
        idempotency_ttl_s=60,
    )


def _idem() -> KvIdempotency:
    return KvIdempotency(MemoryKeyValueStore(), ttl_s=60, in_flight_ttl_s=30)


def test_the_factory_builds_one_class_per_setting() -> None:
    lua = make_purchase_strategy("lua", steps=_steps(keeper=object()), idempotency=_idem())
    assert isinstance(lua, LuaPurchase) and lua.name == "lua"
    lock = make_purchase_strategy(
        "lock", steps=_steps(keeper=object()), idempotency=_idem(), locks=cast(Any, object())
    )
    assert isinstance(lock, KvIdempotentPurchase) and lock.name == "lock"
    assert isinstance(lock._inner, LockPurchase)
    sql = make_purchase_strategy("sql", steps=_steps(), idempotency=_idem())
    assert isinstance(sql, KvIdempotentPurchase) and isinstance(sql._inner, SqlPurchase)
    assert sql.name == "sql"


def test_the_factory_refuses_what_a_strategy_cannot_run_on() -> None:
    with pytest.raises(ValueError, match="lua needs a stock store"):
        make_purchase_strategy("lua", steps=_steps(), idempotency=_idem())
    with pytest.raises(ValueError, match="lock needs a stock store"):
        make_purchase_strategy("lock", steps=_steps(), idempotency=_idem(), locks=cast(Any, 1))
    with pytest.raises(ValueError, match="lock needs a lock manager"):
        make_purchase_strategy("lock", steps=_steps(keeper=object()), idempotency=_idem())
    with pytest.raises(ValueError, match="unknown purchase strategy"):
        make_purchase_strategy(cast(Any, "optimistic"), steps=_steps(), idempotency=_idem())


class Recording:
    """A strategy of the test's own: the service hands it every checked request."""

    name: Any = "sql"

    def __init__(self, *, sold_out: bool = False) -> None:
        self.requests: list[PurchaseRequest] = []
        self.closed = False
        self.sold_out = sold_out

    async def buy(self, request: PurchaseRequest) -> PurchaseOutcome:
        self.requests.append(request)
        if self.sold_out:
            raise InsufficientStockError("none left", details={"available": 0})
        receipt = PurchaseReceipt(
            "pur_1", request.product.id, request.quantity, Decimal("2.50"), Decimal("5.00"), 3, AT
        )
        return PurchaseOutcome(receipt)

    async def aclose(self) -> None:
        self.closed = True


class Products:
    async def get_or_raise(self, *, product_id: int) -> ProductRecord:
        assert product_id == PRODUCT.id
        return PRODUCT


async def test_the_service_calls_its_strategy_without_looking_at_a_name() -> None:
    strategy = Recording()
    checked: PurchaseStrategy = strategy  # the Protocol is all the service needs
    service = PurchaseService(
        strategy=checked, products=cast(Any, Products()), purchases=cast(Any, object())
    )
    outcome = await service.purchase(
        principal=BUYER, product_id=7, quantity=2, idempotency_key="k1"
    )
    assert outcome.receipt.total_price == Decimal("5.00") and not outcome.replayed
    [request] = strategy.requests
    assert (request.product, request.user_id, request.quantity, request.key) == (
        PRODUCT,
        "u1",
        2,
        "k1",
    )
    assert request.digest  # a key's digest is computed once, before the strategy runs
    await service.aclose()
    assert strategy.closed


async def test_a_strategys_refusal_reaches_the_caller() -> None:
    strategy = Recording(sold_out=True)
    service = PurchaseService(
        strategy=strategy, products=cast(Any, Products()), purchases=cast(Any, object())
    )
    with pytest.raises(InsufficientStockError):
        await service.purchase(principal=BUYER, product_id=7, quantity=1)
    assert strategy.requests[0].key is None and strategy.requests[0].digest == ""
