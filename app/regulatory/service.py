"""Regulatory answers: provider choice and fallback, cache, storing every plan, refine by id,
and the event sequence of the streaming endpoints. No HTTP here."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any, TypeVar

from app.platform import errors
from app.platform.logging import get_logger
from app.platform.metrics import AI_REQUESTS
from app.platform.principal import Principal
from app.regulatory.ai import prompts
from app.regulatory.ai.base import Endpoint, Provider, TokenSink
from app.regulatory.cache import AICache, CacheOutcome, cache_key, nesting_depth
from app.regulatory.engine.errors import NotAMedicalDeviceError, UnusableCategoryError
from app.regulatory.engine.rules_engine import RulesEngine, annotate, plan_device
from app.regulatory.plans import PlanService, plan_body
from app.regulatory.repository import PlanRecord, PlanVersionConflict
from app.regulatory.schemas.analysis import (
    ClassifyRequest,
    ClassifyResponse,
    Plan,
    PurposeRequest,
    PurposeResponse,
    RefineRequest,
    StandardsRequest,
)
from app.regulatory.sessions import SessionService

# The request models batch jobs carry: other areas import them from here (this area's API).
__all__ = [
    "Answer",
    "ClassifyRequest",
    "PurposeRequest",
    "RefineRequest",
    "RegulatoryService",
    "StandardsRequest",
]

T = TypeVar("T")
_log = get_logger("app.regulatory")
_REFINE_ATTEMPTS = 8
# Far deeper than any real context object; bounds the recursion of hashing and prompting.
MAX_INPUT_DEPTH = 32


@dataclass
class Answer:
    """One endpoint's JSON body and where it came from."""

    body: dict[str, Any]
    provider: str
    model: str
    cache: CacheOutcome = "bypass"
    fallback: bool = False
    plans: list[dict[str, Any]] = field(default_factory=list)

    def api_body(self) -> dict[str, Any]:
        """The response body with the provenance fields clients may read."""
        meta: dict[str, Any] = {"provider": self.provider, "model": self.model}
        if self.fallback:
            meta["fallback"] = True
        return {**self.body, **meta}


_DEVICE_FIELDS = ("device", "route", "classification_source", "classification_reason")


def _same_device(refined: Plan, current: Plan) -> Plan:
    """A refined version is the same device as the one it refines, whatever a model wrote."""
    return refined.model_copy(update={f: getattr(current, f) for f in _DEVICE_FIELDS})


def _same_plan(refined: Plan, current: Plan) -> bool:
    """Whether a refine changed nothing a reader could see (ids and versions aside)."""
    keep = {
        "id": current.id,
        "version": current.version,
        "session_id": current.session_id,
        "tier": current.tier,
    }
    return refined.model_copy(update=keep) == current


def _check_depth(payload: Any) -> None:
    if nesting_depth(payload, stop_at=MAX_INPUT_DEPTH + 1) > MAX_INPUT_DEPTH:
        raise errors.ValidationFailedError(
            f"The input is nested more than {MAX_INPUT_DEPTH} levels deep.",
            details=[{"field": "body", "message": "nested too deeply", "type": "value_error"}],
        )


def _engine_error(exc: Exception) -> errors.AppError:
    if isinstance(exc, NotAMedicalDeviceError):
        return errors.DeviceNotMedicalError(exc.message)
    if isinstance(exc, UnusableCategoryError):
        return errors.InvalidCategoryError(exc.message)
    raise exc


