"""Prometheus instruments of the commerce area (aggregated across workers in multiprocess mode)."""

from __future__ import annotations

from prometheus_client import Counter, Gauge, Histogram

PURCHASES = Counter(
    "commerce_purchases_total",
    "Purchase attempts by strategy and outcome.",
    ["strategy", "outcome"],
)
UNITS_SOLD = Counter(
    "commerce_units_sold_total",
    "Units sold (durably recorded), by strategy.",
    ["strategy"],
)
BATCH_SIZE = Histogram(
    "commerce_commit_batch_size",
    "Rows written per group-commit transaction.",
    ["batch"],
    buckets=(1, 2, 4, 8, 16, 32, 64, 128, 256, 512),
)
STOCK_REHYDRATIONS = Counter(
    "commerce_stock_rehydrations_total",
    "Stock keys rebuilt from SQL (missing in Redis: first load or Redis lost its data).",
)
STOCK_DRIFT = Counter(
    "commerce_stock_drift_units_total",
    "Units of drift the reconciler found between the stock store and SQL's ledger.",
    ["direction"],
)
RECONCILE_RUNS = Counter(
    "commerce_reconcile_runs_total",
    "Reconciler runs by result.",
    ["result"],
)
RESERVATIONS_ROLLED_BACK = Counter(
    "commerce_reservations_rolled_back_total",
    "Expired reservations without a SQL row that the reconciler gave back to stock.",
)
COMPENSATIONS = Counter(
    "commerce_compensations_total",
    "Purchases undone after the stock could not be settled, by reason.",
    ["reason"],
)
# Per product: the catalogue is an operator-managed list (tens of products, not user input), so a
# `product` label stays bounded. Stock is the last value a purchase saw, written once a second
# by the purchase service's feeder; across workers the most recent write wins (one shared store).
PRODUCT_UNITS_SOLD = Counter(
    "commerce_product_units_sold_total",
    "Units sold (durably recorded), by product id.",
    ["product"],
)
PRODUCT_STOCK = Gauge(
    "commerce_product_stock",
    "Units left of a product, as the last purchase of it saw them.",
    ["product"],
    multiprocess_mode="mostrecent",
)
FOLLOWUPS = Counter(
    "commerce_stock_followups_total",
    "Cancels, voids and confirms a purchase could not send during a stock-store stall, by what "
    "became of them (queued, delivered, failed, dropped).",
    ["kind", "outcome"],
)
