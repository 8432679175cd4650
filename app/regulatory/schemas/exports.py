"""Plan comparison API models (camelCase like the rest of the regulatory contract)."""

from __future__ import annotations

from typing import Annotated, Any

from pydantic import ConfigDict, Field, StringConstraints, field_validator

from app.regulatory.schemas.analysis import CamelModel

PlanIdText = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=200)]


class PlanCompareRequest(CamelModel):
    """Body of POST /api/plans/compare: two to four stored plans (their latest versions)."""

    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [{"planIds": ["plan_Fa1…", "plan_No2…", "plan_Co3…", "plan_In4…"]}]
        },
    )

    plan_ids: list[PlanIdText] = Field(min_length=2, max_length=4)

    @field_validator("plan_ids")
    @classmethod
    def _distinct(cls, value: list[str]) -> list[str]:
        """Each plan once: comparing a plan with itself says nothing."""
        if len(set(value)) != len(value):
            raise ValueError("plan ids must be distinct")
        return value


class ComparedPlan(CamelModel):
    """One column of the comparison."""

    id: str
    version: int
    tier: str
    title: str
    language: str


class ComparisonRow(CamelModel):
    """One row: a property of every compared plan, in the order of `plans`."""

    key: str
    label: str
    values: list[Any]


class PlanComparison(CamelModel):
    """Body of POST /api/plans/compare: a side-by-side table and one SVG of the timelines."""

    # The SVG is ours and bounded by the chart's row limit, not by the input text limit.
    model_config = ConfigDict(
        str_max_length=4 * 1024 * 1024,
        json_schema_extra={
            "examples": [
                {
                    "language": "ko",
                    "plans": [
                        {
                            "id": "plan_Fa1…",
                            "version": 1,
                            "tier": "fastest",
                            "title": "최단 경로: MFDS 2등급 인증",
                            "language": "ko",
                        }
                    ],
                    "rows": [
                        {"key": "totalWeeks", "label": "주경로 기간(주)", "values": [46, 74]},
                        {"key": "riskLevel", "label": "위험도", "values": ["high", "medium"]},
                    ],
                    "timelineSvg": '<?xml version="1.0" encoding="UTF-8"?>\n<svg …>…</svg>',
                }
            ]
        },
    )

    language: str
    plans: list[ComparedPlan]
    rows: list[ComparisonRow]
    timeline_svg: str
