"""The commerce area's store Protocols and records: products, purchases, stock events and
the stock store."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import Protocol


@dataclass(frozen=True, slots=True)
class NewProduct:
    """A product to create; its stock starts at `initial_stock`."""

    name: str
    price: Decimal
    initial_stock: int
    per_user_limit: int | None
    starts_at: datetime | None
    ends_at: datetime | None
    created_at: datetime


@dataclass(frozen=True, slots=True)
class ProductRecord:
    """A stored product. `stock` is live only under the SQL strategy (Redis holds it otherwise)."""

    id: int
    name: str
    price: Decimal
    initial_stock: int
    restocked: int
    stock: int
    per_user_limit: int | None
    starts_at: datetime | None
    ends_at: datetime | None
    created_at: datetime


@dataclass(frozen=True, slots=True)
class PurchaseRecord:
    """One durable purchase; `id` is chosen before the stock is reserved (the reservation id)."""

    id: str
    product_id: int
    user_id: str
    quantity: int
    unit_price: Decimal
    total_price: Decimal
    idempotency_key: str | None
    purchased_at: datetime


@dataclass(frozen=True, slots=True)
class StockLedger:
    """SQL's account of one product: what the stock must be, and what it was made of."""

    product: ProductRecord
    sold: int
    restock_ids: list[int]
    # Per buyer; filled only when asked (products with a per-user limit).
    sold_by_user: dict[str, int]
    # Purchases made since the asked-for instant: ids a stock rebuild counts as settled.
    recent_purchase_ids: list[str]

    @property
    def available(self) -> int:
        """initial + restocks − Σ purchases (before subtracting live reservations)."""
        return self.product.initial_stock + self.product.restocked - self.sold


@dataclass(frozen=True, slots=True)
class StockEvent:
    """One entry of the stock event log (a Redis Stream entry or a `stock_events` row)."""

    id: str
    product_id: int
    kind: str
    delta: int
    stock_after: int | None
    purchase_id: str | None
    user_id: str | None
    created_at: datetime


@dataclass(frozen=True, slots=True)
class BuyRequest:
    """One purchase to check against the stored stock and the user's limit, and record."""

    purchase: PurchaseRecord
    per_user_limit: int | None


@dataclass(frozen=True, slots=True)
class BuyResult:
    """How one `buy_many` purchase went: `ok`, `insufficient`, `limit` or `duplicate`."""

    outcome: str
    stock: int = 0
    already_bought: int = 0
    existing: PurchaseRecord | None = None


class ProductRepository(Protocol):
    """Durable products and their restock ledger."""

    async def create(self, product: NewProduct) -> ProductRecord:
        """Insert a product with `stock = initial_stock`; its new id is in the record."""

    async def get(self, product_id: int) -> ProductRecord | None:
        """The product, or None."""

    async def get_many(self, product_ids: Sequence[int]) -> dict[int, ProductRecord]:
        """The products that exist among `product_ids`, by id."""

    async def list_page(self, *, limit: int, offset: int) -> list[ProductRecord]:
        """Products in id order."""

    async def all_ids(self) -> list[int]:
        """Every product id (the reconciler walks them)."""

    async def add_restock(
        self, *, product_id: int, quantity: int, created_by: str | None, created_at: datetime
    ) -> tuple[int, ProductRecord] | None:
        """Record a restock and raise `restocked` and `stock` in one transaction; the restock id
        and the updated product, or None for an unknown product."""

    async def ledger(
        self, product_id: int, *, recent_since: datetime, per_user: bool
    ) -> StockLedger | None:
        """Everything a stock rebuild needs, read in one transaction; None for unknown ids."""

    async def recount_stock(self, product_id: int) -> tuple[int, int] | None:
        """Recount the stored stock: in one transaction that holds the product row, compute
        `initial + restocks − Σ purchases` and write it to the stock column if it differs;
        (expected, old stock), or None for an unknown product."""


class DuplicatePurchase(Exception):
    """The row broke a unique key: same id, or same (product, user, Idempotency-Key)."""


class PurchaseRepository(Protocol):
    """Durable purchases. Inserts are grouped: many rows, one transaction."""

    async def insert_many(self, purchases: Sequence[PurchaseRecord]) -> None:
        """Insert every row in one transaction, or none (IntegrityError on a duplicate key)."""

    async def buy_many(
        self, requests: Sequence[BuyRequest], *, events: bool = True
    ) -> list[BuyResult]:
        """Buy against the stored stock: per request take the stock if enough is left, check the
        user's limit and record the purchase (plus a stock event), all in one transaction."""

    async def get(self, purchase_id: str) -> PurchaseRecord | None:
        """The purchase, or None."""

    async def get_by_idempotency_key(
        self, *, product_id: int, user_id: str, key: str
    ) -> PurchaseRecord | None:
        """The purchase this user made for this product with this Idempotency-Key, or None."""

    async def list_page(
        self, *, user_id: str | None, product_id: int | None, limit: int, offset: int
    ) -> list[PurchaseRecord]:
        """Purchases matching every given filter, newest first."""

    async def existing_ids(self, purchase_ids: Sequence[str]) -> set[str]:
        """Which of `purchase_ids` have a row."""

    async def delete(self, purchase_id: str) -> bool:
        """Remove a row (compensation when the stock could not be settled); True if it existed."""