class RegulatoryService:
    """classify / purpose / standards / refine over a provider, with cache and plan storage."""

    def __init__(
        self,
        *,
        provider: Provider,
        fallback: Provider | None,
        cache: AICache,
        plans: PlanService,
        sessions: SessionService,
        on_close: Callable[[], Awaitable[None]] | None = None,
        rules: RulesEngine | None = None,
    ) -> None:
        self.provider = provider
        self.rules = rules or RulesEngine()
        self.fallback = fallback
        self.cache = cache
        self.plans = plans
        self.sessions = sessions
        self._on_close = on_close

    async def probe_model(self) -> dict[str, Any] | None:
        """Health probe of the model server (None for the rules engine, which is in-process)."""
        ping = getattr(self.provider, "ping", None)
        if ping is None:
            return None
        result: dict[str, Any] = await ping()
        return result

    async def aclose(self) -> None:
        """Close the provider's HTTP client (called by the lifespan)."""
        if self._on_close is not None:
            await self._on_close()

    # --- provider call with fallback ---------------------------------------------------------
    async def _ask(
        self,
        endpoint: Endpoint,
        call: Callable[[Provider], Awaitable[T]],
    ) -> tuple[T, Provider, bool]:
        provider = self.provider
        try:
            try:
                result = await call(provider)
            except (errors.AIUnavailableError, errors.AIInvalidOutputError) as exc:
                if self.fallback is None:
                    raise
                _log.warning("ai_fallback", endpoint=endpoint, reason=exc.code)
                provider = self.fallback
                result = await call(provider)
                AI_REQUESTS.labels(provider.name, provider.model, endpoint, "fallback").inc()
                return result, provider, True
        except (NotAMedicalDeviceError, UnusableCategoryError) as exc:
            AI_REQUESTS.labels(provider.name, provider.model, endpoint, "rejected").inc()
            raise _engine_error(exc) from None
        if provider.name == "rules":  # model providers count their own outcomes
            AI_REQUESTS.labels(provider.name, provider.model, endpoint, "ok").inc()
        return result, provider, False

    async def _cached(
        self,
        endpoint: Endpoint,
        payload: dict[str, Any],
        call: Callable[[Provider], Awaitable[T]],
        dump: Callable[[T], Any],
    ) -> tuple[Any, Answer]:
        """(JSON value, answer meta): from the cache, or asked and stored unless a fallback."""
        _check_depth(payload)
        key = cache_key(
            provider=self.provider.name,
            model=self.provider.model,
            endpoint=endpoint,
            payload=payload,
        )
        cached = await self.cache.get(key)
        meta = Answer(body={}, provider=self.provider.name, model=self.provider.model)
        if cached is not None:
            meta.cache = "hit"
            return cached, meta
        result, provider, fell_back = await self._ask(endpoint, call)
        value = dump(result)
        meta.provider, meta.model, meta.fallback = provider.name, provider.model, fell_back
        if self.cache.enabled and not fell_back:
            # A fallback answer is not the configured model's: never serve it under its key.
            await self.cache.set(key, value)
            meta.cache = "miss"
        return value, meta

    # --- endpoints ----------------------------------------------------------------------------
    async def classify(self, *, req: ClassifyRequest, on_token: TokenSink | None = None) -> Answer:
        """Medical device or not, risk class, reasoning, suggested categories."""

        async def call(p: Provider) -> ClassifyResponse:
            return await p.classify(req, on_token=on_token)

        value, answer = await self._cached(
            "classify", prompts.classify_payload(req), call, lambda r: r.to_api()
        )
        answer.body = value
        return answer

    async def purpose(self, *, req: PurposeRequest, on_token: TokenSink | None = None) -> Answer:
        """Intended use, mechanism, population, benefit and contraindications."""

        async def call(p: Provider) -> PurposeResponse:
            return await p.purpose(req, on_token=on_token)

        payload = {**prompts.purpose_payload(req), "language": req.language}
        value, answer = await self._cached("purpose", payload, call, lambda r: r.to_api())
        answer.body = value
        return answer

    async def standards(
        self,
        *,
        req: StandardsRequest,
        principal: Principal | None,
        session_id: str | None = None,
        on_token: TokenSink | None = None,
    ) -> Answer:
        """Four plans, each stored under a new server-made id (version 1), for the device the
        classification names (or the non-device route)."""
        if not (req.category.code.strip() or req.category.name.strip()):
            raise errors.InvalidCategoryError("The category needs a code or a name.")
        session_id = session_id or req.session_id
        if session_id is not None:
            await self.sessions.get_or_raise(session_id=session_id, principal=principal)
        _check_depth(req.purpose_mechanism)
        # Which device, decided by the rules for every provider: a model would happily plan
        # for the placeholder category or for a non-device.
        try:
            resolution = self.rules.resolve(req)
        except (NotAMedicalDeviceError, UnusableCategoryError) as exc:
            raise _engine_error(exc) from None
        if resolution.route == "non-device":
            # No model is needed for the non-device route: its steps are fixed rules.
            answer = Answer(body={}, provider="rules", model=self.rules.model)
            plans = self.rules.standards(req)
        else:

            async def call(p: Provider) -> list[Plan]:
                return await p.standards(req, on_token=on_token)

            payload = {**prompts.standards_payload(req), "language": req.language}
            value, answer = await self._cached(
                "standards", payload, call, lambda plans: [plan.to_api() for plan in plans]
            )
            plans = [annotate(Plan.model_validate(item), resolution) for item in value]
        records = await self.plans.create(plans=plans, session_id=session_id, principal=principal)
        answer.plans = [r.plan for r in records]
        answer.body = {
            "plans": answer.plans,
            "route": resolution.route,
            "device": plan_device(resolution).to_api(),
            "classificationSource": resolution.source,
            "classificationReason": resolution.reason,
        }
        return answer

    async def refine(
        self,
        *,
        req: RefineRequest,
        principal: Principal | None,
        on_token: TokenSink | None = None,
    ) -> Answer:
        """Load the stored plan by id, change it, store the next version (same id)."""
        for _ in range(_REFINE_ATTEMPTS):
            record = await self.plans.get_or_raise(plan_id=req.plan_id, principal=principal)
            current = Plan.model_validate(record.plan)

            async def call(p: Provider, current: Plan = current) -> tuple[Plan, list[str]]:
                return await p.refine(current, req.modifications, on_token=on_token)

            (refined, changes), provider, fell_back = await self._ask("refine", call)
            refined = _same_device(refined, current)
            understood = self.rules.understood(current, req.modifications)
            if _same_plan(refined, current):
                # Nothing changed: no new version; say what was understood and why.
                reasons = changes or [self.rules.nothing_changed(current, req.modifications)]
                body = {
                    "plan": record.plan,
                    "appliedChanges": [],
                    "changed": False,
                    "understood": understood,
                    "reasons": reasons,
                }
                return Answer(
                    body=body, provider=provider.name, model=provider.model, fallback=fell_back
                )
            try:
                stored = await self._store_version(record, refined, req.modifications, changes)
            except PlanVersionConflict:
                continue  # someone refined it meanwhile: redo the change on their version
            body = {
                "plan": stored.plan,
                "appliedChanges": stored.applied_changes,
                "changed": True,
                "understood": understood,
                "reasons": [],
            }
            return Answer(
                body=body, provider=provider.name, model=provider.model, fallback=fell_back
            )
        raise errors.PlanVersionConflictError(
            f"Plan '{req.plan_id}' kept changing while it was refined; try again."
        )

    async def _store_version(
        self, record: PlanRecord, refined: Plan, modifications: str, changes: list[str]
    ) -> PlanRecord:
        version = record.version + 1
        body = plan_body(refined, plan_id=record.id, version=version, session_id=record.session_id)
        body["tier"] = record.tier  # a refine never moves a plan to another tier
        stored = await self.plans.repository.add_version(
            record.id,
            base_version=record.version,
            plan=body,
            modifications=modifications,
            applied_changes=changes,
        )
        if stored is None:  # deleted meanwhile
            raise errors.PlanNotFoundError.missing(record.id, f"Plan '{record.id}' was not found.")
        return stored

    # --- streaming ------------------------------------------------------------------------------
    async def stream(
        self, endpoint: Endpoint, run: Callable[[TokenSink], Awaitable[Answer]]
    ) -> AsyncIterator[dict[str, Any]]:
        """Typed events: status, token*, result (or plan × 4), done; or error. Closing the
        iterator (client gone) cancels the work, which closes the model server request."""
        queue: asyncio.Queue[tuple[str, Any]] = asyncio.Queue()

        async def sink(text: str) -> None:
            await queue.put(("token", text))

        async def runner() -> None:
            try:
                answer = await run(sink)
            except errors.AppError as exc:
                await queue.put(("error", exc))
            except Exception:
                _log.exception("stream_failed", endpoint=endpoint)
                await queue.put(("error", errors.AppError("The answer could not be produced.")))
            else:
                await queue.put(("answer", answer))

        yield {
            "type": "status",
            "status": "started",
            "endpoint": endpoint,
            "provider": self.provider.name,
            "model": self.provider.model,
        }
        task = asyncio.create_task(runner())
        try:
            while True:
                kind, value = await queue.get()
                if kind == "token":
                    yield {"type": "token", "text": value}
                    continue
                if kind == "error":
                    yield errors.error_event(value)
                    return
                answer: Answer = value
                if endpoint == "standards":
                    for index, plan in enumerate(answer.plans):
                        yield {"type": "plan", "index": index, "plan": plan}
                else:
                    yield {"type": "result", "data": answer.body}
                yield {
                    "type": "done",
                    "provider": answer.provider,
                    "model": answer.model,
                    "cache": answer.cache,
                    "fallback": answer.fallback,
                    **({"count": len(answer.plans)} if endpoint == "standards" else {}),
                }
                return
        finally:
            if not task.done():
                task.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await task
