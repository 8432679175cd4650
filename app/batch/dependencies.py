"""How the batch routes reach the batch service the lifespan built."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Request

from app.batch.service import BatchService, BatchServices

# The name under `app.state` where the lifespan puts this area's services.
STATE_KEY = "batch"


def get_batch(request: Request) -> BatchService:
    """The batch service built by the lifespan."""
    services: BatchServices = getattr(request.app.state, STATE_KEY)
    return services.service


BatchDep = Annotated[BatchService, Depends(get_batch)]
