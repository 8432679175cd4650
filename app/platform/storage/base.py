"""Storage Protocols: what services may ask of storage. Each has one adapter per backend
(`memory/`, `sql/`, `redis/`) and one contract test suite run against all of them."""

from __future__ import annotations

import builtins
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal
from typing import Any, Protocol, runtime_checkable

from app.platform.ratelimit.items import LimitCheck, StoreDecision


@runtime_checkable
class Pingable(Protocol):
    """A backend that can say whether it answers (used by health checks)."""

    async def ping(self) -> None:
        """Return when the backend answers; raise otherwise."""


class KeyValueStore(Protocol):
    """Strings by key with optional TTL: the cache, idempotency records and similar state."""

    async def get(self, key: str) -> str | None:
        """The value, or None when missing or expired."""

    async def set(self, key: str, value: str, *, ttl_s: float | None = None) -> None:
        """Store a value, replacing any old one; `ttl_s` None keeps it until deleted."""

    async def set_if_absent(self, key: str, value: str, *, ttl_s: float | None = None) -> bool:
        """Store only when the key is missing or expired; True when stored."""

    async def delete(self, key: str) -> bool:
        """Remove a key; True when it existed."""

    async def delete_prefix(self, prefix: str) -> int:
        """Remove every key starting with `prefix`; the count removed."""

    async def count(self, prefix: str = "") -> int:
        """How many live keys start with `prefix`."""


@dataclass(frozen=True, slots=True)
class Lease:
    """Proof of holding a lock: the random `token` releases/extends it; `fencing_token` grows
    with every grant of the same lock name, so a store can refuse writes from a stale holder."""

    name: str
    token: str = field(repr=False)  # a credential: kept out of reprs and so out of logs
    fencing_token: int
    ttl_ms: int


def check_lock_args(name: str, ttl_ms: int) -> None:
    """Refuse a lock without a TTL (a crashed holder would block it forever) or without a name."""
    if not name:
        raise ValueError("a lock needs a non-empty name")
    if isinstance(ttl_ms, bool) or not isinstance(ttl_ms, int) or ttl_ms <= 0:
        raise ValueError(f"a lock needs a positive integer ttl_ms, got {ttl_ms!r}")


class LockStore(Protocol):
    """Named mutual-exclusion leases with a mandatory TTL (SET NX PX + compare-and-delete)."""

    async def try_acquire(self, name: str, *, ttl_ms: int) -> Lease | None:
        """Take the lock if free (or expired); None when someone else holds it."""

    async def release(self, lease: Lease) -> bool:
        """Free the lock only if `lease` still holds it; True when it did."""

    async def extend(self, lease: Lease, *, ttl_ms: int) -> bool:
        """Reset the TTL to `ttl_ms` only if `lease` still holds it; True when it did."""


# --- accounts ------------------------------------------------------------------------
@dataclass(frozen=True, slots=True)
class UserRecord:
    """A stored account; `id` never changes (other areas store it as the owner of their rows)."""

    id: str
    username: str
    password_hash: str = field(repr=False)
    role: str
    is_active: bool
    created_at: datetime
    updated_at: datetime


@dataclass(frozen=True, slots=True)
class ApiKeyRecord:
    """A stored API key: only the SHA-256 of the key is kept; `prefix` is what lists show."""

    id: str
    user_id: str
    name: str
    prefix: str
    key_hash: str = field(repr=False)
    created_at: datetime
    rotated_at: datetime | None = None
    revoked_at: datetime | None = None


class UserRepository(Protocol):
    """Accounts by id and by (lower-case) username; usernames are unique."""

    async def create(self, user: UserRecord) -> bool:
        """Insert `user`; False (nothing written) when the username is taken."""

    async def get(self, user_id: str) -> UserRecord | None:
        """The user with this id, or None."""

    async def get_by_username(self, username: str) -> UserRecord | None:
        """The user with this (already normalised) username, or None."""

    async def list(self, *, limit: int, offset: int) -> list[UserRecord]:
        """Users ordered by creation time, then id."""

    async def update(
        self,
        user_id: str,
        *,
        role: str | None = None,
        is_active: bool | None = None,
        updated_at: datetime,
    ) -> UserRecord | None:
        """Change the given fields; None when no such user."""

    async def upsert_admin(self, user: UserRecord) -> UserRecord:
        """Create `user` as admin, or make the existing user of that username an active admin with
        `user.password_hash`; safe when several processes do it at the same moment."""

    async def changed_since(self, since: datetime) -> builtins.list[UserRecord]:
        """Users whose `updated_at` is at or after `since` (the auth change feed)."""


