"""`/api/products`: admins create products; everyone lists and reads them."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query

from app.commerce.dependencies import CommerceDep, ProductIdPath
from app.commerce.repository import ProductRecord
from app.commerce.schemas import MAX_SQL_INT, ProductCreate, ProductList, ProductRead
from app.platform.dependencies import AdminUser

router = APIRouter(prefix="/api/products", tags=["commerce"])


def product_read(product: ProductRecord) -> ProductRead:
    """The API shape of a product."""
    return ProductRead(
        id=product.id,
        name=product.name,
        price=product.price,
        initial_stock=product.initial_stock,
        per_user_limit=product.per_user_limit,
        starts_at=product.starts_at,
        ends_at=product.ends_at,
        created_at=product.created_at,
    )


@router.post("", status_code=201, response_model=ProductRead, summary="Create a product")
async def create_product(
    body: ProductCreate, _admin: AdminUser, commerce: CommerceDep
) -> ProductRead:
    """Store the product and load its stock into the stock store (admin only)."""
    product = await commerce.products.create(
        name=body.name,
        price=body.price,
        initial_stock=body.initial_stock,
        per_user_limit=body.per_user_limit,
        starts_at=body.starts_at,
        ends_at=body.ends_at,
    )
    return product_read(product)


@router.get("", response_model=ProductList, summary="List products")
async def list_products(
    commerce: CommerceDep,
    limit: Annotated[int, Query(ge=1, le=200)] = 50,
    offset: Annotated[int, Query(ge=0, le=MAX_SQL_INT)] = 0,
) -> ProductList:
    """Products in id order."""
    items = await commerce.products.list(limit=limit, offset=offset)
    return ProductList(items=[product_read(p) for p in items], limit=limit, offset=offset)


@router.get("/{product_id}", response_model=ProductRead, summary="Read a product")
async def get_product(product_id: ProductIdPath, commerce: CommerceDep) -> ProductRead:
    """One product; 404 PRODUCT_NOT_FOUND when unknown."""
    return product_read(await commerce.products.get_or_raise(product_id=product_id))
