"""A catalogue-sized job over real HTTP on uvicorn: upload a CSV file, follow its progress,
download its results as CSV, on SQLite and on PostgreSQL. Items are answered by the rules
engine (the default provider), so the size is bound by storage, not by a model.

The size here is 3,000 rows to keep the suite fast on a shared machine; the 100,000-row run is
`bench/batch_catalogue.py` (docs/benchmarks.md)."""

from __future__ import annotations

import asyncio
import csv
import io
import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import create_async_engine

from app.platform.storage.sql.tables import batch_items
from tests.integration.batch.test_batch_live import user_headers
from tests.support.servers import LiveServer

pytestmark = [pytest.mark.integration, pytest.mark.slow]
ROWS = 3000
CONCEPTS = [
    "CT 영상에서 폐결절을 검출하는 AI 소프트웨어",
    "Step counter app for daily fitness goals",
    "Implantable cardiac pacemaker with remote monitoring",
    "Blood pressure monitor for home use",
]


def write_catalogue(path: Path, rows: int) -> None:
    with path.open("w", encoding="utf-8", newline="") as out:
        writer = csv.writer(out)
        writer.writerow(["ref", "concept"])
        for n in range(rows):
            writer.writerow([f"SKU-{n:06d}", CONCEPTS[n % len(CONCEPTS)]])


async def stored_items(database_url: str, job_id: str) -> int:
    engine = create_async_engine(database_url)
    try:
        async with engine.connect() as conn:
            found = await conn.execute(select(func.count()).where(batch_items.c.job_id == job_id))
            return int(found.scalar_one())
    finally:
        await engine.dispose()


@pytest.mark.parametrize("database", ["sqlite", "postgres"])
def test_upload_progress_and_csv_download_over_http(
    live_server_factory: Callable[..., LiveServer],
    request: pytest.FixtureRequest,
    tmp_path: Path,
    database: str,
) -> None:
    if database == "postgres":
        request.getfixturevalue("postgres_engine")  # empties every table first
        url = request.getfixturevalue("postgres_url")
    else:
        url = f"sqlite+aiosqlite:///{tmp_path / 'upload.db'}"
    server = live_server_factory(
        DATABASE_URL=url, BATCH_CHUNK_SIZE="200", BATCH_HEARTBEAT_S="0.2", BATCH_POLL_S="0.2"
    )
    alice = user_headers(server.url, "alice")
    catalogue = tmp_path / "catalogue.csv"
    write_catalogue(catalogue, ROWS)

    with httpx.Client(base_url=server.url, timeout=120) as http:
        with catalogue.open("rb") as upload:
            created = http.post(
                "/api/batch/jobs/upload",
                data={"kind": "classify", "name": "catalogue"},
                files={"file": ("catalogue.csv", upload, "text/csv")},
                headers=alice,
            )
        assert created.status_code == 202, created.text
        job = created.json()
        job_id = job["job_id"]
        assert (job["total_items"], job["status"]) == (ROWS, "pending")
        assert asyncio.run(stored_items(url, job_id)) == ROWS

        # Progress as the seed's client reads it, from the job's event stream to its end.
        seen: list[float] = []
        with http.stream("GET", f"/api/batch/jobs/{job_id}/events", headers=alice) as stream:
            for line in stream.iter_lines():
                if line.startswith("data: {"):
                    event = json.loads(line.removeprefix("data: "))
                    seen.append(event["job"]["progress_percent"])
                    if event["type"] == "done":
                        done = event["job"]
                        break
        assert seen == sorted(seen) and seen[-1] == 100.0
        assert (done["status"], done["processed_items"], done["failed_items"]) == (
            "completed",
            ROWS,
            0,
        )
        assert done["statistics"]["success_rate"] == 1.0

        with http.stream(
            "GET", f"/api/batch/jobs/{job_id}/results?format=csv", headers=alice
        ) as download:
            assert download.status_code == 200
            assert download.headers["content-type"].startswith("text/csv")
            text = "".join(download.iter_text())
        rows = list(csv.DictReader(io.StringIO(text)))
        assert [r["ref"] for r in rows] == [f"SKU-{n:06d}" for n in range(ROWS)]
        assert {r["success"] for r in rows} == {"true"}
        first: dict[str, Any] = json.loads(rows[0]["result"])
        assert first["classification"]["isMedicalDevice"] is True

        failed = http.get(
            f"/api/batch/jobs/{job_id}/results?format=csv&outcome=failed", headers=alice
        )
        assert failed.text.splitlines()[1:] == []