class StockEventLog(Protocol):
    """The stock event log of the SQL strategy (Redis keeps it in a Stream)."""

    async def append(self, events: Sequence[StockEvent]) -> None:
        """Add events (their `id` is assigned by the store)."""

    async def recent(
        self, *, product_id: int | None, limit: int, before: str | None = None
    ) -> list[StockEvent]:
        """Newest first; `before` pages back from an event id."""


@dataclass(frozen=True, slots=True)
class StockReply:
    """What a stock script answered: a status word (`OK`, `MISSING`, …) and its values."""

    status: str
    values: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class Reservation:
    """Units taken from the stock for a purchase whose SQL row is not settled yet."""

    purchase_id: str
    product_id: int
    user_id: str
    quantity: int
    expires_at_ms: int
    idempotency_hash: str = ""


@dataclass(frozen=True, slots=True)
class StockLevel:
    """A product's stock as the stock store sees it."""

    product_id: int
    stock: int
    initial: int
    restocked: int
    reserved: int


@dataclass(frozen=True, slots=True)
class StockSnapshot:
    """Stock, version and live reservations of one product, read atomically."""

    stock: int | None
    version: str
    reservations: list[Reservation]


class StockStoreUnavailable(Exception):
    """The stock store did not answer (connection refused, timeout, still loading)."""


class StockStore(Protocol):
    """Live stock in Redis, changed only by Lua scripts (one slot per product). The SQL
    strategy is its embedded twin: there the stock is a column of `products`."""

    async def reserve(
        self,
        *,
        reservation: Reservation,
        fingerprint: str,
        now_ms: int,
        in_flight_ttl_ms: int,
    ) -> StockReply:
        """Idempotency, window, limit, stock check, decrement, reservation, event: one step.
        Statuses: OK(stock) MISSING NOT_ACTIVE LIMIT(bought, limit) INSUFFICIENT(stock)
        IDEM_MISMATCH IDEM_IN_FLIGHT REPLAY(response JSON)."""

    async def confirm(
        self,
        *,
        reservation: Reservation,
        now_ms: int,
        fingerprint: str,
        response_json: str,
        idempotency_ttl_ms: int,
    ) -> StockReply:
        """Settle a reservation whose row is committed: CONFIRMED | COUNTED | RETAKEN |
        OVERSOLD(stock) | MISSING | CANCELLED (voided meanwhile)."""

    async def release(
        self,
        *,
        product_id: int,
        purchase_id: str,
        idempotency_hash: str,
        now_ms: int,
        reason: str,
        cancel_until_ms: int = 0,
    ) -> StockReply:
        """Give a reservation's units back once: RELEASED(stock) | GONE | MISSING; with
        `cancel_until_ms`, one not made yet is refused until then instead: CANCELLED."""

    async def void(
        self, *, reservation: Reservation, now_ms: int, cancel_until_ms: int
    ) -> StockReply:
        """The purchase's row was deleted: refuse its reserve and confirm until
        `cancel_until_ms`, and give back the units its reservation or a confirm that ran late
        still holds: RELEASED(stock) | CANCELLED | MISSING."""

    async def take(
        self, *, reservation: Reservation, now_ms: int, fencing_token: int
    ) -> StockReply:
        """Lock strategy: decrement and reserve (the caller holds the product lock)."""

    async def peek(self, *, product_id: int, user_id: str) -> tuple[int | None, int, int]:
        """Lock strategy: (stock or None when missing, units this user bought, per-user limit)."""

    async def restock(
        self, *, product_id: int, restock_id: int, quantity: int, now_ms: int
    ) -> StockReply:
        """Add a restock once: OK(stock) | DUPLICATE(stock) | MISSING."""

    async def rehydrate(self, ledger: StockLedger, *, now_ms: int) -> StockReply:
        """Load the stock from SQL's ledger unless present: OK(stock, live, short) | EXISTS."""

    async def levels(self, product_ids: Sequence[int]) -> dict[int, StockLevel | None]:
        """Stock levels of many products in one round trip (None where not loaded)."""

    async def snapshot(self, product_id: int) -> StockSnapshot:
        """Stock, version and reservations in one atomic read."""

    async def repair(self, *, product_id: int, version: str, stock: int, now_ms: int) -> StockReply:
        """Set the stock if the version is still `version`: REPAIRED(old) | SAME | BUSY | MISSING."""

    async def events(
        self, *, product_id: int, limit: int, before: str | None = None
    ) -> list[StockEvent]:
        """The product's stock events, newest first."""
