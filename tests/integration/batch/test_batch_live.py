"""Batch jobs on real uvicorn processes sharing one database: several processes drain one queue
without running anything twice, and a job whose process is killed is finished by another.

Items go to the AI provider, served by the fake model server with a delay, so that jobs take
long enough to be shared, watched and interrupted. Every concept is distinct: the AI cache
would otherwise answer repeats without a model call.
"""

from __future__ import annotations

import asyncio
import json
import os
import signal
from collections.abc import Callable, Iterator
from typing import Any

import httpx
import pytest
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncEngine, create_async_engine

from app.platform.storage.sql.tables import batch_jobs
from tests.integration.regulatory_api.conftest import classify_answer
from tests.support.fake_model_server import FakeModelServer, Reply
from tests.support.regulatory_samples import USER_PASSWORD
from tests.support.servers import LiveServer, wait_until

pytestmark = [pytest.mark.integration, pytest.mark.slow]


@pytest.fixture
def slow_model() -> Iterator[FakeModelServer]:
    """An Ollama-speaking model that takes 20 ms per answer."""
    server = FakeModelServer(default=Reply(content=classify_answer(), delay_s=0.02)).start()
    yield server
    server.stop()


def batch_env(model: FakeModelServer, database_url: str, **extra: str) -> dict[str, str]:
    return {
        "DATABASE_URL": database_url,
        "AI_PROVIDER": "ollama",
        "OLLAMA_BASE_URL": model.url,
        "OLLAMA_MODEL": "fake-llm",
        "BATCH_LEASE_S": "2",
        "BATCH_HEARTBEAT_S": "0.2",
        "BATCH_POLL_S": "0.2",
        "BATCH_ITEM_CONCURRENCY": "2",
        "BATCH_CHUNK_SIZE": "4",
        "BATCH_MAX_ACTIVE_JOBS": "10",
        **extra,
    }


def user_headers(url: str, username: str) -> dict[str, str]:
    with httpx.Client(base_url=url, timeout=30) as http:
        r = http.post("/api/auth/register", json={"username": username, "password": USER_PASSWORD})
        assert r.status_code == 201, r.text
        r = http.post("/api/auth/login", json={"username": username, "password": USER_PASSWORD})
        assert r.status_code == 200, r.text
        return {"Authorization": f"Bearer {r.json()['access_token']}"}


def job_body(tag: str, n: int) -> dict[str, Any]:
    return {
        "kind": "classify",
        "items": [
            {
                "ref": f"{tag}-{i}",
                "concept": f"AI software that flags lung nodules, variant {tag}-{i}",
            }
            for i in range(n)
        ],
    }


def follow(
    url: str, job_id: str, headers: dict[str, str], until: Callable[[dict[str, Any]], bool]
) -> dict[str, Any]:
    """Read the job's SSE stream until an event satisfies `until`; that event's job."""
    with (
        httpx.Client(base_url=url, timeout=120) as http,
        http.stream("GET", f"/api/batch/jobs/{job_id}/events", headers=headers) as stream,
    ):
        for line in stream.iter_lines():
            if line.startswith("data: {"):
                event = json.loads(line.removeprefix("data: "))
                if until(event):
                    job: dict[str, Any] = event["job"]
                    return job
    raise AssertionError("the stream ended before the awaited event")


def wait_finished(url: str, job_id: str, headers: dict[str, str]) -> dict[str, Any]:
    """Block on the job's SSE stream until its `done` event."""
    return follow(url, job_id, headers, lambda event: event["type"] == "done")


def all_items(url: str, job_id: str, headers: dict[str, str]) -> list[dict[str, Any]]:
    with httpx.Client(base_url=url, timeout=30) as http:
        items: list[dict[str, Any]] = []
        while True:
            page = http.get(
                f"/api/batch/jobs/{job_id}/items",
                params={"offset": len(items), "limit": 500},
                headers=headers,
            ).json()["items"]
            if not page:
                return items
            items += page


async def lease_owner(engine: AsyncEngine, job_id: str) -> str | None:
    async with engine.connect() as conn:
        row = await conn.execute(select(batch_jobs.c.lease_owner).where(batch_jobs.c.id == job_id))
        owner: str | None = row.scalar_one()
        return owner


