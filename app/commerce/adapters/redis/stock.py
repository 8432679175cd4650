"""Live stock in Redis: every change is one Lua script over the keys of one product, which
share the `{p:<id>}` hash tag (one Redis Cluster slot)."""

from __future__ import annotations

import re
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from redis.commands.core import AsyncScript
from redis.exceptions import BusyLoadingError, ResponseError

from app.commerce.repository import (
    Reservation,
    StockEvent,
    StockLedger,
    StockLevel,
    StockReply,
    StockSnapshot,
    StockStoreUnavailable,
)
from app.platform.storage.errors import REDIS_OUTAGES
from app.platform.storage.redis.batched import BatchedScript
from app.platform.storage.redis.client import RedisClient, lua_source, register_script

_ENTRY = re.compile(r"^(\d+)\|(\d+)\|([0-9a-f]*)\|(.*)$", re.S)


class ProductKeys:
    """The names of one product's keys."""

    __slots__ = (
        "applied",
        "base",
        "buyers",
        "cancelled",
        "events",
        "meta",
        "reservations",
        "settled",
        "stock",
        "version",
    )

    def __init__(self, product_id: int) -> None:
        self.base = f"{{p:{product_id}}}"
        self.stock = self.base + ":stock"
        self.meta = self.base + ":meta"
        self.buyers = self.base + ":buyers"
        self.reservations = self.base + ":reservations"
        self.settled = self.base + ":settled"
        self.cancelled = self.base + ":cancelled"
        self.applied = self.base + ":restocks"
        self.events = self.base + ":events"
        self.version = self.base + ":ver"

    def idempotency(self, digest: str) -> str:
        """The idempotency record of one (user, key) pair, by its digest."""
        return f"{self.base}:idem:{digest or '-'}"


def parse_reservation(product_id: int, purchase_id: str, entry: str) -> Reservation | None:
    """Decode a reservations-hash entry (`quantity|expiry|idempotency hash|user`)."""
    match = _ENTRY.match(entry)
    if match is None:
        return None
    qty, expires, digest, user = match.groups()
    return Reservation(
        purchase_id=purchase_id,
        product_id=product_id,
        user_id=user,
        quantity=int(qty),
        expires_at_ms=int(expires),
        idempotency_hash=digest,
    )


_UNAVAILABLE: tuple[type[Exception], ...] = (*REDIS_OUTAGES, BusyLoadingError, OSError)


@contextmanager
def _guard() -> Iterator[None]:
    try:
        yield
    except _UNAVAILABLE as exc:
        raise StockStoreUnavailable(type(exc).__name__) from exc


async def _run(script: AsyncScript | BatchedScript, keys: list[Any], args: list[Any]) -> StockReply:
    try:
        raw = await script(keys=keys, args=args)
    except _UNAVAILABLE as exc:
        raise StockStoreUnavailable(type(exc).__name__) from exc
    return _reply(raw)


def _reply(raw: Any) -> StockReply:
    items = [str(v) for v in raw]
    return StockReply(items[0], tuple(items[1:]))


def _ms(value: datetime | None) -> int:
    return 0 if value is None else int(value.timestamp() * 1000)


# The stock scripts: each one reads and writes one product's keys atomically.
LUA_DIR = Path(__file__).parent / "lua"


