"""Rate-limit counters in Redis: every limit of a request in one Lua call, on Redis's clock.

The call is one EVALSHA on the app's redis-py client; the calls of one event-loop tick share a
pipeline (`BatchedScript`), so a burst does not queue for the pool's connections. Blocks live in
the same Redis (every worker and instance sees them) and are checked and placed by the same call.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from app.platform.ratelimit.blocks import BlockCheck, BlockRecord
from app.platform.ratelimit.items import NEWLY_BLOCKED, LimitCheck, StoreDecision, WindowResult
from app.platform.storage.redis.batched import BatchedScript
from app.platform.storage.redis.client import RedisClient, lua_source

# Keys and arguments kept for recent callers (see `RedisRateLimitStore.hit`).
COMMAND_CACHE_SIZE = 8192


LUA_DIR = Path(__file__).parent / "lua"
_Command = tuple[Sequence[LimitCheck], int, BlockCheck | None, list[str], list[int | str]]


def _text(value: bytes | str) -> str:
    return value.decode() if isinstance(value, bytes) else value


class RedisRateLimitStore:
    """One EVALSHA per request: check all limits, count in all or none (see rate_limit.lua)."""

    def __init__(self, redis: RedisClient, *, namespace: str = "rl:") -> None:
        self._redis = redis
        self._ns = namespace
        self._blocks_index = namespace + "blocks"
        self._script = BatchedScript(redis, lua_source(LUA_DIR / "rate_limit.lua"))
        # The limiter hands the same checks tuple for the same caller again and again (its plan
        # memo): keep that tuple's keys and arguments. Keyed by identity, holding the tuple so
        # its id cannot be reused while the entry lives.
        self._commands: dict[int, _Command] = {}

    async def ping(self) -> None:
        await self._redis.ping()

    def _block_keys(self, client: str) -> tuple[str, str, str]:
        # `{client}` is the counters' hash tag too (policy.block_client): one slot per call.
        return (
            f"{self._ns}block:{{{client}}}",
            f"{self._ns}strikes:{{{client}}}",
            f"{self._ns}blocklevel:{{{client}}}",
        )

    def _command(
        self, checks: Sequence[LimitCheck], cost: int, block: BlockCheck | None
    ) -> tuple[list[str], list[int | str]]:
        cached = self._commands.get(id(checks))
        if cached is not None and cached[0] is checks and cached[1] == cost and cached[2] == block:
            return cached[3], cached[4]
        keys = [self._ns + check.key for check in checks]
        args: list[int | str] = [cost, len(checks)]
        for check in checks:
            args.extend((check.item.amount, check.item.window_ms))
        if block is not None:
            client, rule = block
            keys.extend(self._block_keys(client))
            args.extend(
                (
                    rule.after,
                    rule.window_s * 1000,
                    rule.block_s * 1000,
                    rule.max_block_s * 1000,
                    client,
                    rule.reason(),
                )
            )
        if len(self._commands) >= COMMAND_CACHE_SIZE:
            self._commands.clear()  # one-off callers churn; a reset is O(1) amortised
        self._commands[id(checks)] = (checks, cost, block, keys, args)
        return keys, args

    async def hit(
        self, checks: Sequence[LimitCheck], *, cost: int = 1, block: BlockCheck | None = None
    ) -> StoreDecision:
        """Check every limit; count the request in all of them only if all allow it."""
        if not checks:
            return StoreDecision(allowed=True, results=())
        keys, args = self._command(checks, cost, block)
        reply = await self._script(keys=keys, args=args)
        allowed = int(reply[0]) == 1
        results = tuple(
            [
                WindowResult(allowed, int(reply[i]), int(reply[i + 1]), int(reply[i + 2]))
                for i in range(4, len(reply), 3)
            ]
        )
        decision = StoreDecision(allowed, results, int(reply[1]), int(reply[2]), int(reply[3]))
        if block is not None and decision.block_state == NEWLY_BLOCKED:
            await self._index_block(block.client, decision.block_ms)
        return decision

    async def _index_block(self, client: str, block_ms: int) -> None:
        """List a new block (a key of its own slot, so not in the script). The index only
        serves listing: the block's own TTL ends it, and a block placed by a worker that died
        before this call still refuses, it is just not listed."""
        now_ms = time.time_ns() // 1_000_000
        async with self._redis.pipeline(transaction=False) as pipe:
            # Past entries go on every write, so the set never outgrows the live blocks (Redis
            # deletes it when it empties): no TTL of its own is needed.
            pipe.zremrangebyscore(self._blocks_index, "-inf", now_ms)
            pipe.zadd(self._blocks_index, {client: now_ms + block_ms})
            await pipe.execute()

    async def list_blocks(self, *, limit: int) -> list[BlockRecord]:
        """Active blocks, soonest to expire first, at most `limit` (from the index; a block
        whose key has expired is dropped from it on the way)."""
        now_ms = time.time_ns() // 1_000_000
        await self._redis.zremrangebyscore(self._blocks_index, "-inf", now_ms)
        found: list[Any] = await self._redis.zrange(self._blocks_index, 0, limit - 1)
        clients = [_text(c) for c in found]
        if not clients:
            return []
        async with self._redis.pipeline(transaction=False) as pipe:
            for client in clients:
                pipe.hgetall(self._block_keys(client)[0])
            rows = await pipe.execute()
        records: list[BlockRecord] = []
        gone: list[str] = []
        for client, row in zip(clients, rows, strict=True):
            fields = {_text(k): _text(v) for k, v in row.items()}
            if not fields:
                gone.append(client)  # released or expired since the index was read
                continue
            records.append(
                BlockRecord.from_ms(
                    client,
                    fields.get("reason", ""),
                    int(fields["blocked_at"]),
                    int(fields["expires_at"]),
                    int(fields.get("level", "1")),
                )
            )
        if gone:
            await self._redis.zrem(self._blocks_index, *gone)
        return records

    async def count_blocks(self) -> int:
        """How many blocks are active (the index, past entries not counted)."""
        now_ms = time.time_ns() // 1_000_000
        return int(await self._redis.zcount(self._blocks_index, f"({now_ms}", "+inf"))

    async def release_block(self, client: str) -> bool:
        """Lift a client's block (and forget its repeats) on every worker at once."""
        block_key, strikes_key, level_key = self._block_keys(client)
        # The block is the key: deleting it releases the client everywhere at once. The three
        # keys share a slot; the index (another slot) follows, and only serves listing.
        async with self._redis.pipeline(transaction=False) as pipe:
            pipe.exists(block_key)
            pipe.delete(block_key, strikes_key, level_key)
            existed, _deleted = await pipe.execute()
        await self._redis.zrem(self._blocks_index, client)
        return int(existed) > 0
