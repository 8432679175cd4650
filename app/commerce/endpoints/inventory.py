"""`/api/inventory`: stock levels, restocks, the stock event log and reconciliation."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query

from app.commerce.dependencies import CommerceDep, ProductIdPath
from app.commerce.inventory import InventoryView
from app.commerce.schemas import (
    MAX_SQL_INT,
    InventoryList,
    InventoryRead,
    ProductReconciliationRead,
    ReconcileRead,
    RestockCreate,
    StockEventList,
    StockEventRead,
)
from app.platform.dependencies import AdminUser
from app.platform.errors import ValidationFailedError

router = APIRouter(prefix="/api/inventory", tags=["commerce"])

MAX_IDS = 100


def _read(view: InventoryView) -> InventoryRead:
    return InventoryRead(
        product_id=view.product_id,
        stock=view.stock,
        initial_stock=view.initial_stock,
        restocked=view.restocked,
        sold=view.sold,
        reserved=view.reserved,
    )


def _parse_ids(raw: str) -> list[int]:
    parts = [p.strip() for p in raw.split(",") if p.strip()]
    if not parts or len(parts) > MAX_IDS:
        raise ValidationFailedError(
            f"ids: give 1 to {MAX_IDS} comma-separated product ids",
            details=[{"field": "ids", "message": "wrong number of ids", "type": "value_error"}],
        )
    ids = []
    for part in parts:
        if not part.isascii() or not part.isdigit() or not 1 <= int(part) <= MAX_SQL_INT:
            raise ValidationFailedError(
                "ids: every id must be a positive integer",
                details=[{"field": "ids", "message": "not a product id", "type": "int_parsing"}],
            )
        ids.append(int(part))
    return ids


@router.get("", response_model=InventoryList, summary="Stock of several products")
async def inventory_many(
    commerce: CommerceDep,
    ids: Annotated[str, Query(max_length=2000, description="Comma-separated ids, e.g. 1,2,3")],
) -> InventoryList:
    """Stock of up to 100 products in one round trip to the stock store."""
    views, missing = await commerce.inventory.get_many(product_ids=_parse_ids(ids))
    return InventoryList(items=[_read(v) for v in views], not_found=missing)


@router.get("/events", response_model=StockEventList, summary="Stock event log")
async def stock_events(
    commerce: CommerceDep,
    _admin: AdminUser,
    product_id: Annotated[int | None, Query(ge=1, le=MAX_SQL_INT)] = None,
    limit: Annotated[int, Query(ge=1, le=500)] = 100,
    before: Annotated[str | None, Query(max_length=64)] = None,
) -> StockEventList:
    """Every stock change, newest first (admin only: entries name the buyers)."""
    events = await commerce.inventory.events(product_id=product_id, limit=limit, before=before)
    return StockEventList(
        items=[
            StockEventRead(
                id=e.id,
                product_id=e.product_id,
                kind=e.kind,
                delta=e.delta,
                stock_after=e.stock_after,
                purchase_id=e.purchase_id,
                user_id=e.user_id,
                created_at=e.created_at,
            )
            for e in events
        ]
    )


@router.post("/reconcile", response_model=ReconcileRead, summary="Reconcile stock with SQL")
async def reconcile(
    commerce: CommerceDep,
    _admin: AdminUser,
    product_id: Annotated[int | None, Query(ge=1, le=MAX_SQL_INT)] = None,
) -> ReconcileRead:
    """Roll back abandoned reservations and repair drift; report what was found (admin only)."""
    if product_id is not None:
        await commerce.products.get_or_raise(product_id=product_id)
    report = await commerce.reconciler.run(product_ids=None if product_id is None else [product_id])
    return ReconcileRead(
        strategy=report.strategy,
        started_at=report.started_at,
        duration_ms=report.duration_ms,
        checked=report.checked,
        drifted=report.drifted,
        repaired=report.repaired,
        rolled_back=report.rolled_back,
        busy=report.busy,
        products=[
            ProductReconciliationRead(
                product_id=p.product_id,
                status=p.status,
                expected=p.expected,
                actual=p.actual,
                drift=p.drift,
                rolled_back=p.rolled_back,
                settled=p.settled,
                live_reservations=p.live_reservations,
            )
            for p in report.products
        ],
    )


@router.get("/{product_id}", response_model=InventoryRead, summary="Stock of a product")
async def inventory_one(product_id: ProductIdPath, commerce: CommerceDep) -> InventoryRead:
    """`{product_id, stock, initial_stock, sold, …}`; 404 PRODUCT_NOT_FOUND when unknown."""
    return _read(await commerce.inventory.get(product_id=product_id))


@router.post("/{product_id}/restock", response_model=InventoryRead, summary="Restock a product")
async def restock(
    product_id: ProductIdPath, body: RestockCreate, admin: AdminUser, commerce: CommerceDep
) -> InventoryRead:
    """Add units (admin only); recorded in SQL, then added to the stock store exactly once."""
    view = await commerce.inventory.restock(
        principal=admin, product_id=product_id, quantity=body.quantity
    )
    return _read(view)
