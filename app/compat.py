"""The seeds' paths as aliases of the project's routes, in one router kept out of the OpenAPI
document (`include_in_schema=False`): clients written from the seeds keep working, the API
reference lists each operation once. docs/seed-compatibility.md maps every alias."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Header, Response

from app.accounts import endpoints as accounts
from app.commerce.dependencies import CommerceDep, ProductIdPath
from app.commerce.endpoints import purchases
from app.commerce.schemas import PurchaseCreate, PurchaseReceiptRead
from app.health import endpoints as health
from app.platform.dependencies import CurrentUser

router = APIRouter(include_in_schema=False)

# Same handlers, same dependencies, same problem bodies; only the path differs.
router.add_api_route(
    "/register", accounts.register, methods=["POST"], status_code=201, response_model=None
)
router.add_api_route("/login", accounts.login, methods=["POST"], response_model=None)
router.add_api_route("/api/health", health.health, methods=["GET"], response_model=None)


@router.post("/purchase/{product_id}", status_code=200, response_model=PurchaseReceiptRead)
async def purchase_alias(
    product_id: ProductIdPath,
    user: CurrentUser,
    commerce: CommerceDep,
    response: Response,
    body: PurchaseCreate | None = None,
    idempotency_key: Annotated[str | None, Header(alias="Idempotency-Key", max_length=1000)] = None,
) -> PurchaseReceiptRead:
    """The seed's purchase: no body means one unit; 200 as the seed says (`/api/…` answers 201)."""
    return await purchases.purchase(
        product_id=product_id,
        body=body if body is not None else PurchaseCreate(quantity=1),
        user=user,
        commerce=commerce,
        response=response,
        idempotency_key=idempotency_key,
    )