class ApiKeyRepository(Protocol):
    """API keys of users, found by the hash of the presented key."""

    async def create(self, key: ApiKeyRecord, *, max_active: int) -> bool:
        """Insert `key` unless its user already has `max_active` unrevoked keys (atomically)."""

    async def get_by_hash(self, key_hash: str) -> ApiKeyRecord | None:
        """The key (revoked or not) whose hash is `key_hash`, or None."""

    async def list_active(self, user_id: str) -> list[ApiKeyRecord]:
        """The user's unrevoked keys, oldest first."""

    async def revoke(
        self, key_id: str, *, user_id: str, revoked_at: datetime
    ) -> ApiKeyRecord | None:
        """Revoke the user's unrevoked key `key_id`; the revoked record, or None if none."""

    async def rotate(
        self, key_id: str, *, user_id: str, prefix: str, key_hash: str, rotated_at: datetime
    ) -> tuple[ApiKeyRecord, ApiKeyRecord] | None:
        """Give the user's unrevoked key a new secret (the old one stops working at once);
        (old, new) records, or None if no such key."""


# --- rate limiting -------------------------------------------------------------------
class RateLimitStore(Protocol):
    """Sliding-window counters: every limit of a request checked and counted in one atomic step."""

    async def ping(self) -> None:
        """Return when the backend answers; raise otherwise."""

    async def hit(self, checks: Sequence[LimitCheck], *, cost: int = 1) -> StoreDecision:
        """Check every limit; count the request in all of them only if all allow it."""


# --- regulatory ------------------------------------------------------------------------
@dataclass(frozen=True, slots=True)
class SessionRecord:
    """A user's working state between tabs and restarts; `data` is any JSON object."""

    id: str
    owner_id: str | None
    data: dict[str, Any]
    created_at: datetime
    updated_at: datetime
    expires_at: datetime


# Turns the stored data into the new data (a merge); may raise to abort the update unchanged.
SessionMutation = Callable[[dict[str, Any]], dict[str, Any]]


class SessionStore(Protocol):
    """Sessions with a TTL counted from the last write; an expired session is gone."""

    async def create(
        self, *, session_id: str, owner_id: str | None, data: dict[str, Any], ttl_s: float
    ) -> SessionRecord:
        """Store a new session (ids are random; a clash is a bug, not a case to handle)."""

    async def get(self, session_id: str) -> SessionRecord | None:
        """The live session, or None when missing or expired."""

    async def update(
        self, session_id: str, *, mutate: SessionMutation, ttl_s: float
    ) -> SessionRecord | None:
        """Replace data by `mutate(old data)` and restart the TTL, atomically with respect to
        concurrent updates (no lost merges); None when missing or expired."""

    async def delete(self, session_id: str) -> bool:
        """Remove the session; True when it was live."""

    async def list_by_owner(self, owner_id: str, *, limit: int) -> list[SessionRecord]:
        """The owner's live sessions, most recently updated first."""

    async def purge_expired(self, *, batch: int = 1000) -> int:
        """Free the storage of expired sessions, at most `batch` per transaction; how many went
        (0 where the backend drops them itself). Reads never return them either way."""


@dataclass(frozen=True, slots=True)
class NewPlan:
    """A plan to store as version 1; `plan` is its API body (camelCase)."""

    id: str
    tier: str
    plan: dict[str, Any]


@dataclass(frozen=True, slots=True)
class PlanRecord:
    """One stored version of a plan."""

    id: str
    version: int
    session_id: str | None
    owner_id: str | None
    tier: str
    plan: dict[str, Any]
    modifications: str | None
    applied_changes: list[str]
    created_at: datetime


class PlanVersionConflict(Exception):
    """`add_version` was based on a version that is no longer the latest."""


