"""Job kinds by registry: a kind that must not run twice (`repeatable = False`) runs each item at
most once — its attempt is written first, an item cut off mid-run is failed as interrupted after
a takeover instead of being run again, and a failure that may pass is not retried."""

from __future__ import annotations

from collections import Counter
from typing import Any, ClassVar

import pytest
from pydantic import BaseModel, ConfigDict

from app.batch.kinds import KindRegistry, split_ref
from app.batch.runner import BatchRunner
from app.platform.errors import AIUnavailableError
from app.platform.principal import Principal
from tests.support.fakes.batch import MemoryBatchJobRepository
from tests.unit.batch.test_batch_runner import T0, add_job

pytestmark = pytest.mark.unit


class Item(BaseModel):
    model_config = ConfigDict(extra="forbid")

    concept: str
    ref: str | None = None


class CountingKind:
    """Counts each input it runs; `flaky` inputs fail with a failure that may pass."""

    name: ClassVar[str] = "classify"
    item_model: ClassVar[type[BaseModel]] = Item
    admin_only: ClassVar[bool] = False
    repeatable: ClassVar[bool] = False

    def __init__(self) -> None:
        self.runs: Counter[str] = Counter()
        self.owners: set[str] = set()

    def to_input(self, item: BaseModel) -> tuple[str | None, dict[str, Any]]:
        return split_ref(item)

    async def run(self, data: dict[str, Any], *, owner: Principal) -> dict[str, Any]:
        self.runs[data["concept"]] += 1
        self.owners.add(owner.user_id)
        if data["concept"] == "c1":
            raise AIUnavailableError("the model is down")
        return {"ok": data["concept"]}


def runner_for(repo: MemoryBatchJobRepository, kind: CountingKind) -> BatchRunner:
    return BatchRunner(
        repo=repo,
        processors={},
        kinds=KindRegistry([kind]),
        workers=1,
        item_concurrency=2,
        chunk_size=3,
        lease_s=30.0,
        heartbeat_s=5.0,
        poll_s=0.05,
        item_timeout_s=5.0,
        item_attempts=3,
        clock=lambda: T0,
    )


async def test_an_at_most_once_kind_never_runs_an_item_twice() -> None:
    repo = MemoryBatchJobRepository()
    kind = CountingKind()
    job = await add_job(repo, 5, owner="alice")
    # A worker that died after writing its attempts on items 0 and 2 (they may have run).
    dead = await repo.claim(worker_id="dead", now=T0, lease_s=30.0)
    assert dead is not None
    assert await repo.mark_attempted(
        job.id, worker_id="dead", positions=[0, 2], now=T0, lease_s=30.0
    )
    await repo.release(job.id, worker_id="dead", now=T0)

    runner = runner_for(repo, kind)
    claimed = await repo.claim(worker_id=runner.worker_id, now=T0, lease_s=30.0)
    assert claimed is not None
    await runner.run_job(claimed)

    done = await repo.get(job.id)
    assert done is not None and (done.status, done.processed) == ("completed", 5)
    items = await repo.items(job.id, status=None, limit=10, offset=0)
    outcome = {i.position: (i.status, i.error_code, i.attempts) for i in items}
    assert outcome == {
        0: ("failed", "BATCH_ITEM_INTERRUPTED", 1),
        1: ("failed", "AI_UNAVAILABLE", 1),  # may pass, yet not retried: at most once
        2: ("failed", "BATCH_ITEM_INTERRUPTED", 1),
        3: ("succeeded", None, 1),
        4: ("succeeded", None, 1),
    }
    assert kind.runs == Counter({"c1": 1, "c3": 1, "c4": 1})
    assert kind.owners == {"alice"}  # the items ran as the job's owner
    assert (done.succeeded, done.failed) == (2, 3)


async def test_a_worker_that_lost_its_job_marks_nothing() -> None:
    repo = MemoryBatchJobRepository()
    job = await add_job(repo, 2)
    assert not await repo.mark_attempted(
        job.id, worker_id="nobody", positions=[0], now=T0, lease_s=30.0
    )
    items = await repo.items(job.id, status=None, limit=10, offset=0)
    assert [i.attempts for i in items] == [0, 0]


def test_a_kind_name_is_registered_once() -> None:
    with pytest.raises(ValueError, match="twice"):
        KindRegistry([CountingKind(), CountingKind()])
