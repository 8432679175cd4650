"""What every provider offers, and the small types shared by all of them."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Literal, Protocol

from app.regulatory.schemas.analysis import (
    ClassifyRequest,
    ClassifyResponse,
    Plan,
    PurposeRequest,
    PurposeResponse,
    StandardsRequest,
)

Endpoint = Literal["classify", "purpose", "standards", "refine"]

# Receives each piece of model text as it arrives (streaming endpoints forward it as `token`).
TokenSink = Callable[[str], Awaitable[None]]


@dataclass(frozen=True, slots=True)
class Usage:
    """Tokens one model call used, as the model server reported them."""

    prompt_tokens: int = 0
    completion_tokens: int = 0


class Provider(Protocol):
    """Produces the regulatory answers; ids of plans it returns are never trusted by callers."""

    name: str
    model: str

    async def classify(
        self, req: ClassifyRequest, *, on_token: TokenSink | None = None
    ) -> ClassifyResponse:
        """Classify a device concept."""

    async def purpose(
        self, req: PurposeRequest, *, on_token: TokenSink | None = None
    ) -> PurposeResponse:
        """Write the intended purpose for a concept and category."""

    async def standards(
        self, req: StandardsRequest, *, on_token: TokenSink | None = None
    ) -> list[Plan]:
        """Four plans, one per tier (fastest, normal, conservative, innovative)."""

    async def refine(
        self, plan: Plan, modifications: str, *, on_token: TokenSink | None = None
    ) -> tuple[Plan, list[str]]:
        """The plan changed as asked, and a list of the changes applied."""
