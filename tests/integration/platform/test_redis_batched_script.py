"""Concurrent script calls share one redis-py pipeline, each caller getting its own answer."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest
from redis.asyncio import Redis
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import ResponseError

from app.platform.storage.redis.batched import BatchedScript
from app.platform.storage.redis.client import create_redis
from tests.conftest import make_settings
from tests.support.servers import RedisServer

pytestmark = pytest.mark.integration

# Returns the counter after adding ARGV[1], or an error reply for a negative amount.
INCR = """
if tonumber(ARGV[1]) < 0 then return redis.error_reply('negative') end
return redis.call('INCRBY', KEYS[1], ARGV[1])
"""


async def test_each_concurrent_caller_gets_its_own_reply(app_redis_client: Redis) -> None:
    script = BatchedScript(app_redis_client, INCR)
    replies = await asyncio.gather(*(script(keys=[f"k{i % 3}"], args=[1]) for i in range(300)))
    assert sorted(replies) == sorted([n for _ in range(3) for n in range(1, 101)])
    assert [await app_redis_client.get(f"k{i}") for i in range(3)] == ["100", "100", "100"]


async def test_an_error_reply_fails_only_its_own_call(app_redis_client: Redis) -> None:
    script = BatchedScript(app_redis_client, INCR)
    outcomes = await asyncio.gather(
        script(keys=["a"], args=[2]),
        script(keys=["a"], args=[-1]),
        script(keys=["a"], args=[3]),
        return_exceptions=True,
    )
    assert outcomes[0] == 2 and outcomes[2] == 5
    assert isinstance(outcomes[1], ResponseError) and "negative" in str(outcomes[1])


async def test_a_flushed_script_cache_is_loaded_again(app_redis_client: Redis) -> None:
    script = BatchedScript(app_redis_client, INCR)
    assert await script(keys=["f"], args=[1]) == 1
    await app_redis_client.script_flush()
    assert await asyncio.gather(*(script(keys=["f"], args=[1]) for _ in range(5))) == [
        2,
        3,
        4,
        5,
        6,
    ]


async def test_a_cancelled_caller_leaves_the_others_their_replies(app_redis_client: Redis) -> None:
    script = BatchedScript(app_redis_client, INCR)
    first = asyncio.ensure_future(script(keys=["c"], args=[1]))
    second = asyncio.ensure_future(script(keys=["c"], args=[10]))
    await asyncio.sleep(0)  # both queued in this tick
    first.cancel()
    assert await second in (10, 11)  # the cancelled call may still have run in Redis
    assert int(await app_redis_client.get("c")) in (10, 11)


async def test_a_server_that_is_gone_fails_every_call_and_a_new_one_is_used(
    tmp_path: Path,
) -> None:
    server = RedisServer(tmp_path)
    server.start()
    client = create_redis(make_settings(tmp_path, redis_url=server.url, redis_socket_timeout_s=1.0))
    try:
        script = BatchedScript(client, INCR)
        assert await script(keys=["g"], args=[1]) == 1
        server.stop()
        outcomes = await asyncio.gather(
            *(script(keys=["g"], args=[1]) for _ in range(3)), return_exceptions=True
        )
        assert all(isinstance(o, RedisConnectionError) for o in outcomes), outcomes
        server.start()
        assert await script(keys=["g"], args=[1]) == 1  # a new, empty server
    finally:
        await client.aclose(close_connection_pool=True)
        server.stop()