class PlanRepository(Protocol):
    """Durable plans with every version kept; (plan id, version) is unique."""

    async def create(
        self, plans: Sequence[NewPlan], *, session_id: str | None, owner_id: str | None
    ) -> list[PlanRecord]:
        """Store each plan as version 1, all in one transaction."""

    async def add_version(
        self,
        plan_id: str,
        *,
        base_version: int,
        plan: dict[str, Any],
        modifications: str,
        applied_changes: list[str],
    ) -> PlanRecord | None:
        """Store version `base_version + 1`; None for an unknown plan; PlanVersionConflict when
        `base_version` is not the latest any more (someone else refined it meanwhile)."""

    async def get(self, plan_id: str, *, version: int | None = None) -> PlanRecord | None:
        """The latest version (or version `version`), or None."""

    async def history(self, plan_id: str) -> list[PlanRecord]:
        """Every version, oldest first; empty for an unknown plan."""

    async def list_latest(
        self, *, session_id: str | None = None, owner_id: str | None = None, limit: int = 100
    ) -> list[PlanRecord]:
        """Latest versions of the plans matching every given filter, in creation order
        (the plans of one `create` call keep the order they were given in)."""

    async def delete(self, plan_id: str) -> bool:
        """Remove the plan with all its versions; True when it existed."""


# --- commerce --------------------------------------------------------------------------
@dataclass(frozen=True, slots=True)
class NewProduct:
    """A product to create; its stock starts at `initial_stock`."""

    name: str
    price: Decimal
    initial_stock: int
    per_user_limit: int | None
    starts_at: datetime | None
    ends_at: datetime | None
    created_at: datetime


@dataclass(frozen=True, slots=True)
class ProductRecord:
    """A stored product. `stock` is live only under the SQL strategy (Redis holds it otherwise)."""

    id: int
    name: str
    price: Decimal
    initial_stock: int
    restocked: int
    stock: int
    per_user_limit: int | None
    starts_at: datetime | None
    ends_at: datetime | None
    created_at: datetime


@dataclass(frozen=True, slots=True)
class PurchaseRecord:
    """One durable purchase; `id` is chosen before the stock is reserved (the reservation id)."""

    id: str
    product_id: int
    user_id: str
    quantity: int
    unit_price: Decimal
    total_price: Decimal
    idempotency_key: str | None
    purchased_at: datetime


@dataclass(frozen=True, slots=True)
class StockLedger:
    """SQL's account of one product: what the stock must be, and what it was made of."""

    product: ProductRecord
    sold: int
    restock_ids: list[int]
    # Per buyer; filled only when asked (products with a per-user limit).
    sold_by_user: dict[str, int]
    # Purchases made since the asked-for instant: ids a stock rebuild counts as settled.
    recent_purchase_ids: list[str]

    @property
    def available(self) -> int:
        """initial + restocks − Σ purchases (before subtracting live reservations)."""
        return self.product.initial_stock + self.product.restocked - self.sold


@dataclass(frozen=True, slots=True)
class StockEvent:
    """One entry of the stock event log (a Redis Stream entry or a `stock_events` row)."""

    id: str
    product_id: int
    kind: str
    delta: int
    stock_after: int | None
    purchase_id: str | None
    user_id: str | None
    created_at: datetime


@dataclass(frozen=True, slots=True)
class SqlPurchaseRequest:
    """One purchase for the SQL-stock strategy: stock check, limit check and insert together."""

    purchase: PurchaseRecord
    per_user_limit: int | None


@dataclass(frozen=True, slots=True)
class SqlPurchaseResult:
    """How one SQL-stock purchase went: `ok`, `insufficient`, `limit` or `duplicate`."""

    outcome: str
    stock: int = 0
    already_bought: int = 0
    existing: PurchaseRecord | None = None