class RedisStockStore:
    """Scripts are EVALSHA-first and reloaded on NOSCRIPT (a restarted Redis forgets them)."""

    def __init__(
        self,
        redis: RedisClient,
        *,
        stream_max_len: int = 10_000,
        settled_retention_ms: int = 600_000,
    ) -> None:
        self._redis = redis
        self._max_len = str(stream_max_len)
        self._settled_ms = settled_retention_ms
        # redis-py's Script objects: EVALSHA, and the source again when Redis answers NOSCRIPT.
        # The two scripts every purchase runs batch the calls of one event-loop tick into one
        # pipeline (a flash sale makes hundreds at once); the rest are rare.
        self._reserve = BatchedScript(redis, lua_source(LUA_DIR / "purchase.lua"))
        self._confirm = BatchedScript(redis, lua_source(LUA_DIR / "purchase_confirm.lua"))
        self._release = register_script(redis, LUA_DIR / "purchase_release.lua")
        self._restock = register_script(redis, LUA_DIR / "restock.lua")
        self._rehydrate = register_script(redis, LUA_DIR / "rehydrate.lua")
        self._repair = register_script(redis, LUA_DIR / "stock_repair.lua")
        self._take = register_script(redis, LUA_DIR / "stock_take.lua")

    async def ping(self) -> None:
        await self._redis.ping()

    async def reserve(
        self,
        *,
        reservation: Reservation,
        fingerprint: str,
        now_ms: int,
        in_flight_ttl_ms: int,
    ) -> StockReply:
        r = reservation
        k = ProductKeys(r.product_id)
        return await _run(
            self._reserve,
            keys=[
                k.stock,
                k.meta,
                k.buyers,
                k.reservations,
                k.events,
                k.version,
                k.idempotency(r.idempotency_hash),
                k.cancelled,
            ],
            args=[
                r.user_id,
                r.quantity,
                r.purchase_id,
                fingerprint,
                now_ms,
                r.expires_at_ms,
                r.idempotency_hash,
                self._max_len,
                in_flight_ttl_ms,
            ],
        )

    async def confirm(
        self,
        *,
        reservation: Reservation,
        now_ms: int,
        fingerprint: str,
        response_json: str,
        idempotency_ttl_ms: int,
    ) -> StockReply:
        r = reservation
        k = ProductKeys(r.product_id)
        return await _run(
            self._confirm,
            keys=[
                k.stock,
                k.reservations,
                k.settled,
                k.buyers,
                k.events,
                k.version,
                k.idempotency(r.idempotency_hash),
                k.meta,
                k.cancelled,
            ],
            args=[
                r.purchase_id,
                r.user_id,
                r.quantity,
                now_ms,
                self._settled_ms,
                r.idempotency_hash,
                fingerprint,
                response_json,
                idempotency_ttl_ms,
                self._max_len,
            ],
        )

    async def release(
        self,
        *,
        product_id: int,
        purchase_id: str,
        idempotency_hash: str,
        now_ms: int,
        reason: str,
        cancel_until_ms: int = 0,
    ) -> StockReply:
        return await self._release_or_void(
            product_id=product_id,
            purchase_id=purchase_id,
            idempotency_hash=idempotency_hash,
            args=[now_ms, self._max_len, reason, cancel_until_ms, 0, ""],
        )

    async def void(
        self, *, reservation: Reservation, now_ms: int, cancel_until_ms: int
    ) -> StockReply:
        r = reservation
        return await self._release_or_void(
            product_id=r.product_id,
            purchase_id=r.purchase_id,
            idempotency_hash=r.idempotency_hash,
            args=[now_ms, self._max_len, "void", cancel_until_ms, r.quantity, r.user_id],
        )

    async def _release_or_void(
        self, *, product_id: int, purchase_id: str, idempotency_hash: str, args: list[Any]
    ) -> StockReply:
        k = ProductKeys(product_id)
        return await _run(
            self._release,
            keys=[
                k.stock,
                k.reservations,
                k.buyers,
                k.events,
                k.version,
                k.idempotency(idempotency_hash),
                k.meta,
                k.cancelled,
                k.settled,
            ],
            args=[purchase_id, *args],
        )

    async def take(
        self, *, reservation: Reservation, now_ms: int, fencing_token: int
    ) -> StockReply:
        r = reservation
        k = ProductKeys(r.product_id)
        return await _run(
            self._take,
            keys=[k.stock, k.meta, k.buyers, k.reservations, k.events, k.version, k.cancelled],
            args=[
                r.user_id,
                r.quantity,
                r.purchase_id,
                now_ms,
                r.expires_at_ms,
                self._max_len,
                fencing_token,
            ],
        )

    async def peek(self, *, product_id: int, user_id: str) -> tuple[int | None, int, int]:
        k = ProductKeys(product_id)
        with _guard():
            async with self._redis.pipeline(transaction=False) as pipe:
                pipe.get(k.stock)
                pipe.hget(k.buyers, user_id)
                pipe.hmget(k.meta, ["limit"])
                stock, bought, meta = await pipe.execute()
        if meta[0] is None:
            stock = None  # without its meta the product is not fully loaded: rebuild it
        return (
            None if stock is None else int(stock),
            int(bought or 0),
            int(meta[0] or 0),
        )

    async def restock(
        self, *, product_id: int, restock_id: int, quantity: int, now_ms: int
    ) -> StockReply:
        k = ProductKeys(product_id)
        return await _run(
            self._restock,
            keys=[k.stock, k.meta, k.applied, k.events, k.version],
            args=[restock_id, quantity, now_ms, self._max_len],
        )

    async def rehydrate(self, ledger: StockLedger, *, now_ms: int) -> StockReply:
        p = ledger.product
        k = ProductKeys(p.id)
        args: list[Any] = [
            ledger.available,
            p.initial_stock,
            p.restocked,
            _ms(p.starts_at),
            _ms(p.ends_at),
            p.per_user_limit or 0,
            now_ms,
            self._max_len,
            len(ledger.recent_purchase_ids),
            *ledger.recent_purchase_ids,
            len(ledger.restock_ids),
            *ledger.restock_ids,
            len(ledger.sold_by_user),
        ]
        for user, qty in ledger.sold_by_user.items():
            args.extend((user, qty))
        return await _run(
            self._rehydrate,
            keys=[
                k.stock,
                k.meta,
                k.buyers,
                k.reservations,
                k.settled,
                k.applied,
                k.events,
                k.version,
            ],
            args=args,
        )

    async def levels(self, product_ids: Sequence[int]) -> dict[int, StockLevel | None]:
        ids = list(dict.fromkeys(product_ids))
        if not ids:
            return {}
        with _guard():
            async with self._redis.pipeline(transaction=False) as pipe:
                for pid in ids:
                    k = ProductKeys(pid)
                    pipe.get(k.stock)
                    pipe.hmget(k.meta, ["initial", "restocked"])
                    pipe.hlen(k.reservations)
                raw = await pipe.execute()
        out: dict[int, StockLevel | None] = {}
        for i, pid in enumerate(ids):
            stock, meta, reserved = raw[3 * i : 3 * i + 3]
            if stock is None or meta[0] is None:
                out[pid] = None
                continue
            out[pid] = StockLevel(
                product_id=pid,
                stock=int(stock),
                initial=int(meta[0]),
                restocked=int(meta[1] or 0),
                reserved=int(reserved),
            )
        return out

    async def snapshot(self, product_id: int) -> StockSnapshot:
        k = ProductKeys(product_id)
        # MULTI/EXEC: stock, version and reservations from the same instant.
        with _guard():
            async with self._redis.pipeline(transaction=True) as pipe:
                pipe.get(k.stock)
                pipe.get(k.version)
                pipe.hgetall(k.reservations)
                stock, version, entries = await pipe.execute()
        reservations = [
            r
            for pid, entry in (entries or {}).items()
            if (r := parse_reservation(product_id, str(pid), str(entry))) is not None
        ]
        return StockSnapshot(
            stock=None if stock is None else int(stock),
            version=str(version or "0"),
            reservations=reservations,
        )

    async def repair(self, *, product_id: int, version: str, stock: int, now_ms: int) -> StockReply:
        k = ProductKeys(product_id)
        return await _run(
            self._repair,
            keys=[k.stock, k.version, k.events],
            args=[version, stock, now_ms, self._max_len],
        )

    async def events(
        self, *, product_id: int, limit: int, before: str | None = None
    ) -> list[StockEvent]:
        k = ProductKeys(product_id)
        top = "+" if before is None else f"({before}"
        try:
            with _guard():
                entries = await self._redis.xrevrange(k.events, max=top, min="-", count=limit)
        except ResponseError as exc:
            # A malformed `before` id is the caller's mistake, not the store's.
            if "Invalid stream ID" in str(exc):
                return []
            raise
        return [
            _event(product_id, str(eid), {str(k): v for k, v in (fields or {}).items()})
            for eid, fields in entries or []
        ]


def _event(product_id: int, event_id: str, fields: dict[str, Any]) -> StockEvent:
    at_ms = int(fields.get("at") or event_id.split("-", 1)[0])
    stock = fields.get("stock")
    return StockEvent(
        id=event_id,
        product_id=product_id,
        kind=str(fields.get("kind", "")),
        delta=int(fields.get("delta", 0)),
        stock_after=None if stock is None else int(stock),
        purchase_id=fields.get("purchase_id") or None,
        user_id=fields.get("user") or None,
        created_at=datetime.fromtimestamp(at_ms / 1000, tz=UTC),
    )
