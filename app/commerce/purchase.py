"""Purchases: exactly-once, never oversold, with three interchangeable stock strategies, each a
class behind the `PurchaseStrategy` Protocol, picked once by `make_purchase_strategy`.

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
from typing import Any, Literal, NoReturn, Protocol

from app.commerce.batcher import GroupCommitter
from app.commerce.followups import FollowUp, FollowUpQueue
from app.commerce.idempotency import (
    KvIdempotency,
    check_key,
    fingerprint,
    key_digest,
)
from app.commerce.metrics import (
    COMPENSATIONS,
    PRODUCT_STOCK,
    PRODUCT_UNITS_SOLD,
    PURCHASES,
    UNITS_SOLD,
)
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
class PurchaseRequest:
    """One purchase attempt, its product already read."""

    product: ProductRecord
    user_id: str
    quantity: int
    key: str | None
    fingerprint: str
    digest: str


class PurchaseStrategy(Protocol):
    """One way to take stock and record a purchase, exactly once and never oversold."""

    name: Strategy

    async def buy(self, request: PurchaseRequest) -> PurchaseOutcome:
        """Sell `request` (product checked to exist); raises AppError subclasses only."""
        ...

    async def aclose(self) -> None:
        """Let purchases in progress finish and write every queued row."""
        ...


class PurchaseSteps:
    """What the strategies share: the durable rows, the stock store and the settle steps."""

    def __init__(
        self,
        *,
        products: ProductService,
        purchases: PurchaseRepository,
        keeper: StockKeeper | None,
        reservation_ttl_s: float,
        idempotency_ttl_s: float,
        clock: Callable[[], datetime] | None = None,
    ) -> None:
        self.products = products
        self.purchases = purchases
        self.keeper = keeper
        self.ttl_ms = int(reservation_ttl_s * 1000)
        self.idem_ttl_ms = int(idempotency_ttl_s * 1000)
        self.clock = clock or (lambda: datetime.now(UTC))
        # Strong references: a task that only the event loop knows may be garbage collected.
        self.settling: set[asyncio.Task[Any]] = set()
        # Confirms and cancels a stall kept from the stock store, sent when it answers again.
        self.followups = FollowUpQueue(apply=self.follow_up)
        # How long a purchase keeps retrying its confirm before leaving it to the follow-ups.
        self.confirm_budget_s = 1.0

    @property
    def store(self) -> StockStore:
        """The live stock store (strategies that take stock in it have one)."""
        assert self.keeper is not None
        return self.keeper.store

    async def finish(self) -> None:
        """Wait (at most 10 s) for purchases past their reservation to settle, then send what
        the follow-ups still hold once."""
        if self.settling:
            await asyncio.wait(set(self.settling), timeout=10)
        await self.followups.aclose()

    def cancel_later(self, reservation: Reservation) -> None:
        """The store stalled on this reservation: give it back (or refuse it if its reserve
        call runs late) as soon as the store answers."""
        self.followups.add(FollowUp("cancel", reservation))

    async def follow_up(self, item: FollowUp) -> None:
        """Deliver one follow-up; raises StockStoreUnavailable while the store is not answering."""
        assert self.keeper is not None
        reservation = item.reservation
        for _ in range(3):
            now_ms = _ms(self.clock())
            if item.kind == "cancel":
                reply = await self.store.release(
                    product_id=reservation.product_id,
                    purchase_id=reservation.purchase_id,
                    idempotency_hash=reservation.idempotency_hash,
                    now_ms=now_ms,
                    reason="release",
                    cancel_until_ms=now_ms + self.ttl_ms,
                )
            elif item.kind == "void":
                reply = await self.store.void(
                    reservation=reservation, now_ms=now_ms, cancel_until_ms=now_ms + self.ttl_ms
                )
            else:
                reply = await self.store.confirm(
                    reservation=reservation,
                    now_ms=now_ms,
                    fingerprint=item.fingerprint,
                    response_json=item.response_json,
                    idempotency_ttl_ms=self.idem_ttl_ms,
                )
            if reply.status != "MISSING":
                break
            # The stock key is gone (Redis restarted empty): rebuild from SQL, then again.
            await self.keeper.rehydrate(reservation.product_id)
        _log.info(
            "stock_followup_delivered",
            kind=item.kind,
            product_id=reservation.product_id,
            purchase_id=reservation.purchase_id,
            status=reply.status,
        )
        if item.kind == "confirm" and reply.status == "OVERSOLD":
            # Only when neither store answered at confirm time, and Redis lost data meanwhile:
            # the buyer was told the outcome is unknown; no unit may be sold twice.
            await self.compensate(reservation, reason="oversold_after_stall")

    def record(self, request: PurchaseRequest, purchase_id: str, at: datetime) -> PurchaseRecord:
        """The durable row of this purchase."""
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

    @staticmethod
    def check_window(product: ProductRecord, now: datetime) -> None:
        """409 SALE_NOT_ACTIVE outside the product's sale window."""
        if (product.starts_at is not None and now < product.starts_at) or (
            product.ends_at is not None and now >= product.ends_at
        ):
            raise _not_active(product)

    async def rehydrate_or_404(self, product_id: int) -> None:
        """Rebuild the product's stock key; 404 when the product is gone."""
        assert self.keeper is not None
        try:
            found = await self.keeper.rehydrate(product_id)
        except StockStoreUnavailable as exc:
            # Redis went away between the MISSING answer and the rebuild (e.g. mid-restart).
            raise StockStoreUnavailableError(
                "The stock store is not answering; nothing was sold. Retry shortly.",
                headers={"Retry-After": "1"},
            ) from exc
        if found is None:
            raise ProductNotFoundError.missing(product_id, f"Product {product_id} was not found.")

    async def shielded(self, work: Any) -> PurchaseOutcome:
        """Run `work` to its end even if the caller goes away (units are reserved by then)."""
        task: asyncio.Task[PurchaseOutcome] = asyncio.get_running_loop().create_task(work)
        self.settling.add(task)
        task.add_done_callback(self.settling.discard)
        return await asyncio.shield(task)

    async def replay_from_sql(self, request: PurchaseRequest) -> PurchaseOutcome | None:
        """The unique (product, user, key) fired: answer with the purchase already made."""
        if request.key is None:
            return None
        existing = await self.purchases.get_by_idempotency_key(
            product_id=request.product.id, user_id=request.user_id, key=request.key
        )
        if existing is None:
            return None
        if existing.quantity != request.quantity:
            raise IdempotencyKeyReusedError(
                "This Idempotency-Key was already used with a different request body."
            )
        remaining = await self.current_stock(request.product.id)
        return PurchaseOutcome(
            PurchaseReceipt.from_record(existing, remaining_stock=remaining), replayed=True
        )

    async def current_stock(self, product_id: int) -> int:
        """Units left now, from the stock store when there is one (0 when it does not answer)."""
        if self.keeper is None:
            return (await self.products.fresh(product_id=product_id)).stock
        try:
            level = (await self.store.levels([product_id])).get(product_id)
        except StockStoreUnavailable:
            return 0
        return 0 if level is None else level.stock

    async def release(self, reservation: Reservation, *, reason: str) -> None:
        """Give reserved units back; if Redis cannot be reached the reconciler will, on expiry."""
        for _ in range(2):
            try:
                reply = await self.store.release(
                    product_id=reservation.product_id,
                    purchase_id=reservation.purchase_id,
                    idempotency_hash=reservation.idempotency_hash,
                    now_ms=_ms(self.clock()),
                    reason=reason,
                )
                if reply.status != "MISSING":
                    return
                # The stock key is gone but the reservation is not: rebuild, then release.
                if self.keeper is not None:
                    await self.keeper.rehydrate(reservation.product_id)
            except StockStoreUnavailable:
                _log.warning(
                    "release_deferred",
                    product_id=reservation.product_id,
                    purchase_id=reservation.purchase_id,
                )
                self.cancel_later(reservation)
                return

    async def confirm(
        self, reservation: Reservation, request: PurchaseRequest, receipt: PurchaseReceipt
    ) -> None:
        """Settle the reservation; undo the row if the units cannot be accounted for (503)."""
        assert self.keeper is not None
        loop = asyncio.get_running_loop()
        deadline = loop.time() + self.confirm_budget_s
        delay = 0.05
        for _attempt in range(8):
            try:
                reply = await self.store.confirm(
                    reservation=reservation,
                    now_ms=_ms(self.clock()),
                    fingerprint=request.fingerprint,
                    response_json=receipt.to_json(),
                    idempotency_ttl_ms=self.idem_ttl_ms,
                )
                if reply.status == "MISSING":
                    # Redis lost the key (restarted empty): rebuild it, then confirm again. The
                    # rebuild may hit the same restart, so it shares the confirm's backoff.
                    await self.keeper.rehydrate(reservation.product_id)
                    continue
            except StockStoreUnavailable:
                if loop.time() >= deadline:
                    break
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
                await self.compensate(reservation, reason="oversold")
                raise PurchaseNotRecordedError(
                    "The stock changed while this purchase was recorded; it was not completed. "
                    "Retry.",
                )
            raise StockStoreUnavailableError(f"Unexpected stock store answer {reply.status}.")
        await self.undo_unconfirmed(reservation, request, receipt)

    async def undo_unconfirmed(
        self, reservation: Reservation, request: PurchaseRequest, receipt: PurchaseReceipt
    ) -> NoReturn:
        """The store did not answer the confirm in time: delete the row, void the reservation
        when the store answers again, and tell the buyer nothing was sold.

        Answering 201 here would promise a sale that may not hold: if Redis restarted empty and
        the stock was rebuilt before the row committed, its units may have been sold again, and
        a late confirm could only undo the row after the buyer was told it stands.
        """
        try:
            await self.compensate(reservation, reason="confirm_unreachable")
        except Exception as exc:
            # SQL fails too: the row may stand. Its confirm goes to the follow-ups (which undo
            # the row should the units have been sold again); a retry with the same
            # Idempotency-Key learns the outcome.
            self.followups.add(
                FollowUp(
                    "confirm",
                    reservation,
                    fingerprint=request.fingerprint,
                    response_json=receipt.to_json(),
                )
            )
            raise StockStoreUnavailableError(
                "The stock store is not answering and the outcome of this purchase is not "
                "known yet; retry with the same Idempotency-Key.",
                headers={"Retry-After": "1"},
            ) from exc
        _log.warning(
            "confirm_unreachable_purchase_undone",
            product_id=reservation.product_id,
            purchase_id=reservation.purchase_id,
        )
        self.followups.add(FollowUp("void", reservation))
        raise PurchaseNotRecordedError(
            "The stock store did not answer in time; this purchase was not completed and "
            "nothing was charged. Retry.",
            headers={"Retry-After": "1"},
        )

    async def compensate(self, reservation: Reservation, *, reason: str) -> None:
        """Delete a row whose units could not be accounted for."""
        COMPENSATIONS.labels(reason).inc()
        try:
            await self.purchases.delete(reservation.purchase_id)
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