class ProductRepository(Protocol):
    """Durable products and their restock ledger."""

    async def create(self, product: NewProduct) -> ProductRecord:
        """Insert a product with `stock = initial_stock`; its new id is in the record."""

    async def get(self, product_id: int) -> ProductRecord | None:
        """The product, or None."""

    async def get_many(self, product_ids: Sequence[int]) -> dict[int, ProductRecord]:
        """The products that exist among `product_ids`, by id."""

    async def list_page(self, *, limit: int, offset: int) -> list[ProductRecord]:
        """Products in id order."""

    async def all_ids(self) -> list[int]:
        """Every product id (the reconciler walks them)."""

    async def add_restock(
        self, *, product_id: int, quantity: int, created_by: str | None, created_at: datetime
    ) -> tuple[int, ProductRecord] | None:
        """Record a restock and raise `restocked` and `stock` in one transaction; the restock id
        and the updated product, or None for an unknown product."""

    async def ledger(
        self, product_id: int, *, recent_since: datetime, per_user: bool
    ) -> StockLedger | None:
        """Everything a stock rebuild needs, read in one transaction; None for unknown ids."""

    async def reconcile_sql_stock(self, product_id: int) -> tuple[int, int] | None:
        """SQL strategy: in one transaction that holds the product row, compute
        `initial + restocks − Σ purchases` and write it to the stock column if it differs;
        (expected, old stock), or None for an unknown product."""


class DuplicatePurchase(Exception):
    """The row broke a unique key: same id, or same (product, user, Idempotency-Key)."""


class PurchaseRepository(Protocol):
    """Durable purchases. Inserts are grouped: many rows, one transaction."""

    async def insert_many(self, purchases: Sequence[PurchaseRecord]) -> None:
        """Insert every row in one transaction, or none (IntegrityError on a duplicate key)."""

    async def buy_with_sql_stock(
        self, requests: Sequence[SqlPurchaseRequest], *, events: bool = True
    ) -> list[SqlPurchaseResult]:
        """SQL strategy: per request a conditional `UPDATE … WHERE stock >= :q`, the limit check
        and the insert (plus a stock event), all requests in one transaction."""

    async def get(self, purchase_id: str) -> PurchaseRecord | None:
        """The purchase, or None."""

    async def get_by_idempotency_key(
        self, *, product_id: int, user_id: str, key: str
    ) -> PurchaseRecord | None:
        """The purchase this user made for this product with this Idempotency-Key, or None."""

    async def list_page(
        self, *, user_id: str | None, product_id: int | None, limit: int, offset: int
    ) -> list[PurchaseRecord]:
        """Purchases matching every given filter, newest first."""

    async def existing_ids(self, purchase_ids: Sequence[str]) -> set[str]:
        """Which of `purchase_ids` have a row."""

    async def delete(self, purchase_id: str) -> bool:
        """Remove a row (compensation when the stock could not be settled); True if it existed."""


class StockEventLog(Protocol):
    """The stock event log of the SQL strategy (Redis keeps it in a Stream)."""

    async def append(self, events: Sequence[StockEvent]) -> None:
        """Add events (their `id` is assigned by the store)."""

    async def recent(
        self, *, product_id: int | None, limit: int, before: str | None = None
    ) -> list[StockEvent]:
        """Newest first; `before` pages back from an event id."""


@dataclass(frozen=True, slots=True)
class StockReply:
    """What a stock script answered: a status word (`OK`, `MISSING`, …) and its values."""

    status: str
    values: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class Reservation:
    """Units taken from the stock for a purchase whose SQL row is not settled yet."""

    purchase_id: str
    product_id: int
    user_id: str
    quantity: int
    expires_at_ms: int
    idempotency_hash: str = ""


@dataclass(frozen=True, slots=True)
class StockLevel:
    """A product's stock as the stock store sees it."""

    product_id: int
    stock: int
    initial: int
    restocked: int
    reserved: int


@dataclass(frozen=True, slots=True)
class StockSnapshot:
    """Stock, version and live reservations of one product, read atomically."""

    stock: int | None
    version: str
    reservations: list[Reservation]


class StockStoreUnavailable(Exception):
    """The stock store did not answer (connection refused, timeout, still loading)."""


