"""The commerce area's batch job kind: `restock`, bulk stock additions (admin only). It has the
shape of the batch area's `JobKind` Protocol without importing it (the areas stay apart; the
lifespan registers it), and goes through the inventory service like `POST …/restock`."""

from __future__ import annotations

from dataclasses import asdict
from typing import Annotated, Any, ClassVar

from pydantic import BaseModel, ConfigDict, Field

from app.commerce.inventory import InventoryService
from app.platform.principal import Principal


class RestockItem(BaseModel):
    """Units to add to one product (a CSV row `product_id,quantity[,ref]`)."""

    model_config = ConfigDict(extra="forbid")

    product_id: int = Field(ge=1, le=2**31 - 1)
    quantity: int = Field(ge=1, le=1_000_000_000)
    ref: Annotated[str | None, Field(default=None, min_length=1, max_length=200)]


class RestockKind:
    """`restock`: each item adds `quantity` units to `product_id`; its result is the product's
    inventory after it (as `GET /api/inventory/{id}` answers)."""

    name: ClassVar[str] = "restock"
    item_model: ClassVar[type[BaseModel]] = RestockItem
    admin_only: ClassVar[bool] = True
    # A restock run twice would add the units twice: at most once.
    repeatable: ClassVar[bool] = False

    def __init__(self, inventory: InventoryService) -> None:
        self.inventory = inventory

    def to_input(self, item: BaseModel) -> tuple[str | None, dict[str, Any]]:
        """The item's `ref`, and `{product_id, quantity}`."""
        data = item.model_dump(mode="json")
        return data.pop("ref", None), data

    async def run(self, data: dict[str, Any], *, owner: Principal) -> dict[str, Any]:
        """Add the units (PRODUCT_NOT_FOUND fails the item)."""
        view = await self.inventory.restock(
            principal=owner, product_id=int(data["product_id"]), quantity=int(data["quantity"])
        )
        return asdict(view)