class LuaPurchase:
    """``lua``: one script checks and reserves in Redis, the row is group-committed, then the
    reservation is confirmed; a failed insert gives the units back."""

    name: Strategy = "lua"

    def __init__(self, steps: PurchaseSteps, *, batch_max: int, batch_window_s: float) -> None:
        if steps.keeper is None:
            raise ValueError("strategy lua needs a stock store")
        self._steps = steps
        self._inserts: GroupCommitter[PurchaseRecord, None] = GroupCommitter(
            write_many=self._insert_rows,
            max_batch=batch_max,
            window_s=batch_window_s,
            name="purchases",
        )

    async def _insert_rows(self, rows: Sequence[PurchaseRecord]) -> list[None]:
        await self._steps.purchases.insert_many(rows)
        return [None] * len(rows)

    async def aclose(self) -> None:
        """Let purchases in progress finish and write every queued row."""
        await self._steps.finish()
        await self._inserts.aclose()

    async def buy(self, request: PurchaseRequest) -> PurchaseOutcome:
        """Reserve in one script, record the row, confirm the reservation."""
        steps = self._steps
        now = steps.clock()
        now_ms = _ms(now)
        reservation = Reservation(
            purchase_id=new_purchase_id(),
            product_id=request.product.id,
            user_id=request.user_id,
            quantity=request.quantity,
            expires_at_ms=now_ms + steps.ttl_ms,
            idempotency_hash=request.digest,
        )
        reply = await self._reserve(reservation, request, now_ms)
        status = reply.status
        if status == "REPLAY":
            return PurchaseOutcome(PurchaseReceipt.from_json(reply.values[0]), replayed=True)
        if status == "IDEM_IN_FLIGHT":
            # The first request's row may be committed with its confirm still on the way (a
            # stall): the durable row answers then, so the key does not wait for the store.
            replay = await steps.replay_from_sql(request)
            if replay is not None:
                return replay
        if status != "OK":
            raise _rejection(reply, request)
        record = steps.record(request, reservation.purchase_id, now)
        # Past this point units are reserved: the rest must run to the end even if the client
        # goes away, or the units would wait for the reconciler instead of being settled now.
        return await steps.shielded(
            self._settle(request, reservation, record, remaining=int(reply.values[0]))
        )

    async def _reserve(
        self, reservation: Reservation, request: PurchaseRequest, now_ms: int
    ) -> StockReply:
        steps = self._steps
        for _ in range(3):
            try:
                reply = await steps.store.reserve(
                    reservation=reservation,
                    fingerprint=request.fingerprint,
                    now_ms=now_ms,
                    in_flight_ttl_ms=steps.ttl_ms,
                )
            except StockStoreUnavailable as exc:
                # The call may still run when a stalled Redis wakes: cancel it ahead.
                steps.cancel_later(reservation)
                raise StockStoreUnavailableError(
                    "The stock store is not answering; nothing was sold. Retry shortly.",
                    headers={"Retry-After": "1"},
                ) from exc
            if reply.status != "MISSING":
                return reply
            await steps.rehydrate_or_404(reservation.product_id)
        raise StockStoreUnavailableError(
            "The product's stock could not be loaded; nothing was sold. Retry shortly.",
            headers={"Retry-After": "1"},
        )

    async def _settle(
        self,
        request: PurchaseRequest,
        reservation: Reservation,
        record: PurchaseRecord,
        *,
        remaining: int,
    ) -> PurchaseOutcome:
        steps = self._steps
        loop = asyncio.get_running_loop()
        # A row may only start its transaction in the first half of the reservation's life, so
        # it commits long before the reconciler may treat the reservation as abandoned.
        deadline = loop.time() + steps.ttl_ms / 2000
        try:
            await self._inserts.submit(record, deadline=deadline)
        except DuplicatePurchase:
            await steps.release(reservation, reason="release")
            replay = await steps.replay_from_sql(request)
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
            await steps.release(reservation, reason="release")
            raise PurchaseNotRecordedError(
                "The purchase could not be recorded; the units went back to stock. Retry.",
                headers={"Retry-After": "1"},
            ) from None
        receipt = PurchaseReceipt.from_record(record, remaining_stock=remaining)
        await steps.confirm(reservation, request, receipt)
        return PurchaseOutcome(receipt)


