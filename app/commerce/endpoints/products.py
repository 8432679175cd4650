"""`/api/products`: admins create products; everyone lists and reads them."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Path, Query, Request

from app.commerce.factory import CommerceServices
from app.commerce.schemas import MAX_SQL_INT, ProductCreate, ProductList, ProductRead
from app.deps import AdminUser
from app.platform.errors import ServiceUnavailableError
from app.platform.storage.base import ProductRecord
from app.resources import Resources

router = APIRouter(prefix="/api/products", tags=["commerce"])


def commerce_of(request: Request) -> CommerceServices:
    """The lifespan-built commerce services; 503 when this app has none."""
    resources: Resources = request.app.state.resources
    if resources.commerce is None:
        raise ServiceUnavailableError("Commerce is not available.")
    return resources.commerce


async def get_commerce(request: Request) -> CommerceServices:
    """The lifespan-built commerce services (as a dependency)."""
    # async on purpose: FastAPI runs a plain `def` dependency in its thread pool, a thread
    # hand-off per request for a single attribute read.
    return commerce_of(request)


CommerceDep = Annotated[CommerceServices, Depends(get_commerce)]
ProductIdPath = Annotated[int, Path(ge=1, le=MAX_SQL_INT, description="Product id")]


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
