"""The rules engine as a provider: offline, deterministic, fast enough to call inline."""

from __future__ import annotations

from app.regulatory.ai.base import TokenSink
from app.regulatory.engine.rules_engine import RulesEngine
from app.regulatory.plans import new_plan_id
from app.regulatory.schemas.analysis import (
    ClassifyRequest,
    ClassifyResponse,
    Plan,
    PurposeRequest,
    PurposeResponse,
    StandardsRequest,
)

RULES_MODEL = "rules-v1"


class RulesProvider:
    """Wraps `RulesEngine`; the engine's domain errors propagate to the service unchanged."""

    name = "rules"
    model: str = RULES_MODEL

    def __init__(self, engine: RulesEngine | None = None) -> None:
        self.engine = engine or RulesEngine()

    async def classify(
        self, req: ClassifyRequest, *, on_token: TokenSink | None = None
    ) -> ClassifyResponse:
        """Classify with the rules (no tokens to stream)."""
        return self.engine.classify(req)

    async def purpose(
        self, req: PurposeRequest, *, on_token: TokenSink | None = None
    ) -> PurposeResponse:
        """Purpose from the rules (answers from the category when the concept says nothing)."""
        return self.engine.purpose(req)

    async def standards(
        self, req: StandardsRequest, *, on_token: TokenSink | None = None
    ) -> list[Plan]:
        """Four plans from the rules."""
        return self.engine.standards(req, id_factory=new_plan_id)

    async def refine(
        self, plan: Plan, modifications: str, *, on_token: TokenSink | None = None
    ) -> tuple[Plan, list[str]]:
        """Apply the modification rules to the plan."""
        return self.engine.refine(plan, modifications)