class LockPurchase:
    """``lock`` (the seed's design, the benchmark baseline): product lock, read, decrement,
    insert, unlock."""

    name: Strategy = "lock"

    def __init__(
        self, steps: PurchaseSteps, *, locks: LockManager | None, ttl_ms: int, wait_ms: int
    ) -> None:
        if steps.keeper is None:
            raise ValueError("strategy lock needs a stock store")
        if locks is None:
            raise ValueError("strategy lock needs a lock manager")
        self._steps = steps
        self._locks = locks
        self._ttl_ms = ttl_ms
        self._wait_ms = wait_ms

    async def aclose(self) -> None:
        """Let purchases in progress finish."""
        await self._steps.finish()

    async def buy(self, request: PurchaseRequest) -> PurchaseOutcome:
        """Under the product's lock: check, take, insert, confirm."""
        steps = self._steps
        store = steps.store
        product = request.product
        async with self._locks.hold(
            f"purchase:{product.id}", ttl_ms=self._ttl_ms, wait_ms=self._wait_ms
        ) as lease:
            now = steps.clock()
            steps.check_window(product, now)
            try:
                stock, bought, limit = await store.peek(
                    product_id=product.id, user_id=request.user_id
                )
                if stock is None:
                    await steps.rehydrate_or_404(product.id)
                    stock, bought, limit = await store.peek(
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
                expires_at_ms=_ms(now) + steps.ttl_ms,
            )
            try:
                reply = await store.take(
                    reservation=reservation, now_ms=_ms(now), fencing_token=lease.fencing_token
                )
            except StockStoreUnavailable as exc:
                steps.cancel_later(reservation)
                raise StockStoreUnavailableError(headers={"Retry-After": "1"}) from exc
            if reply.status != "OK":
                raise _insufficient(product, int(reply.values[0]) if reply.values else 0, 1)
            record = steps.record(request, reservation.purchase_id, now)
            return await steps.shielded(
                self._settle(request, reservation, record, remaining=int(reply.values[0]))
            )

    async def _settle(
        self,
        request: PurchaseRequest,
        reservation: Reservation,
        record: PurchaseRecord,
        *,
        remaining: int,
    ) -> PurchaseOutcome:
        steps = self._steps
        try:
            # The original design: one insert, one commit, while the lock is held.
            await steps.purchases.insert_many([record])
        except Exception as exc:
            _log.warning(
                "purchase_insert_failed", product_id=record.product_id, error=type(exc).__name__
            )
            await steps.release(reservation, reason="release")
            if isinstance(exc, DuplicatePurchase):
                replay = await steps.replay_from_sql(request)
                if replay is not None:
                    return replay
            raise PurchaseNotRecordedError(
                "The purchase could not be recorded; the units went back to stock. Retry.",
                headers={"Retry-After": "1"},
            ) from None
        receipt = PurchaseReceipt.from_record(record, remaining_stock=remaining)
        await steps.confirm(reservation, request, receipt)
        return PurchaseOutcome(receipt)


