"""`/api/purchase/{product_id}` (buy) and `/api/purchases` (read your purchases)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Header, Path, Query, Response

from app.commerce.dependencies import CommerceDep, ProductIdPath
from app.commerce.repository import PurchaseRecord
from app.commerce.schemas import (
    MAX_SQL_INT,
    PurchaseCreate,
    PurchaseList,
    PurchaseRead,
    PurchaseReceiptRead,
)
from app.platform.dependencies import CurrentUser

router = APIRouter(tags=["commerce"])


def _read(record: PurchaseRecord) -> PurchaseRead:
    return PurchaseRead(
        purchase_id=record.id,
        product_id=record.product_id,
        user_id=record.user_id,
        quantity=record.quantity,
        unit_price=record.unit_price,
        total_price=record.total_price,
        purchased_at=record.purchased_at,
    )


@router.post(
    "/api/purchase/{product_id}",
    status_code=201,
    response_model=PurchaseReceiptRead,
    summary="Buy a product",
    responses={
        400: {"description": "INSUFFICIENT_STOCK, validation error"},
        404: {"description": "PRODUCT_NOT_FOUND"},
        409: {"description": "PURCHASE_LIMIT_REACHED, SALE_NOT_ACTIVE, IDEMPOTENCY_IN_FLIGHT"},
        422: {"description": "IDEMPOTENCY_KEY_REUSED"},
        503: {"description": "STOCK_STORE_UNAVAILABLE, PURCHASE_NOT_RECORDED (retry is safe)"},
    },
)
async def purchase(
    product_id: ProductIdPath,
    body: PurchaseCreate,
    user: CurrentUser,
    commerce: CommerceDep,
    response: Response,
    idempotency_key: Annotated[
        str | None,
        Header(
            alias="Idempotency-Key",
            max_length=1000,
            description="Same key + same body → the first response replayed (24 h).",
        ),
    ] = None,
) -> PurchaseReceiptRead:
    """Buy `quantity` units; exactly once per Idempotency-Key, never oversold."""
    outcome = await commerce.purchases.purchase(
        principal=user,
        product_id=product_id,
        quantity=body.quantity,
        idempotency_key=idempotency_key,
    )
    if outcome.replayed:
        response.headers["Idempotent-Replayed"] = "true"
    r = outcome.receipt
    return PurchaseReceiptRead(
        purchase_id=r.purchase_id,
        product_id=r.product_id,
        quantity=r.quantity,
        unit_price=r.unit_price,
        total_price=r.total_price,
        remaining_stock=r.remaining_stock,
        purchased_at=r.purchased_at,
    )


@router.get("/api/purchases", response_model=PurchaseList, summary="List purchases")
async def list_purchases(
    user: CurrentUser,
    commerce: CommerceDep,
    user_id: Annotated[str | None, Query(max_length=64, description="Admins only")] = None,
    product_id: Annotated[int | None, Query(ge=1, le=MAX_SQL_INT)] = None,
    limit: Annotated[int, Query(ge=1, le=200)] = 50,
    offset: Annotated[int, Query(ge=0, le=MAX_SQL_INT)] = 0,
) -> PurchaseList:
    """Your purchases, newest first; admins see everyone's and may filter by `user_id`."""
    records = await commerce.purchases.list(
        principal=user, user_id=user_id, product_id=product_id, limit=limit, offset=offset
    )
    return PurchaseList(items=[_read(r) for r in records], limit=limit, offset=offset)


@router.get("/api/purchases/{purchase_id}", response_model=PurchaseRead, summary="Read a purchase")
async def get_purchase(
    purchase_id: Annotated[str, Path(min_length=1, max_length=64)],
    user: CurrentUser,
    commerce: CommerceDep,
) -> PurchaseRead:
    """One of your purchases (any, for admins); 404 PURCHASE_NOT_FOUND otherwise."""
    return _read(await commerce.purchases.get_or_raise(principal=user, purchase_id=purchase_id))