@pytest.mark.parametrize("database", ["sqlite", "postgres"])
def test_two_servers_of_two_workers_run_every_item_of_every_job_once(
    live_server_factory: Callable[..., LiveServer],
    slow_model: FakeModelServer,
    request: pytest.FixtureRequest,
    tmp_path: Any,
    database: str,
) -> None:
    if database == "postgres":
        request.getfixturevalue("postgres_engine")  # empties every table first
        url = request.getfixturevalue("postgres_url")
    else:
        url = f"sqlite+aiosqlite:///{tmp_path / 'shared.db'}"
    # Nobody dies here, so no lease may lapse: a long lease keeps a process the load starved
    # of CPU for a few seconds from losing its job (and the model from being asked twice).
    env = batch_env(slow_model, url, BATCH_WORKERS="2", BATCH_LEASE_S="60")
    first = live_server_factory(workers=2, **env)
    second = live_server_factory(workers=2, **env)
    alice = user_headers(first.url, "alice")
    jobs = []
    with httpx.Client(timeout=30) as http:
        for index in range(4):
            server = (first, second)[index % 2]
            r = http.post(
                f"{server.url}/api/batch/jobs", json=job_body(f"j{index}", 25), headers=alice
            )
            assert r.status_code == 202, r.text
            jobs.append(r.json()["id"])
    for job_id in jobs:
        done = wait_finished(second.url, job_id, alice)
        assert (done["status"], done["processed"], done["succeeded"]) == ("completed", 25, 25)
        items = all_items(first.url, job_id, alice)
        assert [i["position"] for i in items] == list(range(25))
        assert all(i["status"] == "succeeded" and i["attempts"] == 1 for i in items)
        assert all(i["result"]["classification"]["riskClass"] == "II" for i in items)
    # No item was sent to the model twice: with nobody dying, each ran exactly once.
    assert slow_model.completed == 4 * 25
    concepts = [s.body["messages"][-1]["content"] for s in slow_model.requests]
    assert len(concepts) == len(set(concepts)) == 100
    # Which server claims which job depends on scheduling (under load one may claim all four),
    # so the test holds what must not vary: every item ran exactly once, whoever ran it.


def test_a_killed_servers_job_is_taken_over_and_finished(
    live_server_factory: Callable[..., LiveServer],
    slow_model: FakeModelServer,
    tmp_path: Any,
) -> None:
    url = f"sqlite+aiosqlite:///{tmp_path / 'takeover.db'}"
    # Short enough for a quick takeover, long enough that load alone does not cause one.
    env = batch_env(slow_model, url, BATCH_LEASE_S="5")
    first = live_server_factory(**env)
    second = live_server_factory(**env)
    alice = user_headers(first.url, "alice")
    total = 120
    with httpx.Client(timeout=30) as http:
        r = http.post(f"{first.url}/api/batch/jobs", json=job_body("k", total), headers=alice)
        assert r.status_code == 202, r.text
        job_id = r.json()["id"]
    follow(first.url, job_id, alice, lambda event: event["job"]["processed"] >= 12)

    async def owner() -> str | None:
        engine = create_async_engine(url)
        try:
            return await lease_owner(engine, job_id)
        finally:
            await engine.dispose()

    holder_id = asyncio.run(owner())
    assert holder_id is not None
    holder_pid = int(holder_id.split(":")[1])
    holder, survivor = (
        (first, second) if first.process and first.process.pid == holder_pid else (second, first)
    )
    assert holder.process is not None and holder.process.pid == holder_pid
    os.kill(holder_pid, signal.SIGKILL)  # no shutdown: the lease is left to run out
    holder.process.wait(timeout=10)
    holder.process = None

    done = wait_finished(survivor.url, job_id, alice)
    assert (done["status"], done["processed"], done["succeeded"]) == ("completed", total, total)
    items = all_items(survivor.url, job_id, alice)
    assert [i["position"] for i in items] == list(range(total))
    assert all(i["status"] == "succeeded" for i in items)
    # Outcomes are written once; the items that were in flight on the killed server were asked
    # of the model again by the survivor (at-least-once processing).
    assert sum(i["attempts"] for i in items) == total
    assert total <= slow_model.completed <= total + 2 * 4
    assert survivor.log_path is not None
    wait_until(
        lambda: f'"job_id": "{job_id}"' in survivor.log_path.read_text(),  # type: ignore[union-attr]
        what="the survivor's log of the job",
    )
    assert '"event": "batch_job_started"' in survivor.log_path.read_text()