class SqlPurchase:
    """``sql`` (the embedded default): conditional ``UPDATE … WHERE stock >= :q`` and the
    insert in one transaction, many purchases per transaction."""

    name: Strategy = "sql"

    def __init__(self, steps: PurchaseSteps, *, batch_max: int, batch_window_s: float) -> None:
        self._steps = steps
        self._buys: GroupCommitter[BuyRequest, BuyResult] = GroupCommitter(
            write_many=steps.purchases.buy_many,
            max_batch=batch_max,
            window_s=batch_window_s,
            name="sql_purchases",
        )

    async def aclose(self) -> None:
        """Write every queued purchase."""
        await self._buys.aclose()

    async def buy(self, request: PurchaseRequest) -> PurchaseOutcome:
        """Take the stock and insert the row in one (group-committed) transaction."""
        steps = self._steps
        now = steps.clock()
        steps.check_window(request.product, now)
        record = steps.record(request, new_purchase_id(), now)
        limit = request.product.per_user_limit
        try:
            result = await self._buys.submit(BuyRequest(purchase=record, per_user_limit=limit))
        except DuplicatePurchase:
            replay = await steps.replay_from_sql(request)
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
            stock = await steps.current_stock(request.product.id)
            return PurchaseOutcome(
                PurchaseReceipt.from_record(result.existing, remaining_stock=stock), replayed=True
            )
        if result.outcome == "limit":
            raise _limit(request.product, result.already_bought)
        raise _insufficient(request.product, result.stock, request.quantity)


