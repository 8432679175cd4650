"""AI-result cache statistics and invalidation."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field


class CacheStats(BaseModel):
    """GET /api/cache/stats: hits and misses of this process, size of the shared store."""

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "backend": "memory",
                    "enabled": True,
                    "hits": 12,
                    "misses": 4,
                    "hit_ratio": 0.75,
                    "hit_rate": 0.75,
                    "miss_rate": 0.25,
                    "size": 4,
                    "ttl_s": 3600,
                    "max_entries": 10000,
                    "counted_per": "process",
                    "decorated": {
                        "template:": {
                            "hits": 9,
                            "misses": 1,
                            "errors": 0,
                            "hit_rate": 0.9,
                            "miss_rate": 0.1,
                        }
                    },
                }
            ]
        }
    )

    backend: Literal["memory", "redis"]
    enabled: bool
    hits: int
    misses: int
    hit_ratio: float
    hit_rate: float
    miss_rate: float
    size: int
    ttl_s: float
    max_entries: int | None
    counted_per: Literal["process"]
    # The `@cached` functions' lookups by key prefix (app/platform/cache.py), this process.
    decorated: dict[str, dict[str, float]] = Field(default_factory=dict)


class CacheInvalidated(BaseModel):
    """DELETE /api/cache: how many entries were dropped."""

    prefix: str
    deleted: int