class StockStore(Protocol):
    """Live stock in Redis, changed only by Lua scripts (one slot per product). The SQL
    strategy is its embedded twin: there the stock is a column of `products`."""

    async def reserve(
        self,
        *,
        reservation: Reservation,
        fingerprint: str,
        now_ms: int,
        in_flight_ttl_ms: int,
    ) -> StockReply:
        """Idempotency, window, limit, stock check, decrement, reservation, event: one step.
        Statuses: OK(stock) MISSING NOT_ACTIVE LIMIT(bought, limit) INSUFFICIENT(stock)
        IDEM_MISMATCH IDEM_IN_FLIGHT REPLAY(response JSON)."""

    async def confirm(
        self,
        *,
        reservation: Reservation,
        now_ms: int,
        fingerprint: str,
        response_json: str,
        idempotency_ttl_ms: int,
    ) -> StockReply:
        """Settle a reservation whose row is committed: CONFIRMED | COUNTED | RETAKEN |
        OVERSOLD(stock) | MISSING."""

    async def release(
        self, *, product_id: int, purchase_id: str, idempotency_hash: str, now_ms: int, reason: str
    ) -> StockReply:
        """Give a reservation's units back once: RELEASED(stock) | GONE | MISSING."""

    async def take(
        self, *, reservation: Reservation, now_ms: int, fencing_token: int
    ) -> StockReply:
        """Lock strategy: decrement and reserve (the caller holds the product lock)."""

    async def peek(self, *, product_id: int, user_id: str) -> tuple[int | None, int, int]:
        """Lock strategy: (stock or None when missing, units this user bought, per-user limit)."""

    async def restock(
        self, *, product_id: int, restock_id: int, quantity: int, now_ms: int
    ) -> StockReply:
        """Add a restock once: OK(stock) | DUPLICATE(stock) | MISSING."""

    async def rehydrate(self, ledger: StockLedger, *, now_ms: int) -> StockReply:
        """Load the stock from SQL's ledger unless present: OK(stock, live, short) | EXISTS."""

    async def levels(self, product_ids: Sequence[int]) -> dict[int, StockLevel | None]:
        """Stock levels of many products in one round trip (None where not loaded)."""

    async def snapshot(self, product_id: int) -> StockSnapshot:
        """Stock, version and reservations in one atomic read."""

    async def repair(self, *, product_id: int, version: str, stock: int, now_ms: int) -> StockReply:
        """Set the stock if the version is still `version`: REPAIRED(old) | SAME | BUSY | MISSING."""

    async def events(
        self, *, product_id: int, limit: int, before: str | None = None
    ) -> list[StockEvent]:
        """The product's stock events, newest first."""


# --- batch jobs --------------------------------------------------------------------------
# A job's life: queued → running ⇄ paused (resume puts it back to queued) → completed, or
# cancelled / failed at any point before that. A worker runs a job under a lease it renews.
BATCH_ACTIVE = ("queued", "running", "paused")
BATCH_FINAL = ("completed", "cancelled", "failed")


@dataclass(frozen=True, slots=True)
class NewBatchItem:
    """One unit of work of a new job: the client's own reference and the validated input."""

    ref: str | None
    input: dict[str, Any]


@dataclass(frozen=True, slots=True)
class NewBatchJob:
    """A job to store as queued, with its items at positions 0…n-1."""

    id: str
    owner_id: str
    kind: str
    name: str | None
    items: Sequence[NewBatchItem]
    idempotency_key: str | None
    request_hash: str | None
    created_at: datetime


@dataclass(frozen=True, slots=True)
class BatchJobRecord:
    """A stored job. `processed` = `succeeded` + `failed` counts items with an outcome; the run
    fields describe the current run (since the last claim), for the rate and the ETA."""

    id: str
    owner_id: str
    kind: str
    name: str | None
    status: str
    total: int
    processed: int
    succeeded: int
    failed: int
    idempotency_key: str | None
    request_hash: str | None
    lease_owner: str | None
    lease_expires_at: datetime | None
    created_at: datetime
    updated_at: datetime
    started_at: datetime | None
    finished_at: datetime | None
    run_started_at: datetime | None
    run_processed_at_start: int
    error: str | None


def queued_job_record(job: NewBatchJob) -> BatchJobRecord:
    """What a just-created job looks like: queued, nothing done, no lease."""
    return BatchJobRecord(
        id=job.id,
        owner_id=job.owner_id,
        kind=job.kind,
        name=job.name,
        status="queued",
        total=len(job.items),
        processed=0,
        succeeded=0,
        failed=0,
        idempotency_key=job.idempotency_key,
        request_hash=job.request_hash,
        lease_owner=None,
        lease_expires_at=None,
        created_at=job.created_at,
        updated_at=job.created_at,
        started_at=None,
        finished_at=None,
        run_started_at=None,
        run_processed_at_start=0,
        error=None,
    )


