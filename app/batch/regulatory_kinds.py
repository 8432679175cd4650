"""Job kinds answered by the regulatory area, through its service API only: each item is the
body of `POST /api/<kind>` plus a `ref`, and its result is what that endpoint answers."""

from __future__ import annotations

from typing import Any, ClassVar

from pydantic import BaseModel

from app.batch.kinds import JobKind, split_ref
from app.batch.schemas import ClassifyItem, PurposeItem, RefineItem, StandardsItem
from app.platform.principal import Principal
from app.regulatory.service import (
    ClassifyRequest,
    PurposeRequest,
    RefineRequest,
    RegulatoryService,
    StandardsRequest,
)


class _RegulatoryKind:
    admin_only: ClassVar[bool] = False
    repeatable: ClassVar[bool] = True

    def __init__(self, regulatory: RegulatoryService) -> None:
        self.regulatory = regulatory

    def to_input(self, item: BaseModel) -> tuple[str | None, dict[str, Any]]:
        """The item's `ref`, and the rest as the endpoint's camelCase body."""
        return split_ref(item)


class ClassifyKind(_RegulatoryKind):
    """`classify`: medical device or not, risk class (`POST /api/classify`)."""

    name: ClassVar[str] = "classify"
    item_model: ClassVar[type[BaseModel]] = ClassifyItem

    async def run(self, data: dict[str, Any], *, owner: Principal) -> dict[str, Any]:
        """What `POST /api/classify` answers for the item."""
        answer = await self.regulatory.classify(req=ClassifyRequest.model_validate(data))
        return answer.api_body()


class PurposeKind(_RegulatoryKind):
    """`purpose`: the intended purpose in a category (`POST /api/purpose`)."""

    name: ClassVar[str] = "purpose"
    item_model: ClassVar[type[BaseModel]] = PurposeItem

    async def run(self, data: dict[str, Any], *, owner: Principal) -> dict[str, Any]:
        """What `POST /api/purpose` answers for the item."""
        answer = await self.regulatory.purpose(req=PurposeRequest.model_validate(data))
        return answer.api_body()


class StandardsKind(_RegulatoryKind):
    """`standards`: four regulatory plans per item, stored under the job's owner."""

    name: ClassVar[str] = "standards"
    item_model: ClassVar[type[BaseModel]] = StandardsItem
    # Each run stores a new set of plans: not twice.
    repeatable: ClassVar[bool] = False

    async def run(self, data: dict[str, Any], *, owner: Principal) -> dict[str, Any]:
        """What `POST /api/standards` answers for the item (its plans stored as the owner's)."""
        answer = await self.regulatory.standards(
            req=StandardsRequest.model_validate(data), principal=owner
        )
        return answer.api_body()


class RefineKind(_RegulatoryKind):
    """`refine`: a change to one of the owner's stored plans, stored as its next version."""

    name: ClassVar[str] = "refine"
    item_model: ClassVar[type[BaseModel]] = RefineItem
    # Each run stores the plan's next version: a change applied twice would compound.
    repeatable: ClassVar[bool] = False

    async def run(self, data: dict[str, Any], *, owner: Principal) -> dict[str, Any]:
        """What `POST /api/refine` answers for the item (another user's plan: PLAN_NOT_FOUND)."""
        answer = await self.regulatory.refine(
            req=RefineRequest.model_validate(data), principal=owner
        )
        return answer.api_body()


def regulatory_kinds(regulatory: RegulatoryService) -> list[JobKind]:
    """The regulatory area's job kinds."""
    return [
        ClassifyKind(regulatory),
        PurposeKind(regulatory),
        StandardsKind(regulatory),
        RefineKind(regulatory),
    ]