class KvIdempotentPurchase:
    """A strategy whose stock store keeps no idempotency records (``lock``, ``sql``), with the
    Idempotency-Key handled in the key-value store around it."""

    def __init__(self, inner: PurchaseStrategy, idempotency: KvIdempotency) -> None:
        self.name: Strategy = inner.name
        self._inner = inner
        self._idem = idempotency

    async def aclose(self) -> None:
        """Close the strategy inside."""
        await self._inner.aclose()

    async def buy(self, request: PurchaseRequest) -> PurchaseOutcome:
        """The first answer for this key replayed, else the inner strategy's answer stored."""
        if request.key is None:
            return await self._inner.buy(request)
        stored = await self._idem.begin(
            product_id=request.product.id, digest=request.digest, fingerprint=request.fingerprint
        )
        if stored is not None:
            return PurchaseOutcome(PurchaseReceipt.from_json(stored), replayed=True)
        try:
            outcome = await self._inner.buy(request)
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


def make_purchase_strategy(
    name: Strategy,
    *,
    steps: PurchaseSteps,
    idempotency: KvIdempotency,
    locks: LockManager | None = None,
    batch_max: int = 128,
    batch_window_ms: float = 0.0,
    lock_ttl_ms: int = 5000,
    lock_wait_ms: int = 2000,
) -> PurchaseStrategy:
    """The strategy PURCHASE_STRATEGY names, built once (the service never looks at the name)."""
    window_s = batch_window_ms / 1000
    if name == "lua":
        return LuaPurchase(steps, batch_max=batch_max, batch_window_s=window_s)
    if name == "lock":
        lock = LockPurchase(steps, locks=locks, ttl_ms=lock_ttl_ms, wait_ms=lock_wait_ms)
        return KvIdempotentPurchase(lock, idempotency)
    if name == "sql":
        sql = SqlPurchase(steps, batch_max=batch_max, batch_window_s=window_s)
        return KvIdempotentPurchase(sql, idempotency)
    raise ValueError(f"unknown purchase strategy {name!r}")