@dataclass(frozen=True, slots=True)
class BatchItemRecord:
    """One item of a job; `status` is pending | succeeded | failed | cancelled."""

    job_id: str
    position: int
    ref: str | None
    input: dict[str, Any]
    status: str
    result: dict[str, Any] | None
    error_code: str | None
    error_message: str | None
    attempts: int
    finished_at: datetime | None


@dataclass(frozen=True, slots=True)
class BatchItemOutcome:
    """What a worker made of one pending item: a result, or an error code and message."""

    position: int
    result: dict[str, Any] | None
    error_code: str | None = None
    error_message: str | None = None
    attempts: int = 1

    @property
    def succeeded(self) -> bool:
        """Whether the item has a result."""
        return self.error_code is None


class BatchJobRepository(Protocol):
    """Jobs and their items. Every write that a worker makes is conditional on its lease, so a
    worker that lost its job (paused, cancelled, or taken over after its lease ran out) writes
    nothing; every counter is counted from the item rows actually changed."""

    async def create(
        self, job: NewBatchJob, *, max_active: int
    ) -> tuple[BatchJobRecord, bool] | None:
        """Store the job as queued with its items pending, in one transaction: (job, True).
        When the owner already used `job.idempotency_key`: (that job, False), nothing written.
        None, nothing written, when the owner already has `max_active` jobs queued, running or
        paused (checked atomically with the insert)."""

    async def get(self, job_id: str) -> BatchJobRecord | None:
        """The job, or None."""

    async def list_by_owner(
        self, owner_id: str, *, status: str | None, limit: int, offset: int
    ) -> builtins.list[BatchJobRecord]:
        """The owner's jobs (of one status, if given), newest first."""

    async def items(
        self, job_id: str, *, status: str | None, limit: int, offset: int
    ) -> builtins.list[BatchItemRecord]:
        """The job's items (of one status, if given) by position."""

    async def transition(
        self, job_id: str, *, allowed_from: Sequence[str], to: str, now: datetime
    ) -> BatchJobRecord | None:
        """Set the status to `to` if it is one of `allowed_from`, atomically, and clear the lease
        (a worker holding it stops at its next write). To `cancelled`: the pending items become
        cancelled and `finished_at` is set. None when the job is missing or in another status."""

    async def claim(
        self, *, worker_id: str, now: datetime, lease_s: float
    ) -> BatchJobRecord | None:
        """The oldest queued job, or the oldest running one whose lease has expired, now running
        under `worker_id`'s lease until `now + lease_s`; `started_at` set on the first claim, the
        run fields on every claim. None when there is nothing to run. Two workers never get
        the same job from one moment's state."""

    async def next_pending(self, job_id: str, *, limit: int) -> builtins.list[BatchItemRecord]:
        """Up to `limit` pending items, by position."""

    async def heartbeat(
        self, job_id: str, *, worker_id: str, now: datetime, lease_s: float
    ) -> bool:
        """Extend the lease to `now + lease_s` while the job is running under `worker_id`; False
        (nothing written) otherwise."""

    async def record(
        self,
        job_id: str,
        *,
        worker_id: str,
        outcomes: Sequence[BatchItemOutcome],
        now: datetime,
        lease_s: float,
    ) -> BatchJobRecord | None:
        """In one transaction, while the job is running under `worker_id`'s lease: store each
        outcome on its item if that item is still pending, add the items changed to the
        counters, extend the lease; when no item is left pending the job is completed
        (`finished_at` set, lease cleared). None, nothing written, when it is not running under
        that lease. An empty `outcomes` only checks for completion (and renews the lease)."""

    async def release(self, job_id: str, *, worker_id: str, now: datetime) -> bool:
        """Put a job running under `worker_id` back to queued with no lease (a worker stopping);
        False when it was not running under that lease."""

    async def fail(self, job_id: str, *, worker_id: str, error: str, now: datetime) -> bool:
        """Mark a job running under `worker_id` failed with `error`; its pending items become
        cancelled. False when it was not running under that lease."""

    async def delete(self, job_id: str, *, statuses: Sequence[str]) -> bool:
        """Remove the job and its items if its status is one of `statuses`; True when removed."""

    async def purge_finished(self, *, before: datetime, batch: int = 1000) -> int:
        """Remove up to `batch` jobs (with their items) that finished before `before`; how many."""
