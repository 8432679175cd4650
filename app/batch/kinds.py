"""Job kinds: what one item of a job is (its schema) and how it is done. Adding a kind is one
class that satisfies `JobKind`, registered by name in the factory (docs/batch.md)."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Iterable, Mapping
from typing import Any, ClassVar, Protocol

from pydantic import BaseModel

from app.platform.principal import Principal

# Turns one stored item's input into its result body; raises AppError for a failed item.
ItemProcessor = Callable[[dict[str, Any]], Awaitable[dict[str, Any]]]
# The job's owner, as the runner knows it: enough for a kind that stores things under them.
OwnerLookup = Callable[[str], Awaitable[Principal | None]]


class JobKind(Protocol):
    """One kind of batch job."""

    # The `kind` of requests and of stored jobs (at most 20 characters).
    name: ClassVar[str]
    # The schema of one item, with its optional `ref` (extra fields forbidden).
    item_model: ClassVar[type[BaseModel]]
    # Only admins may queue it (e.g. stock changes).
    admin_only: ClassVar[bool]
    # Whether an item may run again after a crash (at-least-once: pure answers, e.g. classify).
    # False: at most once, never retried; an item cut off while running fails as
    # BATCH_ITEM_INTERRUPTED (stock changes, stored plans).
    repeatable: ClassVar[bool]

    def to_input(self, item: BaseModel) -> tuple[str | None, dict[str, Any]]:
        """The item's `ref` and the input to store for it (what `run` is given)."""

    async def run(self, data: dict[str, Any], *, owner: Principal) -> dict[str, Any]:
        """One item's result body; raises AppError for a failed item."""


def split_ref(item: BaseModel) -> tuple[str | None, dict[str, Any]]:
    """`ref` apart from the rest of the item, dumped as JSON with its aliases (camelCase)."""
    data = item.model_dump(mode="json", by_alias=True)
    ref = data.pop("ref", None)
    return ref, data


class KindRegistry:
    """The job kinds of this app, by name."""

    def __init__(self, kinds: Iterable[JobKind]) -> None:
        self._kinds: dict[str, JobKind] = {}
        for kind in kinds:
            if kind.name in self._kinds:
                raise ValueError(f"batch kind {kind.name!r} registered twice")
            self._kinds[kind.name] = kind

    def get(self, name: str) -> JobKind | None:
        """The kind of that name, or None."""
        return self._kinds.get(name)

    @property
    def names(self) -> list[str]:
        """Every kind's name, sorted."""
        return sorted(self._kinds)

    def processors(self, owner: Principal) -> Mapping[str, ItemProcessor]:
        """Each kind's item → result for a job of `owner`."""

        def bind(kind: JobKind) -> ItemProcessor:
            async def process(data: dict[str, Any]) -> dict[str, Any]:
                return await kind.run(data, owner=owner)

            return process

        return {name: bind(kind) for name, kind in self._kinds.items()}
