"""Prometheus instruments of the regulatory area (aggregated across workers in multiprocess mode)."""

from __future__ import annotations

from prometheus_client import Counter

# `endpoint` is the cache namespace segment (classify, analyze, ...): a fixed set of routes.
AI_CACHE_LOOKUPS = Counter(
    "ai_cache_lookups_total",
    "AI result cache lookups by endpoint and outcome (hit | miss).",
    ["endpoint", "outcome"],
)
