"""Plans and their versions in process memory (tests and the contract suite's reference)."""

from __future__ import annotations

import copy
from collections.abc import Sequence
from dataclasses import replace
from datetime import UTC, datetime
from typing import Any

from app.regulatory.repository import NewPlan, PlanRecord, PlanVersionConflict


class MemoryPlanRepository:
    """Versions per plan id in a list; no await between check and write keeps it atomic."""

    def __init__(self) -> None:
        self._versions: dict[str, list[PlanRecord]] = {}
        self._order: dict[str, int] = {}
        self._seq = 0

    @staticmethod
    def _copy(record: PlanRecord) -> PlanRecord:
        return replace(
            record,
            plan=copy.deepcopy(record.plan),
            applied_changes=list(record.applied_changes),
        )

    async def create(
        self, plans: Sequence[NewPlan], *, session_id: str | None, owner_id: str | None
    ) -> list[PlanRecord]:
        if any(p.id in self._versions for p in plans):
            raise ValueError("plan id already exists")
        now = datetime.now(UTC)
        out = []
        for new in plans:
            record = PlanRecord(
                id=new.id,
                version=1,
                session_id=session_id,
                owner_id=owner_id,
                tier=new.tier,
                plan=copy.deepcopy(new.plan),
                modifications=None,
                applied_changes=[],
                created_at=now,
            )
            self._versions[new.id] = [record]
            self._seq += 1
            self._order[new.id] = self._seq
            out.append(self._copy(record))
        return out

    async def add_version(
        self,
        plan_id: str,
        *,
        base_version: int,
        plan: dict[str, Any],
        modifications: str,
        applied_changes: list[str],
    ) -> PlanRecord | None:
        versions = self._versions.get(plan_id)
        if versions is None:
            return None
        latest = versions[-1]
        if latest.version != base_version:
            raise PlanVersionConflict(plan_id)
        record = replace(
            latest,
            version=latest.version + 1,
            plan=copy.deepcopy(plan),
            modifications=modifications,
            applied_changes=list(applied_changes),
            created_at=datetime.now(UTC),
        )
        versions.append(record)
        return self._copy(record)

    async def get(self, plan_id: str, *, version: int | None = None) -> PlanRecord | None:
        versions = self._versions.get(plan_id)
        if not versions:
            return None
        if version is None:
            return self._copy(versions[-1])
        if 1 <= version <= len(versions):
            return self._copy(versions[version - 1])
        return None

    async def history(self, plan_id: str) -> list[PlanRecord]:
        return [self._copy(r) for r in self._versions.get(plan_id, [])]

    async def list_latest(
        self, *, session_id: str | None = None, owner_id: str | None = None, limit: int = 100
    ) -> list[PlanRecord]:
        rows = [
            v[-1]
            for v in self._versions.values()
            if (session_id is None or v[-1].session_id == session_id)
            and (owner_id is None or v[-1].owner_id == owner_id)
        ]
        rows.sort(key=lambda r: self._order[r.id])
        return [self._copy(r) for r in rows[:limit]]

    async def delete(self, plan_id: str) -> bool:
        self._order.pop(plan_id, None)
        return self._versions.pop(plan_id, None) is not None
