"""EVALSHA over one shared, pipelined connection per event loop.

Hot-path scripts (the rate limiter on every request, the purchase reserve and confirm) cannot
afford redis-py's asyncio client, which spends ~3x the CPU of a blocking call per command (pool
checkout, connection lock, parser) and, with a blocking pool, makes requests queue for a
connection. Here every call writes its command at once (the commands of one event-loop tick go
out in one write) and awaits a future; Redis answers in order and hiredis parses the replies in
batches. Only plain TCP / unix-socket connections qualify (`can_pipeline`); TLS and other
connection classes keep redis-py.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
from collections import deque
from collections.abc import Sequence
from typing import Any, cast

import hiredis
from redis.asyncio import Redis
from redis.asyncio.connection import Connection, UnixDomainSocketConnection
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import ResponseError
from redis.exceptions import TimeoutError as RedisTimeoutError


def can_pipeline(redis: Redis) -> bool:
    """Whether `redis` connects over plain TCP or a unix socket (no TLS, no custom class)."""
    return redis.connection_pool.connection_class in (Connection, UnixDomainSocketConnection)


def _encode(*parts: bytes | str | int) -> bytes:
    raws = [p if isinstance(p, bytes) else str(p).encode() for p in parts]
    return b"*%d\r\n" % len(raws) + b"".join(b"$%d\r\n%s\r\n" % (len(r), r) for r in raws)


class _PipeProtocol(asyncio.Protocol):
    """Replies matched to waiting futures strictly in order (Redis answers in order)."""

    def __init__(self, encoding: str | None, timeout_s: float) -> None:
        self.transport: asyncio.Transport | None = None
        self.reader = hiredis.Reader() if encoding is None else hiredis.Reader(encoding=encoding)
        self.waiters: deque[asyncio.Future[Any]] = deque()
        self.deadlines: deque[float] = deque()  # loop time by which each waiter's reply is due
        self._timeout_s = timeout_s
        # One watchdog for the whole queue, not a timer per command: replies come in order, so
        # only the oldest command's deadline matters.
        self._watchdog: asyncio.TimerHandle | None = None
        # Commands of one event-loop tick go out in one write: one syscall for many requests.
        self._outgoing: list[bytes] = []

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        # uvloop's TCP transport is not an asyncio.Transport subclass, but has its methods.
        self.transport = cast(asyncio.Transport, transport)

    def data_received(self, data: bytes) -> None:
        self.reader.feed(data)
        while True:
            reply = self.reader.gets()
            if reply is False:
                return
            waiter = self.waiters.popleft()
            self.deadlines.popleft()
            if not waiter.done():  # a cancelled caller left; its reply is dropped in order
                waiter.set_result(reply)

    def connection_lost(self, exc: Exception | None) -> None:
        self.transport = None
        self._fail_all(RedisConnectionError("Connection to Redis lost"))

    def send(self, payload: bytes) -> asyncio.Future[Any]:
        if self.transport is None or self.transport.is_closing():
            raise RedisConnectionError("Not connected to Redis")
        loop = asyncio.get_running_loop()
        waiter: asyncio.Future[Any] = loop.create_future()
        self.waiters.append(waiter)
        self.deadlines.append(loop.time() + self._timeout_s)
        if self._watchdog is None:
            self._watchdog = loop.call_later(self._timeout_s, self._check_oldest)
        if not self._outgoing:
            loop.call_soon(self._flush)
        self._outgoing.append(payload)
        return waiter

    def _flush(self) -> None:
        payload, self._outgoing = b"".join(self._outgoing), []
        if self.transport is not None and not self.transport.is_closing():
            self.transport.write(payload)
        # Else connection_lost has failed (or will fail) every waiter of this payload.

    def _check_oldest(self) -> None:
        self._watchdog = None
        if not self.deadlines:
            return
        loop = asyncio.get_running_loop()
        if self.deadlines[0] > loop.time():
            self._watchdog = loop.call_at(self.deadlines[0], self._check_oldest)
            return
        # The oldest reply is overdue, so every reply behind it is too: fail them all and drop
        # the connection (as redis-py does on a read timeout); the next call reconnects.
        self._fail_all(RedisTimeoutError("Timeout reading from Redis"))
        if self.transport is not None:
            self.transport.abort()
            self.transport = None

    def _fail_all(self, exc: Exception) -> None:
        if self._watchdog is not None:
            self._watchdog.cancel()
            self._watchdog = None
        self.deadlines.clear()
        while self.waiters:
            waiter = self.waiters.popleft()
            if not waiter.done():
                waiter.set_exception(exc)


class PipelinedScript:
    """EVALSHA of one script over one pipelined connection per event loop."""

    def __init__(
        self, redis: Redis, source: str, *, timeout_s: float, decode: bool = False
    ) -> None:
        self._kwargs = dict(redis.connection_pool.connection_kwargs)
        self._unix = issubclass(redis.connection_pool.connection_class, UnixDomainSocketConnection)
        self._source = source.encode()
        self._sha = hashlib.sha1(self._source, usedforsecurity=False).hexdigest()
        self._timeout_s = timeout_s
        # Text replies as str (like a `decode_responses=True` client) or as bytes.
        self._encoding = "utf-8" if decode else None
        self._protocol: _PipeProtocol | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._connecting: asyncio.Lock | None = None

    async def _connection(self) -> _PipeProtocol:
        loop = asyncio.get_running_loop()
        protocol = self._protocol
        if protocol is not None and protocol.transport is not None and self._loop is loop:
            return protocol
        if self._connecting is None or self._loop is not loop:
            self._connecting, self._loop = asyncio.Lock(), loop
        async with self._connecting:
            if self._protocol is not None and self._protocol.transport is not None:
                return self._protocol
            self._protocol = await asyncio.wait_for(self._open(loop), self._timeout_s)
            return self._protocol

    async def _open(self, loop: asyncio.AbstractEventLoop) -> _PipeProtocol:
        kw = self._kwargs

        def factory() -> _PipeProtocol:
            return _PipeProtocol(self._encoding, self._timeout_s)

        try:
            if self._unix:
                _t, protocol = await loop.create_unix_connection(factory, kw["path"])
            else:
                _t, protocol = await loop.create_connection(
                    factory, kw.get("host", "localhost"), kw.get("port", 6379)
                )
        except OSError as exc:
            raise RedisConnectionError(f"Error connecting to Redis: {exc.strerror}") from None
        setup: list[bytes] = []
        if kw.get("password"):
            auth = [b"AUTH", kw["username"], kw["password"]] if kw.get("username") else None
            setup.append(_encode(*(auth or [b"AUTH", kw["password"]])))
        if kw.get("db"):
            setup.append(_encode(b"SELECT", kw["db"]))
        for payload in setup:
            reply = await protocol.send(payload)
            if isinstance(reply, hiredis.ReplyError):
                if protocol.transport is not None:
                    protocol.transport.close()
                raise RedisConnectionError("Redis refused the connection setup")
        return protocol

    async def _call(self, payload: bytes) -> Any:
        protocol = self._protocol
        if (
            protocol is None
            or protocol.transport is None
            or self._loop is not asyncio.get_running_loop()
        ):
            protocol = await self._connection()
        return await protocol.send(payload)

    def command(self, keys: Sequence[str], args: Sequence[int]) -> bytes:
        """The encoded EVALSHA of these keys and args (callers may keep it for repeat calls)."""
        return _encode(b"EVALSHA", self._sha, len(keys), *keys, *args)

    async def __call__(
        self, keys: Sequence[str], args: Sequence[int], *, command: bytes | None = None
    ) -> Any:
        reply = await self._call(command or self.command(keys, args))
        if isinstance(reply, hiredis.ReplyError) and str(reply).startswith("NOSCRIPT"):
            # A restarted or flushed server: EVAL sends the source and caches it again.
            reply = await self._call(_encode(b"EVAL", self._source, len(keys), *keys, *args))
        if isinstance(reply, hiredis.ReplyError):
            raise ResponseError(str(reply))
        return reply

    async def aclose(self) -> None:
        protocol, self._protocol = self._protocol, None
        if protocol is not None and protocol.transport is not None:
            protocol.transport.close()
            with contextlib.suppress(Exception):
                await asyncio.sleep(0)  # let the transport finish closing in this loop
