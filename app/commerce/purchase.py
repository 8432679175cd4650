"""Purchases: exactly-once, never oversold, with three interchangeable stock strategies.

- ``lua`` (default with Redis): one Lua script checks and reserves (idempotency, sale window,
  per-user limit, stock, decrement, reservation, event); the row is written durably by the
  group-commit batcher; then the reservation is confirmed. A failed insert gives the units back.
- ``lock`` (comparison): the pessimistic flow — product lock, read, decrement, insert, unlock.
- ``sql`` (embedded default): conditional ``UPDATE … WHERE stock >= :q`` and the insert in one
  transaction, many purchases per transaction.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any, Literal

from app.commerce.batcher import GroupCommitter
from app.commerce.idempotency import (
    KvIdempotency,
    check_key,
    fingerprint,
    key_digest,
)
from app.commerce.metrics import COMPENSATIONS, PURCHASES, UNITS_SOLD
from app.commerce.products import ProductService
from app.commerce.repository import (
    BuyRequest,
    BuyResult,
    DuplicatePurchase,
    ProductRecord,
    PurchaseRecord,
    PurchaseRepository,
    Reservation,
    StockReply,
    StockStore,
    StockStoreUnavailable,
)
from app.commerce.stock import StockKeeper
from app.platform.errors import (
    IdempotencyInFlightError,
    IdempotencyKeyReusedError,
    InsufficientStockError,
    PermissionDeniedError,
    ProductNotFoundError,
    PurchaseLimitReachedError,
    PurchaseNotFoundError,
    PurchaseNotRecordedError,
    SaleNotActiveError,
    StockStoreUnavailableError,
    ValidationFailedError,
)
from app.platform.ids import RandomHex
from app.platform.logging import get_logger
from app.platform.metrics import METRICS_BUFFER
from app.platform.principal import Principal
from app.platform.storage.locks.manager import LockManager

Strategy = Literal["lua", "lock", "sql"]

_log = get_logger("app.commerce.purchase")
_CENT = Decimal("0.01")


_purchase_hex = RandomHex(size=12)


def new_purchase_id() -> str:
    """A random, unguessable purchase id (it doubles as the reservation id)."""
    return "pur_" + _purchase_hex()


@dataclass(frozen=True, slots=True)
class PurchaseReceipt:
    """The answer to a successful purchase (stored as-is for Idempotency-Key replays)."""

    purchase_id: str
    product_id: int
    quantity: int
    unit_price: Decimal
    total_price: Decimal
    remaining_stock: int
    purchased_at: datetime

    def to_json(self) -> str:
        """Compact JSON; money as strings with two places."""
        return json.dumps(
            {
                "purchase_id": self.purchase_id,
                "product_id": self.product_id,
                "quantity": self.quantity,
                "unit_price": str(self.unit_price),
                "total_price": str(self.total_price),
                "remaining_stock": self.remaining_stock,
                "purchased_at": self.purchased_at.isoformat(),
            },
            separators=(",", ":"),
        )

    @classmethod
    def from_json(cls, text: str) -> PurchaseReceipt:
        """Read back what `to_json` wrote."""
        data: dict[str, Any] = json.loads(text)
        return cls(
            purchase_id=str(data["purchase_id"]),
            product_id=int(data["product_id"]),
            quantity=int(data["quantity"]),
            unit_price=Decimal(data["unit_price"]),
            total_price=Decimal(data["total_price"]),
            remaining_stock=int(data["remaining_stock"]),
            purchased_at=datetime.fromisoformat(data["purchased_at"]),
        )

    @classmethod
    def from_record(cls, record: PurchaseRecord, *, remaining_stock: int) -> PurchaseReceipt:
        """A receipt rebuilt from the durable row (replay after the Redis record was lost)."""
        return cls(
            purchase_id=record.id,
            product_id=record.product_id,
            quantity=record.quantity,
            unit_price=record.unit_price,
            total_price=record.total_price,
            remaining_stock=remaining_stock,
            purchased_at=record.purchased_at,
        )


@dataclass(frozen=True, slots=True)
class PurchaseOutcome:
    """A receipt, and whether it is the replay of an earlier request with the same key."""

    receipt: PurchaseReceipt
    replayed: bool = False


@dataclass(frozen=True, slots=True)
class _Request:
    product: ProductRecord
    user_id: str
    quantity: int
    key: str | None
    fingerprint: str
    digest: str


class PurchaseService:
    """Buy, read and list purchases. Keyword-only; raises AppError subclasses only."""

    def __init__(
        self,
        *,
        strategy: Strategy,
        products: ProductService,
        purchases: PurchaseRepository,
        idempotency: KvIdempotency,
        keeper: StockKeeper | None = None,
        locks: LockManager | None = None,
        reservation_ttl_s: float = 30.0,
        idempotency_ttl_s: float = 86_400,
        max_quantity: int = 100,
        batch_max: int = 128,
        batch_window_ms: float = 0.0,
        lock_ttl_ms: int = 5000,
        lock_wait_ms: int = 2000,
        clock: Callable[[], datetime] | None = None,
    ) -> None:
        if strategy in ("lua", "lock") and keeper is None:
            raise ValueError(f"strategy {strategy} needs a stock store")
        if strategy == "lock" and locks is None:
            raise ValueError("strategy lock needs a lock manager")
        self.strategy: Strategy = strategy
        self._products = products
        self._purchases = purchases
        self._idem = idempotency
        self._keeper = keeper
        self._locks = locks
        self._ttl_ms = int(reservation_ttl_s * 1000)
        self._idem_ttl_ms = int(idempotency_ttl_s * 1000)
        self._max_quantity = max_quantity
        self._lock_ttl_ms = lock_ttl_ms
        self._lock_wait_ms = lock_wait_ms
        self._clock = clock or (lambda: datetime.now(UTC))
        self._inserts: GroupCommitter[PurchaseRecord, None] = GroupCommitter(
            write_many=self._insert_rows,
            max_batch=batch_max,
            window_s=batch_window_ms / 1000,
            name="purchases",
        )
        self._sql_buys: GroupCommitter[BuyRequest, BuyResult] = GroupCommitter(
            write_many=self._purchases.buy_many,
            max_batch=batch_max,
            window_s=batch_window_ms / 1000,
            name="sql_purchases",
        )
        # Strong references: a task that only the event loop knows may be garbage collected.
        self._settling: set[asyncio.Task[Any]] = set()
        self._strategy_label = (strategy,)

    def _count(self, outcome: str) -> None:
        # Tallied in-process and written once a second: a multiprocess counter's inc() is an
        # mmap write per call, on every attempt of a flash sale.
        METRICS_BUFFER.count(PURCHASES, (self.strategy, outcome))

    @property
    def _store(self) -> StockStore:
        assert self._keeper is not None
        return self._keeper.store

    async def _insert_rows(self, rows: Sequence[PurchaseRecord]) -> list[None]:
        await self._purchases.insert_many(rows)
        return [None] * len(rows)

    async def aclose(self) -> None:
        """Let purchases in progress finish and write every queued row."""
        if self._settling:
            await asyncio.wait(set(self._settling), timeout=10)
        await self._inserts.aclose()
        await self._sql_buys.aclose()

    # --- buying ---------------------------------------------------------------------------
    async def purchase(
        self,
        *,
        principal: Principal,
        product_id: int,
        quantity: int,
        idempotency_key: str | None = None,
    ) -> PurchaseOutcome:
        """Buy `quantity` units for the caller, exactly once per Idempotency-Key."""
        key = check_key(idempotency_key)
        if not 1 <= quantity <= self._max_quantity:
            raise ValidationFailedError(
                f"quantity: must be between 1 and {self._max_quantity}",
                details=[{"field": "quantity", "message": "out of range", "type": "range"}],
            )
        product = await self._products.get_or_raise(product_id=product_id)
        request = _Request(
            product=product,
            user_id=principal.user_id,
            quantity=quantity,
            key=key,
            fingerprint=fingerprint(product_id=product_id, quantity=quantity),
            digest=key_digest(user_id=principal.user_id, key=key) if key else "",
        )
        try:
            if self.strategy == "lua":
                outcome = await self._buy_lua(request)
            elif self.strategy == "lock":
                outcome = await self._buy_with_kv_idempotency(request, self._buy_lock)
            else:
                outcome = await self._buy_with_kv_idempotency(request, self._buy_sql)
        except Exception as exc:
            self._count(str(getattr(exc, "code", "error")).lower())
            raise
        if outcome.replayed:
            self._count("replayed")
        else:
            self._count("sold")
            METRICS_BUFFER.count(UNITS_SOLD, self._strategy_label, quantity)
        return outcome

    def _record(self, request: _Request, purchase_id: str, at: datetime) -> PurchaseRecord:
        price = request.product.price
        return PurchaseRecord(
            id=purchase_id,
            product_id=request.product.id,
            user_id=request.user_id,
            quantity=request.quantity,
            unit_price=price,
            total_price=(price * request.quantity).quantize(_CENT),
            idempotency_key=request.key,
            purchased_at=at,
        )

    def _check_window(self, product: ProductRecord, now: datetime) -> None:
        if (product.starts_at is not None and now < product.starts_at) or (
            product.ends_at is not None and now >= product.ends_at
        ):
            raise _not_active(product)

    async def _rehydrate_or_404(self, product_id: int) -> None:
        assert self._keeper is not None
        try:
            found = await self._keeper.rehydrate(product_id)
        except StockStoreUnavailable as exc:
            # Redis went away between the MISSING answer and the rebuild (e.g. mid-restart).
            raise StockStoreUnavailableError(
                "The stock store is not answering; nothing was sold. Retry shortly.",
                headers={"Retry-After": "1"},
            ) from exc
        if found is None:
            raise ProductNotFoundError(f"Product {product_id} was not found.")

    # --- lua ------------------------------------------------------------------------------
    async def _buy_lua(self, request: _Request) -> PurchaseOutcome:
        now = self._clock()
        now_ms = _ms(now)
        reservation = Reservation(
            purchase_id=new_purchase_id(),
            product_id=request.product.id,
            user_id=request.user_id,
            quantity=request.quantity,
            expires_at_ms=now_ms + self._ttl_ms,
            idempotency_hash=request.digest,
        )
        reply = await self._reserve(reservation, request, now_ms)
        status = reply.status
        if status == "REPLAY":
            return PurchaseOutcome(PurchaseReceipt.from_json(reply.values[0]), replayed=True)
        if status != "OK":
            raise _rejection(reply, request)
        record = self._record(request, reservation.purchase_id, now)
        # Past this point units are reserved: the rest must run to the end even if the client
        # goes away, or the units would wait for the reconciler instead of being settled now.
        return await self._shielded(
            self._settle_lua(request, reservation, record, remaining=int(reply.values[0]))
        )

    async def _reserve(
        self, reservation: Reservation, request: _Request, now_ms: int
    ) -> StockReply:
        for _ in range(3):
            try:
                reply = await self._store.reserve(
                    reservation=reservation,
                    fingerprint=request.fingerprint,
                    now_ms=now_ms,
                    in_flight_ttl_ms=self._ttl_ms,
                )
            except StockStoreUnavailable as exc:
                raise StockStoreUnavailableError(
                    "The stock store is not answering; nothing was sold. Retry shortly.",
                    headers={"Retry-After": "1"},
                ) from exc
            if reply.status != "MISSING":
                return reply
            await self._rehydrate_or_404(reservation.product_id)
        raise StockStoreUnavailableError(
            "The product's stock could not be loaded; nothing was sold. Retry shortly.",
            headers={"Retry-After": "1"},
        )

    async def _shielded(self, work: Any) -> PurchaseOutcome:
        task: asyncio.Task[PurchaseOutcome] = asyncio.get_running_loop().create_task(work)
        self._settling.add(task)
        task.add_done_callback(self._settling.discard)
        return await asyncio.shield(task)

    async def _settle_lua(
        self,
        request: _Request,
        reservation: Reservation,
        record: PurchaseRecord,
        *,
        remaining: int,
    ) -> PurchaseOutcome:
        loop = asyncio.get_running_loop()
        # A row may only start its transaction in the first half of the reservation's life, so
        # it commits long before the reconciler may treat the reservation as abandoned.
        deadline = loop.time() + self._ttl_ms / 2000
        try:
            await self._inserts.submit(record, deadline=deadline)
        except DuplicatePurchase:
            await self._release(reservation, reason="release")
            replay = await self._replay_from_sql(request)
            if replay is not None:
                return replay
            raise PurchaseNotRecordedError(
                "The purchase could not be recorded; the units went back to stock. Retry."
            ) from None
        except Exception as exc:
            _log.warning(
                "purchase_insert_failed",
                product_id=record.product_id,
                purchase_id=record.id,
                error=type(exc).__name__,
            )
            await self._release(reservation, reason="release")
            raise PurchaseNotRecordedError(
                "The purchase could not be recorded; the units went back to stock. Retry.",
                headers={"Retry-After": "1"},
            ) from None
        receipt = PurchaseReceipt.from_record(record, remaining_stock=remaining)
        await self._confirm(reservation, request, receipt)
        return PurchaseOutcome(receipt)

    async def _replay_from_sql(self, request: _Request) -> PurchaseOutcome | None:
        """The unique (product, user, key) fired: answer with the purchase already made."""
        if request.key is None:
            return None
        existing = await self._purchases.get_by_idempotency_key(
            product_id=request.product.id, user_id=request.user_id, key=request.key
        )
        if existing is None:
            return None
        if existing.quantity != request.quantity:
            raise IdempotencyKeyReusedError(
                "This Idempotency-Key was already used with a different request body."
            )
        remaining = await self._current_stock(request.product.id)
        return PurchaseOutcome(
            PurchaseReceipt.from_record(existing, remaining_stock=remaining), replayed=True
        )

    async def _current_stock(self, product_id: int) -> int:
        if self._keeper is None:
            return (await self._products.fresh(product_id=product_id)).stock
        try:
            level = (await self._store.levels([product_id])).get(product_id)
        except StockStoreUnavailable:
            return 0
        return 0 if level is None else level.stock

    async def _release(self, reservation: Reservation, *, reason: str) -> None:
        """Give reserved units back; if Redis cannot be reached the reconciler will, on expiry."""
        for _ in range(2):
            try:
                reply = await self._store.release(
                    product_id=reservation.product_id,
                    purchase_id=reservation.purchase_id,
                    idempotency_hash=reservation.idempotency_hash,
                    now_ms=_ms(self._clock()),
                    reason=reason,
                )
                if reply.status != "MISSING":
                    return
                # The stock key is gone but the reservation is not: rebuild, then release.
                if self._keeper is not None:
                    await self._keeper.rehydrate(reservation.product_id)
            except StockStoreUnavailable:
                _log.warning(
                    "release_deferred_to_reconciler",
                    product_id=reservation.product_id,
                    purchase_id=reservation.purchase_id,
                )
                return

    async def _confirm(
        self, reservation: Reservation, request: _Request, receipt: PurchaseReceipt
    ) -> None:
        """Settle the reservation; undo the row if the units cannot be accounted for."""
        assert self._keeper is not None
        delay = 0.05
        for _attempt in range(8):
            try:
                reply = await self._store.confirm(
                    reservation=reservation,
                    now_ms=_ms(self._clock()),
                    fingerprint=request.fingerprint,
                    response_json=receipt.to_json(),
                    idempotency_ttl_ms=self._idem_ttl_ms,
                )
                if reply.status == "MISSING":
                    # Redis lost the key (restarted empty): rebuild it, then confirm again. The
                    # rebuild may hit the same restart, so it shares the confirm's backoff.
                    await self._keeper.rehydrate(reservation.product_id)
                    continue
            except StockStoreUnavailable:
                await asyncio.sleep(delay)
                delay = min(delay * 2, 1.0)
                continue
            if reply.status in ("CONFIRMED", "COUNTED"):
                return
            if reply.status == "RETAKEN":
                _log.warning(
                    "reservation_lost_units_retaken",
                    product_id=reservation.product_id,
                    purchase_id=reservation.purchase_id,
                )
                return
            if reply.status == "OVERSOLD":
                # The reservation was lost (Redis restarted empty) and its units were sold again
                # meanwhile: this row would be a second sale of the same unit. Undo it.
                await self._compensate(reservation, reason="oversold")
                raise PurchaseNotRecordedError(
                    "The stock changed while this purchase was recorded; it was not completed. "
                    "Retry.",
                )
        await self._compensate(reservation, reason="stock_store_unreachable")
        raise PurchaseNotRecordedError(
            "The stock store did not answer, so the purchase was undone; nothing was sold.",
            headers={"Retry-After": "1"},
        )

    async def _compensate(self, reservation: Reservation, *, reason: str) -> None:
        COMPENSATIONS.labels(reason).inc()
        try:
            await self._purchases.delete(reservation.purchase_id)
        except Exception:
            _log.exception(
                "compensation_failed",
                product_id=reservation.product_id,
                purchase_id=reservation.purchase_id,
            )
            raise
        _log.warning(
            "purchase_compensated",
            product_id=reservation.product_id,
            purchase_id=reservation.purchase_id,
            reason=reason,
        )

    # --- idempotency for the lock and sql strategies -------------------------------------
    async def _buy_with_kv_idempotency(
        self, request: _Request, buy: Callable[[_Request], Any]
    ) -> PurchaseOutcome:
        if request.key is None:
            outcome: PurchaseOutcome = await buy(request)
            return outcome
        stored = await self._idem.begin(
            product_id=request.product.id, digest=request.digest, fingerprint=request.fingerprint
        )
        if stored is not None:
            return PurchaseOutcome(PurchaseReceipt.from_json(stored), replayed=True)
        try:
            outcome = await buy(request)
        except BaseException:
            await self._idem.abandon(product_id=request.product.id, digest=request.digest)
            raise
        await self._idem.complete(
            product_id=request.product.id,
            digest=request.digest,
            fingerprint=request.fingerprint,
            response_json=outcome.receipt.to_json(),
        )
        return outcome

    # --- sql ------------------------------------------------------------------------------
    async def _buy_sql(self, request: _Request) -> PurchaseOutcome:
        now = self._clock()
        self._check_window(request.product, now)
        record = self._record(request, new_purchase_id(), now)
        limit = request.product.per_user_limit
        try:
            result = await self._sql_buys.submit(BuyRequest(purchase=record, per_user_limit=limit))
        except DuplicatePurchase:
            replay = await self._replay_from_sql(request)
            if replay is not None:
                return replay
            raise PurchaseNotRecordedError("The purchase could not be recorded. Retry.") from None
        except Exception as exc:
            _log.warning(
                "sql_purchase_failed", product_id=record.product_id, error=type(exc).__name__
            )
            raise PurchaseNotRecordedError(
                "The purchase could not be recorded; nothing was sold. Retry.",
                headers={"Retry-After": "1"},
            ) from None
        if result.outcome == "ok":
            return PurchaseOutcome(
                PurchaseReceipt.from_record(record, remaining_stock=result.stock)
            )
        if result.outcome == "duplicate" and result.existing is not None:
            if result.existing.quantity != request.quantity:
                raise IdempotencyKeyReusedError(
                    "This Idempotency-Key was already used with a different request body."
                )
            stock = await self._current_stock(request.product.id)
            return PurchaseOutcome(
                PurchaseReceipt.from_record(result.existing, remaining_stock=stock), replayed=True
            )
        if result.outcome == "limit":
            raise _limit(request.product, result.already_bought)
        raise _insufficient(request.product, result.stock, request.quantity)

    # --- lock -----------------------------------------------------------------------------
    async def _buy_lock(self, request: _Request) -> PurchaseOutcome:
        assert self._locks is not None and self._keeper is not None
        product = request.product
        async with self._locks.hold(
            f"purchase:{product.id}", ttl_ms=self._lock_ttl_ms, wait_ms=self._lock_wait_ms
        ) as lease:
            now = self._clock()
            self._check_window(product, now)
            try:
                stock, bought, limit = await self._store.peek(
                    product_id=product.id, user_id=request.user_id
                )
                if stock is None:
                    await self._rehydrate_or_404(product.id)
                    stock, bought, limit = await self._store.peek(
                        product_id=product.id, user_id=request.user_id
                    )
            except StockStoreUnavailable as exc:
                raise StockStoreUnavailableError(headers={"Retry-After": "1"}) from exc
            if stock is None:
                raise StockStoreUnavailableError(headers={"Retry-After": "1"})
            if limit > 0 and bought + request.quantity > limit:
                raise _limit(product, bought)
            if stock < request.quantity:
                raise _insufficient(product, stock, request.quantity)
            reservation = Reservation(
                purchase_id=new_purchase_id(),
                product_id=product.id,
                user_id=request.user_id,
                quantity=request.quantity,
                expires_at_ms=_ms(now) + self._ttl_ms,
            )
            try:
                reply = await self._store.take(
                    reservation=reservation, now_ms=_ms(now), fencing_token=lease.fencing_token
                )
            except StockStoreUnavailable as exc:
                raise StockStoreUnavailableError(headers={"Retry-After": "1"}) from exc
            if reply.status != "OK":
                raise _insufficient(product, int(reply.values[0]) if reply.values else 0, 1)
            record = self._record(request, reservation.purchase_id, now)
            return await self._shielded(
                self._settle_lock(request, reservation, record, remaining=int(reply.values[0]))
            )

    async def _settle_lock(
        self,
        request: _Request,
        reservation: Reservation,
        record: PurchaseRecord,
        *,
        remaining: int,
    ) -> PurchaseOutcome:
        try:
            # The original design: one insert, one commit, while the lock is held.
            await self._purchases.insert_many([record])
        except Exception as exc:
            _log.warning(
                "purchase_insert_failed", product_id=record.product_id, error=type(exc).__name__
            )
            await self._release(reservation, reason="release")
            if isinstance(exc, DuplicatePurchase):
                replay = await self._replay_from_sql(request)
                if replay is not None:
                    return replay
            raise PurchaseNotRecordedError(
                "The purchase could not be recorded; the units went back to stock. Retry.",
                headers={"Retry-After": "1"},
            ) from None
        receipt = PurchaseReceipt.from_record(record, remaining_stock=remaining)
        await self._confirm(reservation, request, receipt)
        return PurchaseOutcome(receipt)

    # --- reading --------------------------------------------------------------------------
    async def get_or_raise(self, *, principal: Principal, purchase_id: str) -> PurchaseRecord:
        """The purchase; 404 when unknown or someone else's (unless the caller is an admin)."""
        record = await self._purchases.get(purchase_id)
        if record is None or (not principal.is_admin and record.user_id != principal.user_id):
            raise PurchaseNotFoundError(f"Purchase '{purchase_id}' was not found.")
        return record

    async def list(
        self,
        *,
        principal: Principal,
        user_id: str | None = None,
        product_id: int | None = None,
        limit: int = 50,
        offset: int = 0,
    ) -> list[PurchaseRecord]:
        """The caller's purchases; admins see everyone's and may filter by user."""
        if not principal.is_admin:
            if user_id is not None and user_id != principal.user_id:
                raise PermissionDeniedError("Only admins may list other users' purchases.")
            user_id = principal.user_id
        return await self._purchases.list_page(
            user_id=user_id, product_id=product_id, limit=limit, offset=offset
        )


