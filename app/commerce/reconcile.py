"""Reconciliation: make the stock store agree with SQL's ledger, and report what it fixed.

For each product: expired reservations whose SQL row never appeared are rolled back (units
back to stock), expired ones whose row exists are settled; then the stock is compared with
`initial + restocks − Σ purchases − live reservations` and repaired if it drifted. A repair
only applies if no purchase moved the stock since the snapshot it was computed from (a version
counter), so the reconciler can run during a sale without fighting it: a busy product is
reported as such and checked again on the next run.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from typing import Literal

from app.commerce.metrics import (
    RECONCILE_RUNS,
    RESERVATIONS_ROLLED_BACK,
    STOCK_DRIFT,
)
from app.commerce.repository import ProductRepository, PurchaseRepository, StockStoreUnavailable
from app.commerce.stock import StockKeeper
from app.platform.errors import StockStoreUnavailableError
from app.platform.logging import get_logger

_log = get_logger("app.commerce.reconcile")

Status = Literal["ok", "repaired", "busy", "rehydrated", "unknown"]


@dataclass(slots=True)
class ProductReconciliation:
    """What the reconciler found and did for one product."""

    product_id: int
    status: Status = "ok"
    expected: int | None = None
    actual: int | None = None
    drift: int = 0
    rolled_back: int = 0
    settled: int = 0
    live_reservations: int = 0


@dataclass(slots=True)
class ReconcileReport:
    """One run over one or every product."""

    strategy: str
    started_at: datetime
    duration_ms: float = 0.0
    products: list[ProductReconciliation] = field(default_factory=list)

    @property
    def checked(self) -> int:
        """Products looked at."""
        return len(self.products)

    @property
    def drifted(self) -> int:
        """Products whose stock disagreed with the ledger."""
        return sum(1 for p in self.products if p.drift)

    @property
    def repaired(self) -> int:
        """Products whose stock was set right."""
        return sum(1 for p in self.products if p.status == "repaired")

    @property
    def rolled_back(self) -> int:
        """Expired reservations given back to stock."""
        return sum(p.rolled_back for p in self.products)

    @property
    def busy(self) -> int:
        """Products that kept changing during the check (retried next run)."""
        return sum(1 for p in self.products if p.status == "busy")


class Reconciler:
    """Runs on demand (admin endpoint) and periodically on one elected instance."""

    def __init__(
        self,
        *,
        strategy: str,
        products: ProductRepository,
        purchases: PurchaseRepository,
        keeper: StockKeeper | None,
        attempts: int = 3,
        clock: Callable[[], datetime] | None = None,
    ) -> None:
        self._strategy = strategy
        self._products = products
        self._purchases = purchases
        self._keeper = keeper
        self._attempts = attempts
        self._clock = clock or (lambda: datetime.now(UTC))

    async def run(self, *, product_ids: Sequence[int] | None = None) -> ReconcileReport:
        """Check (and repair) the given products, or all of them."""
        started = time.perf_counter()
        report = ReconcileReport(strategy=self._strategy, started_at=self._clock())
        ids = list(product_ids) if product_ids is not None else await self._products.all_ids()
        try:
            for pid in ids:
                if self._keeper is None:
                    report.products.append(await self._reconcile_sql(pid))
                else:
                    report.products.append(await self._reconcile_redis(pid))
        except StockStoreUnavailable as exc:
            RECONCILE_RUNS.labels("unavailable").inc()
            raise StockStoreUnavailableError(
                "The stock store is not answering; reconciliation did not run.",
                headers={"Retry-After": "1"},
            ) from exc
        report.duration_ms = round((time.perf_counter() - started) * 1000, 1)
        RECONCILE_RUNS.labels("drift" if report.drifted else "clean").inc()
        if report.drifted or report.rolled_back:
            _log.warning(
                "reconcile_found_drift",
                checked=report.checked,
                drifted=report.drifted,
                repaired=report.repaired,
                rolled_back=report.rolled_back,
                busy=report.busy,
            )
        return report

    async def _reconcile_sql(self, product_id: int) -> ProductReconciliation:
        result = ProductReconciliation(product_id)
        fixed = await self._products.recount_stock(product_id)
        if fixed is None:
            result.status = "unknown"
            return result
        expected, actual = fixed
        result.expected, result.actual, result.drift = expected, actual, actual - expected
        if result.drift:
            _count_drift(result.drift)
            result.status = "repaired"
        return result

    async def _reconcile_redis(self, product_id: int) -> ProductReconciliation:
        assert self._keeper is not None
        store = self._keeper.store
        result = ProductReconciliation(product_id)
        snap = await store.snapshot(product_id)
        if snap.stock is None:
            reply = await self._keeper.rehydrate(product_id)
            result.status = "unknown" if reply is None else "rehydrated"
            return result

        now_ms = int(self._clock().timestamp() * 1000)
        expired = [r for r in snap.reservations if r.expires_at_ms <= now_ms]
        if expired:
            have_rows = await self._purchases.existing_ids([r.purchase_id for r in expired])
            for r in expired:
                if r.purchase_id in have_rows:
                    # Committed but never confirmed (the worker died in between): settle it.
                    # The idempotency record is left alone: the row's unique key guards it.
                    await store.confirm(
                        reservation=replace(r, idempotency_hash=""),
                        now_ms=now_ms,
                        fingerprint="0",
                        response_json="",
                        idempotency_ttl_ms=1,
                    )
                    result.settled += 1
                else:
                    reply = await store.release(
                        product_id=product_id,
                        purchase_id=r.purchase_id,
                        idempotency_hash=r.idempotency_hash,
                        now_ms=now_ms,
                        reason="expire",
                    )
                    if reply.status == "RELEASED":
                        result.rolled_back += 1
                        RESERVATIONS_ROLLED_BACK.inc()
        for _attempt in range(self._attempts):
            snap = await store.snapshot(product_id)
            if snap.stock is None:
                result.status = "rehydrated"
                await self._keeper.rehydrate(product_id)
                return result
            # A reservation whose row is already committed is counted once, in the ledger.
            # Which rows exist is read *before* the ledger: a row committing between the two
            # reads is then counted twice (stock set low, raised again by the next pass), never
            # not at all (stock set high: the units would be sold twice).
            committed = await self._purchases.existing_ids(
                [r.purchase_id for r in snap.reservations]
            )
            ledger = await self._products.ledger(
                product_id, recent_since=self._clock(), per_user=False
            )
            if ledger is None:
                result.status = "unknown"
                return result
            live = sum(r.quantity for r in snap.reservations if r.purchase_id not in committed)
            expected = ledger.available - live
            result.expected, result.actual = expected, snap.stock
            result.live_reservations = live
            result.drift = snap.stock - expected
            if result.drift == 0:
                result.status = "ok"
                return result
            reply = await store.repair(
                product_id=product_id,
                version=snap.version,
                stock=max(expected, 0),
                now_ms=int(self._clock().timestamp() * 1000),
            )
            if reply.status in ("REPAIRED", "SAME"):
                _count_drift(result.drift)
                result.status = "repaired"
                _log.warning(
                    "stock_drift_repaired",
                    product_id=product_id,
                    expected=expected,
                    actual=snap.stock,
                    drift=result.drift,
                )
                return result
            if reply.status == "MISSING":
                await self._keeper.rehydrate(product_id)
                result.status = "rehydrated"
                return result
        # Purchases kept moving the stock: the snapshot never held still long enough.
        result.status = "busy"
        return result


def _count_drift(drift: int) -> None:
    STOCK_DRIFT.labels("over" if drift > 0 else "under").inc(abs(drift))
