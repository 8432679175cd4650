"""The commerce area's services as one object: what its routes, the lifespan and health use."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from typing import Any

from app.commerce.inventory import InventoryService
from app.commerce.products import ProductService
from app.commerce.purchase import PurchaseService
from app.commerce.reconcile import Reconciler
from app.platform.storage.locks.manager import LockManager, run_as_leader

RECONCILER_LOCK = "commerce-reconciler"


@dataclass
class CommerceServices:
    """The commerce area's services, built once per app in the lifespan."""

    strategy: str
    products: ProductService
    inventory: InventoryService
    purchases: PurchaseService
    reconciler: Reconciler

    async def aclose(self) -> None:
        """Finish purchases in progress and flush queued rows (the Redis pool is the lifespan's)."""
        await self.purchases.aclose()


def start_reconciler(
    commerce: CommerceServices, *, locks: LockManager, interval_s: float
) -> asyncio.Task[Any] | None:
    """The periodic reconciler: every worker competes, the lock's holder runs it."""
    if interval_s <= 0:
        return None

    async def job() -> None:
        await commerce.reconciler.run()

    return asyncio.get_running_loop().create_task(
        run_as_leader(locks, RECONCILER_LOCK, interval_s, job), name="commerce-reconciler"
    )
