"""Request and response bodies of products, inventory and purchases.

Money is a decimal string with two places ("19.99") in responses; requests accept a string or a
number with at most two decimal places. Timestamps are ISO 8601 in UTC.
"""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal
from typing import Annotated, Any

from pydantic import BaseModel, ConfigDict, Field, StrictInt, field_validator, model_validator

MAX_SQL_INT = 2_147_483_647
ProductId = Annotated[int, Field(ge=1, le=MAX_SQL_INT)]


def _utc(value: datetime | None) -> datetime | None:
    if value is None:
        return None
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


class _Request(BaseModel):
    model_config = ConfigDict(extra="forbid")


# --- products ----------------------------------------------------------------------------
class ProductCreate(_Request):
    """A new product (admin only)."""

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "name": "Limited sneakers",
                    "price": "19.99",
                    "initial_stock": 100,
                    "per_user_limit": 2,
                    "starts_at": "2026-01-15T10:00:00Z",
                    "ends_at": "2026-01-15T12:00:00Z",
                }
            ]
        }
    )

    name: str = Field(min_length=1, max_length=200)
    price: Decimal = Field(gt=0, max_digits=12, decimal_places=2, description='e.g. "19.99"')
    initial_stock: StrictInt = Field(ge=0, le=1_000_000_000)
    per_user_limit: StrictInt | None = Field(default=None, ge=1, le=1_000_000)
    starts_at: datetime | None = Field(default=None, description="Sale opens (UTC if no offset).")
    ends_at: datetime | None = Field(default=None, description="Sale closes (exclusive).")

    @field_validator("name")
    @classmethod
    def _strip_name(cls, value: str) -> str:
        value = value.strip()
        if not value:
            raise ValueError("must not be blank")
        return value

    @field_validator("price", mode="before")
    @classmethod
    def _no_bool_price(cls, value: Any) -> Any:
        if isinstance(value, bool):
            raise ValueError("must be a decimal number")
        return value

    @field_validator("starts_at", "ends_at")
    @classmethod
    def _as_utc(cls, value: datetime | None) -> datetime | None:
        return _utc(value)

    @model_validator(mode="after")
    def _window_order(self) -> ProductCreate:
        if self.starts_at and self.ends_at and self.ends_at <= self.starts_at:
            raise ValueError("ends_at must be after starts_at")
        return self


class ProductRead(BaseModel):
    """A product."""

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "id": 1,
                    "name": "Limited sneakers",
                    "price": "19.99",
                    "initial_stock": 100,
                    "per_user_limit": 2,
                    "starts_at": None,
                    "ends_at": None,
                    "created_at": "2026-01-15T09:00:00Z",
                }
            ]
        }
    )

    id: int
    name: str
    price: Decimal
    initial_stock: int
    per_user_limit: int | None
    starts_at: datetime | None
    ends_at: datetime | None
    created_at: datetime


class ProductList(BaseModel):
    """A page of products."""

    items: list[ProductRead]
    limit: int
    offset: int


# --- inventory ---------------------------------------------------------------------------
class InventoryRead(BaseModel):
    """A product's stock; `sold` = initial + restocked − stock (reserved units included)."""

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "product_id": 1,
                    "stock": 58,
                    "initial_stock": 100,
                    "restocked": 0,
                    "sold": 42,
                    "reserved": 1,
                }
            ]
        }
    )

    product_id: int
    stock: int
    initial_stock: int
    restocked: int
    sold: int
    reserved: int = Field(description="Units held by purchases not yet settled in SQL.")


class InventoryList(BaseModel):
    """Stock of several products; unknown ids are listed in `not_found`."""

    items: list[InventoryRead]
    not_found: list[int]


class RestockCreate(_Request):
    """Units to add (admin only)."""

    model_config = ConfigDict(json_schema_extra={"examples": [{"quantity": 50}]})

    quantity: StrictInt = Field(ge=1, le=1_000_000_000)


class StockEventRead(BaseModel):
    """One entry of the stock event log."""

    id: str
    product_id: int
    kind: str = Field(
        description="purchase | release | expire | retake | restock | rehydrate | reconcile"
    )
    delta: int
    stock_after: int | None
    purchase_id: str | None
    user_id: str | None
    created_at: datetime


class StockEventList(BaseModel):
    """Newest first; pass `before=<last id>` for the next page."""

    items: list[StockEventRead]


class ProductReconciliationRead(BaseModel):
    """What the reconciler found for one product."""

    product_id: int
    status: str = Field(description="ok | repaired | busy | rehydrated | unknown")
    expected: int | None
    actual: int | None
    drift: int = Field(description="actual − expected before the repair")
    rolled_back: int
    settled: int
    live_reservations: int


class ReconcileRead(BaseModel):
    """A reconciliation run."""

    strategy: str
    started_at: datetime
    duration_ms: float
    checked: int
    drifted: int
    repaired: int
    rolled_back: int
    busy: int
    products: list[ProductReconciliationRead]


# --- purchases ---------------------------------------------------------------------------
class PurchaseCreate(_Request):
    """How many units to buy."""

    model_config = ConfigDict(json_schema_extra={"examples": [{"quantity": 1}]})

    quantity: StrictInt = Field(ge=1, le=1_000_000)


class PurchaseReceiptRead(BaseModel):
    """A completed purchase (replayed as-is for a repeated Idempotency-Key)."""

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "purchase_id": "pur_5f0c1e9b2a7d4c3e8f6a1b2c",
                    "product_id": 1,
                    "quantity": 1,
                    "unit_price": "19.99",
                    "total_price": "19.99",
                    "remaining_stock": 57,
                    "purchased_at": "2026-01-15T10:00:00.123000Z",
                }
            ]
        }
    )

    purchase_id: str
    product_id: int
    quantity: int
    unit_price: Decimal
    total_price: Decimal
    remaining_stock: int
    purchased_at: datetime


class PurchaseRead(BaseModel):
    """A stored purchase."""

    purchase_id: str
    product_id: int
    user_id: str
    quantity: int
    unit_price: Decimal
    total_price: Decimal
    purchased_at: datetime


class PurchaseList(BaseModel):
    """A page of purchases, newest first."""

    items: list[PurchaseRead]
    limit: int
    offset: int
