"""Prometheus instruments of the batch area (aggregated across workers in multiprocess mode)."""

from __future__ import annotations

from prometheus_client import Counter

# With batch_items_total (items given an outcome) this is the progress of all queued work:
# submitted minus finished is the backlog, finished / submitted the share done.
BATCH_ITEMS_SUBMITTED = Counter(
    "batch_items_submitted_total",
    "Items of newly created batch jobs, by job kind.",
    ["kind"],
)