def _ms(value: datetime) -> int:
    return int(value.timestamp() * 1000)


def _not_active(product: ProductRecord) -> SaleNotActiveError:
    return SaleNotActiveError(
        f"Product {product.id} is not on sale right now.",
        details={
            "starts_at": product.starts_at.isoformat() if product.starts_at else None,
            "ends_at": product.ends_at.isoformat() if product.ends_at else None,
        },
    )


def _limit(product: ProductRecord, bought: int) -> PurchaseLimitReachedError:
    return PurchaseLimitReachedError(
        f"At most {product.per_user_limit} unit(s) of product {product.id} per buyer.",
        details={"per_user_limit": product.per_user_limit, "already_bought": bought},
    )


def _insufficient(product: ProductRecord, available: int, requested: int) -> InsufficientStockError:
    return InsufficientStockError(
        f"Only {available} unit(s) of product {product.id} left.",
        details={"available": max(available, 0), "requested": requested},
    )


def _rejection(reply: StockReply, request: _Request) -> Exception:
    status, values = reply.status, reply.values
    if status == "INSUFFICIENT":
        return _insufficient(request.product, int(values[0]), request.quantity)
    if status == "LIMIT":
        return _limit(request.product, int(values[0]))
    if status == "NOT_ACTIVE":
        return _not_active(request.product)
    if status == "IDEM_MISMATCH":
        return IdempotencyKeyReusedError(
            "This Idempotency-Key was already used with a different request body."
        )
    if status == "IDEM_IN_FLIGHT":
        return IdempotencyInFlightError(
            "The first request with this Idempotency-Key is still being processed.",
            headers={"Retry-After": "1"},
        )
    return StockStoreUnavailableError(f"Unexpected stock store answer {status}.")
