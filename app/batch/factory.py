"""The batch area, wired from settings: jobs are durable records (SQL), and each job kind's
items are answered by the regulatory service."""

from __future__ import annotations

from collections.abc import Sequence

from app.batch.adapters.sql import SqlBatchJobRepository
from app.batch.kinds import JobKind, KindRegistry
from app.batch.regulatory_kinds import regulatory_kinds
from app.batch.repository import BatchJobRepository
from app.batch.runner import BatchRunner
from app.batch.service import BatchService, BatchServices
from app.batch.signals import JobSignals
from app.platform.config import Settings
from app.platform.storage.connections import Connections
from app.regulatory.service import RegulatoryService


def build_batch(
    settings: Settings,
    connections: Connections,
    *,
    regulatory: RegulatoryService,
    repo: BatchJobRepository | None = None,
    extra_kinds: Sequence[JobKind] = (),
) -> BatchServices:
    """Wire the repository (SQL: jobs are durable records), the runner and the service."""
    repo = repo if repo is not None else SqlBatchJobRepository(connections.engine)
    signals = JobSignals()
    # Other areas' kinds (e.g. commerce's `restock`) come from the lifespan, which knows them.
    kinds = KindRegistry([*regulatory_kinds(regulatory), *extra_kinds])
    runner = BatchRunner(
        repo=repo,
        processors={},
        kinds=kinds,
        workers=settings.batch_workers,
        item_concurrency=settings.batch_item_concurrency,
        chunk_size=settings.batch_chunk_size,
        lease_s=settings.batch_lease_s,
        heartbeat_s=settings.batch_heartbeat_s,
        poll_s=settings.batch_poll_s,
        item_timeout_s=settings.batch_item_timeout_s,
        item_attempts=settings.batch_item_attempts,
        signals=signals,
    )
    service = BatchService(
        repo=repo,
        max_items=settings.batch_max_items,
        max_active=settings.batch_max_active_jobs,
        watch_interval_s=settings.batch_heartbeat_s,
        retention_days=settings.batch_retention_days,
        max_upload_items=settings.batch_upload_max_items,
        max_backlog=settings.batch_max_backlog,
        kinds=kinds,
        on_queued=runner.wake,
        on_stopped=runner.stop,
        signals=signals,
    )
    return BatchServices(service=service, runner=runner)
