"""A Lua script whose concurrent calls share one redis-py pipeline.

A flash sale or a burst of rate-limited requests makes hundreds of EVALSHA calls at once. One
call per pooled connection makes each wait for a free socket (and fail after the pool's
timeout when there is none); here the calls made in one event-loop tick go to Redis together,
in one `pipeline(transaction=False)` on one connection, and each caller gets its own reply.
Only redis-py's public client is used: `register_script` for the SHA and source, EVALSHA in a
pipeline, and `script_load` (on a Redis Cluster: every master) when the server answers NOSCRIPT (a restarted or flushed Redis).
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from typing import Any

from redis.exceptions import NoScriptError

from app.platform.storage.redis.client import RedisClient

_Call = tuple[Sequence[Any], Sequence[Any], "asyncio.Future[Any]"]


class BatchedScript:
    """Call like redis-py's script object: `await script(keys=[...], args=[...])`."""

    def __init__(self, redis: RedisClient, source: str) -> None:
        self._redis = redis
        self._script = redis.register_script(source)
        self._pending: list[_Call] = []
        # Strong references: a task that only the event loop knows may be garbage collected.
        self._sending: set[asyncio.Task[None]] = set()

    async def __call__(self, *, keys: Sequence[Any], args: Sequence[Any]) -> Any:
        """The script's reply for these keys and arguments; redis-py's errors as it raises them."""
        loop = asyncio.get_running_loop()
        future: asyncio.Future[Any] = loop.create_future()
        if not self._pending:
            loop.call_soon(self._send)  # after every caller of this tick has queued its call
        self._pending.append((keys, args, future))
        return await future

    def _send(self) -> None:
        batch, self._pending = self._pending, []
        task = asyncio.get_running_loop().create_task(self._run(batch))
        self._sending.add(task)
        task.add_done_callback(self._sending.discard)

    async def _run(self, batch: list[_Call]) -> None:
        try:
            replies = await self._execute(batch)
        except Exception as exc:  # the connection failed: every call of the batch did
            for _keys, _args, future in batch:
                if not future.done():
                    future.set_exception(exc)
            return
        for (_keys, _args, future), reply in zip(batch, replies, strict=True):
            if future.done():  # its caller was cancelled; the reply is dropped
                continue
            if isinstance(reply, Exception):
                future.set_exception(reply)
            else:
                future.set_result(reply)

    async def _execute(self, batch: list[_Call]) -> list[Any]:
        replies = await self._pipeline(batch)
        missing = [i for i, reply in enumerate(replies) if isinstance(reply, NoScriptError)]
        if missing:
            await self._redis.script_load(self._script.script)
            again = await self._pipeline([batch[i] for i in missing])
            for i, reply in zip(missing, again, strict=True):
                replies[i] = reply
        return replies

    async def _pipeline(self, batch: list[_Call]) -> list[Any]:
        sha = self._script.sha
        async with self._redis.pipeline(transaction=False) as pipe:
            for keys, args, _future in batch:
                # `execute_command`, not `pipe.evalsha`: redis-py (8.1) blocks the latter in a
                # cluster pipeline for no documented reason (redis/redis-py#2914, lifted
                # upstream since); the command itself is routed by its keys' slot like any
                # other, on a cluster and on one server alike.
                pipe.execute_command("EVALSHA", sha, len(keys), *keys, *args)
            replies: list[Any] = await pipe.execute(raise_on_error=False)
        return replies
