"""The commerce area, wired from settings (docs/commerce.md): the purchase strategy picks the stock
store."""

from __future__ import annotations

from app.commerce.adapters.redis.stock import RedisStockStore
from app.commerce.adapters.sql.events import SqlStockEventLog
from app.commerce.adapters.sql.products import SqlProductRepository
from app.commerce.adapters.sql.purchases import SqlPurchaseRepository
from app.commerce.idempotency import KvIdempotency
from app.commerce.inventory import InventoryService
from app.commerce.products import ProductService
from app.commerce.purchase import PurchaseService, PurchaseSteps, make_purchase_strategy
from app.commerce.reconcile import Reconciler
from app.commerce.service import CommerceServices
from app.commerce.stock import StockKeeper
from app.platform.config import Settings
from app.platform.storage.base import KeyValueStore
from app.platform.storage.connections import Connections
from app.platform.storage.locks.manager import LockManager


def build_commerce(
    settings: Settings,
    connections: Connections,
    *,
    kv: KeyValueStore,
    locks: LockManager | None,
) -> CommerceServices:
    """Wire repositories, the stock store and services from settings."""
    strategy = settings.effective_purchase_strategy
    engine, redis = connections.engine, connections.redis
    product_repo = SqlProductRepository(engine)
    purchase_repo = SqlPurchaseRepository(engine)
    keeper: StockKeeper | None = None
    store: RedisStockStore | None = None
    if strategy in ("lua", "lock"):
        assert redis is not None, "PURCHASE_STRATEGY lua/lock needs REDIS_URL"
        # Rows committed within this window count as settled when a stock key is rebuilt; a
        # confirm can only still be pending for rows younger than the reservation TTL.
        window_s = 2 * settings.reservation_ttl_s
        # Settled ids only need to outlive a late or repeated confirm, i.e. that same window.
        store = RedisStockStore(redis, settled_retention_ms=int(max(120, 2 * window_s) * 1000))
        keeper = StockKeeper(store=store, products=product_repo, settle_window_s=window_s)
    products = ProductService(repository=product_repo, keeper=keeper)
    steps = PurchaseSteps(
        products=products,
        purchases=purchase_repo,
        keeper=keeper,
        reservation_ttl_s=settings.reservation_ttl_s,
        idempotency_ttl_s=settings.idempotency_ttl_s,
    )
    # PURCHASE_STRATEGY is read here, once: the service only sees a PurchaseStrategy.
    purchase_strategy = make_purchase_strategy(
        strategy,
        steps=steps,
        idempotency=KvIdempotency(
            kv, ttl_s=settings.idempotency_ttl_s, in_flight_ttl_s=settings.reservation_ttl_s
        ),
        locks=locks,
        batch_max=settings.purchase_batch_max,
        batch_window_ms=settings.purchase_batch_window_ms,
        lock_ttl_ms=settings.purchase_lock_ttl_ms,
        lock_wait_ms=settings.purchase_lock_wait_ms,
    )
    purchases = PurchaseService(
        strategy=purchase_strategy,
        products=products,
        purchases=purchase_repo,
        max_quantity=settings.purchase_max_quantity,
    )
    inventory = InventoryService(products=products, keeper=keeper, events=SqlStockEventLog(engine))
    reconciler = Reconciler(
        strategy=strategy, products=product_repo, purchases=purchase_repo, keeper=keeper
    )
    return CommerceServices(
        strategy=strategy,
        products=products,
        inventory=inventory,
        purchases=purchases,
        reconciler=reconciler,
    )
