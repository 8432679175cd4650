"""How the commerce routes reach the commerce services the lifespan built."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Path, Request

from app.commerce.schemas import MAX_SQL_INT
from app.commerce.service import CommerceServices

# The name under `app.state` where the lifespan puts this area's services.
STATE_KEY = "commerce"


def commerce_of(request: Request) -> CommerceServices:
    """The lifespan-built commerce services."""
    services: CommerceServices = getattr(request.app.state, STATE_KEY)
    return services


async def get_commerce(request: Request) -> CommerceServices:
    """The lifespan-built commerce services (as a dependency)."""
    # async on purpose: FastAPI runs a plain `def` dependency in its thread pool, a thread
    # hand-off per request for a single attribute read.
    return commerce_of(request)


CommerceDep = Annotated[CommerceServices, Depends(get_commerce)]
ProductIdPath = Annotated[int, Path(ge=1, le=MAX_SQL_INT, description="Product id")]
