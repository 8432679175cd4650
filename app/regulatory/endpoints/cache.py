"""AI-result cache: statistics and invalidation by key prefix."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query

from app.platform.cache import get_cache
from app.platform.dependencies import AdminUser
from app.regulatory.dependencies import RegulatoryDep
from app.regulatory.schemas.cache import CacheInvalidated, CacheStats

router = APIRouter(prefix="/api/cache", tags=["cache"])


@router.get("/stats", summary="Cache statistics")
async def cache_stats(service: RegulatoryDep) -> CacheStats:
    """Hits and misses counted by this worker process; size of the (possibly shared) store."""
    stats = await service.cache.stats()
    cache = get_cache()
    return CacheStats.model_validate({**stats, "decorated": {} if cache is None else cache.stats()})


@router.delete("", summary="Invalidate cache entries (admin)")
async def invalidate_cache(
    service: RegulatoryDep,
    _admin: AdminUser,
    prefix: Annotated[str, Query(max_length=200, pattern=r"^[A-Za-z0-9:_-]*$")] = "",
) -> CacheInvalidated:
    """Drop entries whose key starts with `prefix` (e.g. `classify`, `standards`); empty = all."""
    return CacheInvalidated(prefix=prefix, deleted=await service.cache.invalidate(prefix))
