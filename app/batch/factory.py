"""The batch area, wired from settings: jobs are durable records (SQL), and each job kind's
items are answered by the regulatory service."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from app.batch.adapters.sql import SqlBatchJobRepository
from app.batch.repository import BatchJobRepository
from app.batch.runner import BatchRunner, ItemProcessor
from app.batch.service import BatchService, BatchServices
from app.batch.signals import JobSignals
from app.platform.config import Settings
from app.platform.storage.connections import Connections
from app.regulatory.service import ClassifyRequest, PurposeRequest, RegulatoryService


def regulatory_processors(regulatory: RegulatoryService) -> Mapping[str, ItemProcessor]:
    """Each job kind's item → result: the very service behind `POST /api/<kind>`."""

    async def classify(data: dict[str, Any]) -> dict[str, Any]:
        answer = await regulatory.classify(req=ClassifyRequest.model_validate(data))
        return answer.api_body()

    async def purpose(data: dict[str, Any]) -> dict[str, Any]:
        answer = await regulatory.purpose(req=PurposeRequest.model_validate(data))
        return answer.api_body()

    return {"classify": classify, "purpose": purpose}


def build_batch(
    settings: Settings,
    connections: Connections,
    *,
    regulatory: RegulatoryService,
    repo: BatchJobRepository | None = None,
) -> BatchServices:
    """Wire the repository (SQL: jobs are durable records), the runner and the service."""
    repo = repo if repo is not None else SqlBatchJobRepository(connections.engine)
    signals = JobSignals()
    runner = BatchRunner(
        repo=repo,
        processors=regulatory_processors(regulatory),
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
        on_queued=runner.wake,
        on_stopped=runner.stop,
        signals=signals,
    )
    return BatchServices(service=service, runner=runner)
