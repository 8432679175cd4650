"""Plans API: stored plans, their versions and history (camelCase)."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

from pydantic import ConfigDict, Field, StringConstraints, model_validator

from app.regulatory.repository import PlanRecord
from app.regulatory.schemas.analysis import CamelModel, Plan

_PLAN_EXAMPLE: dict[str, Any] = {
    "tier": "normal",
    "title": "표준 경로: MFDS 2등급 기술문서 심사",
    "description": "허가 심사와 성능평가를 순서대로 진행",
    "totalDuration": "9-12개월",
    "riskLevel": "medium",
    "commonStandards": {
        "timeline": [
            {
                "phase": "QMS",
                "description": "ISO 13485 품질경영시스템 구축",
                "duration": "8주",
                "deliverables": ["품질매뉴얼"],
            }
        ],
        "standards": ["ISO 13485", "ISO 14971", "IEC 62304"],
        "documentation": ["기술문서"],
    },
    "performanceEvaluation": {"timeline": [], "tests": ["민감도·특이도"], "documentation": []},
    "pros": [],
    "cons": [],
    "recommendations": [],
}


class PlanDraft(Plan):
    """A plan to store: any `id` sent is ignored (the server makes ids)."""

    id: str | None = None  # type: ignore[assignment]


class PlanCreate(CamelModel):
    """Body of POST /api/plans."""

    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={"examples": [{"sessionId": None, "plan": _PLAN_EXAMPLE}]},
    )

    plan: PlanDraft
    session_id: Annotated[str, StringConstraints(min_length=1, max_length=200)] | None = None

    @model_validator(mode="before")
    @classmethod
    def _seed_shape(cls, value: Any) -> Any:
        # The seeds POST the plan itself (session in the query): a body without `plan` is it.
        if isinstance(value, dict) and "plan" not in value and "tier" in value:
            return {"plan": value}
        return value


class PlanRead(Plan):
    """A stored plan version: the plan itself plus when the version was made."""

    # The seeds' name for `id`, spelt as they spell it (docs/seed-compatibility.md).
    plan_id: str = Field(serialization_alias="plan_id")
    created_at: datetime
    modifications: str | None = None
    applied_changes: list[str] = Field(default_factory=list)

    @classmethod
    def of(cls, record: PlanRecord) -> PlanRead:
        """From a stored record."""
        return cls.model_validate(
            {
                **record.plan,
                "id": record.id,
                "plan_id": record.id,
                "version": record.version,
                "sessionId": record.session_id,
                "createdAt": record.created_at,
                "modifications": record.modifications,
                "appliedChanges": record.applied_changes,
            }
        )


class PlanVersionRead(CamelModel):
    """One entry of a plan's history."""

    version: int
    modifications: str | None
    applied_changes: list[str]
    created_at: datetime
    plan: Plan


class PlanHistory(CamelModel):
    """Every version of a plan, oldest first."""

    plan_id: str
    latest_version: int
    versions: list[PlanVersionRead]

    @classmethod
    def of(cls, records: list[PlanRecord]) -> PlanHistory:
        """From the stored versions (oldest first, at least one)."""
        return cls(
            plan_id=records[0].id,
            latest_version=records[-1].version,
            versions=[
                PlanVersionRead(
                    version=r.version,
                    modifications=r.modifications,
                    applied_changes=r.applied_changes,
                    created_at=r.created_at,
                    plan=Plan.model_validate(r.plan),
                )
                for r in records
            ],
        )


class PlanList(CamelModel):
    """Latest versions of plans."""

    items: list[PlanRead]
    count: int
