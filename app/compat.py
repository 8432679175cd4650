"""The seeds' paths as aliases of the project's routes, in one router kept out of the OpenAPI
document (`include_in_schema=False`): clients written from the seeds keep working, the API
reference lists each operation once. docs/seed-compatibility.md maps every alias."""

from __future__ import annotations

from fastapi import APIRouter, Request, Response

from app.accounts import endpoints as accounts
from app.commerce.endpoints import purchases
from app.commerce.endpoints.products import ProductIdPath
from app.commerce.schemas import PurchaseCreate, PurchaseReceiptRead
from app.deps import CurrentUser
from app.health import endpoints as health

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
    request: Request,
    response: Response,
    body: PurchaseCreate | None = None,
) -> PurchaseReceiptRead:
    """The seed's purchase: no body means one unit; 200 as the seed says (`/api/…` answers 201)."""
    return await purchases.purchase(
        product_id=product_id,
        body=body if body is not None else PurchaseCreate(quantity=1),
        user=user,
        request=request,
        response=response,
    )