class PurchaseService:
    """Buy, read and list purchases. Keyword-only; raises AppError subclasses only."""

    def __init__(
        self,
        *,
        strategy: PurchaseStrategy,
        products: ProductService,
        purchases: PurchaseRepository,
        max_quantity: int = 100,
    ) -> None:
        self._strategy = strategy
        self.strategy: Strategy = strategy.name
        self._products = products
        self._purchases = purchases
        self._max_quantity = max_quantity
        self._strategy_label = (strategy.name,)
        # Last stock seen per product, written to the gauge when the metrics buffer flushes
        # (a gauge write per sale would be an mmap write per request in multiprocess mode).
        self._stock_seen: dict[int, int] = {}
        METRICS_BUFFER.add_feeder(self._feed_stock)

    def _feed_stock(self) -> None:
        seen, self._stock_seen = self._stock_seen, {}
        for product_id, stock in seen.items():
            PRODUCT_STOCK.labels(str(product_id)).set(stock)

    def _count(self, outcome: str) -> None:
        # Tallied in-process and written once a second: a multiprocess counter's inc() is an
        # mmap write per call, on every attempt of a flash sale.
        METRICS_BUFFER.count(PURCHASES, (self.strategy, outcome))

    async def aclose(self) -> None:
        """Let purchases in progress finish and write every queued row."""
        await self._strategy.aclose()

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
        request = PurchaseRequest(
            product=product,
            user_id=principal.user_id,
            quantity=quantity,
            key=key,
            fingerprint=fingerprint(product_id=product_id, quantity=quantity),
            digest=key_digest(user_id=principal.user_id, key=key) if key else "",
        )
        try:
            outcome = await self._strategy.buy(request)
        except Exception as exc:
            self._count(str(getattr(exc, "code", "error")).lower())
            raise
        if outcome.replayed:
            self._count("replayed")
        else:
            self._count("sold")
            METRICS_BUFFER.count(UNITS_SOLD, self._strategy_label, quantity)
            METRICS_BUFFER.count(PRODUCT_UNITS_SOLD, (str(product_id),), quantity)
            self._stock_seen[product_id] = outcome.receipt.remaining_stock
        return outcome

    # --- reading --------------------------------------------------------------------------
    async def get_or_raise(self, *, principal: Principal, purchase_id: str) -> PurchaseRecord:
        """The purchase; 404 when unknown or someone else's (unless the caller is an admin)."""
        record = await self._purchases.get(purchase_id)
        if record is None or (not principal.is_admin and record.user_id != principal.user_id):
            raise PurchaseNotFoundError.missing(
                purchase_id, f"Purchase '{purchase_id}' was not found."
            )
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


def _rejection(reply: StockReply, request: PurchaseRequest) -> Exception:
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
