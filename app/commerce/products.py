"""Products: admins create them, everyone lists and reads them."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from datetime import UTC, datetime
from decimal import Decimal

from app.commerce.repository import NewProduct, ProductRecord, ProductRepository
from app.commerce.stock import StockKeeper
from app.platform.errors import ProductNotFoundError
from app.platform.logging import get_logger

_log = get_logger("app.commerce.products")


class ProductService:
    """Creating a product writes SQL first, then loads the stock store from SQL's ledger.

    If the load fails the stock key is simply missing, and the first purchase or inventory
    read rebuilds it from the same ledger: SQL and the stock store cannot disagree.
    """

    def __init__(
        self,
        *,
        repository: ProductRepository,
        keeper: StockKeeper | None,
        clock: Callable[[], datetime] | None = None,
    ) -> None:
        self.repository = repository
        self._keeper = keeper
        self._clock = clock or (lambda: datetime.now(UTC))
        # Name, price, limit and window never change after creation, so a worker may keep them.
        self._cache: dict[int, ProductRecord] = {}
        self._loading: dict[int, asyncio.Future[ProductRecord | None]] = {}

    async def create(
        self,
        *,
        name: str,
        price: Decimal,
        initial_stock: int,
        per_user_limit: int | None = None,
        starts_at: datetime | None = None,
        ends_at: datetime | None = None,
    ) -> ProductRecord:
        """Store a product and load its stock."""
        product = await self.repository.create(
            NewProduct(
                name=name,
                price=price,
                initial_stock=initial_stock,
                per_user_limit=per_user_limit,
                starts_at=starts_at,
                ends_at=ends_at,
                created_at=self._clock(),
            )
        )
        self._cache[product.id] = product
        if self._keeper is not None:
            try:
                await self._keeper.rehydrate(product.id)
            except Exception as exc:
                # Safe to leave: a missing stock key is rebuilt from SQL before it is used.
                _log.warning("stock_load_deferred", product_id=product.id, error=type(exc).__name__)
        _log.info("product_created", product_id=product.id, initial_stock=initial_stock)
        return product

    async def get(self, *, product_id: int) -> ProductRecord | None:
        """The product (from this worker's cache when seen before), or None."""
        cached = self._cache.get(product_id)
        if cached is not None:
            return cached
        # One read per product however many requests miss at once: when a sale opens, every
        # connection asks for the same new product in the same instant.
        loading = self._loading.get(product_id)
        if loading is None:
            loading = self._loading[product_id] = asyncio.ensure_future(
                self.repository.get(product_id)
            )
            loading.add_done_callback(lambda _done: self._loading.pop(product_id, None))
        product = await asyncio.shield(loading)
        if product is not None:
            self._cache[product_id] = product
        return product

    async def get_or_raise(self, *, product_id: int) -> ProductRecord:
        """The product; 404 PRODUCT_NOT_FOUND when unknown."""
        product = await self.get(product_id=product_id)
        if product is None:
            raise ProductNotFoundError.missing(product_id, f"Product {product_id} was not found.")
        return product

    async def fresh(self, *, product_id: int) -> ProductRecord:
        """The product as SQL has it now (its stock column and restock total included)."""
        product = await self.repository.get(product_id)
        if product is None:
            raise ProductNotFoundError.missing(product_id, f"Product {product_id} was not found.")
        self._cache[product_id] = product
        return product

    async def list(self, *, limit: int, offset: int) -> list[ProductRecord]:
        """Products in id order."""
        return await self.repository.list_page(limit=limit, offset=offset)
