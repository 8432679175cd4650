"""A provider backed by a chat model over HTTP: constrained JSON output, validation,
normalisation and one repair round; transports (Ollama, OpenAI-compatible) subclass it."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar

import httpx

from app.platform.errors import AIInvalidOutputError, AIUnavailableError
from app.platform.logging import get_logger
from app.platform.metrics import AI_REQUESTS, AI_TOKENS
from app.regulatory.ai import normalise, prompts
from app.regulatory.ai.base import Endpoint, TokenSink, Usage
from app.regulatory.ai.prompts import Message
from app.regulatory.schemas.analysis import (
    ClassifyRequest,
    ClassifyResponse,
    Plan,
    PurposeRequest,
    PurposeResponse,
    StandardsRequest,
)

T = TypeVar("T")


class ModelServerError(Exception):
    """The model server answered, but with an error or something that is not its protocol."""


_log = get_logger("app.ai")


class ChatModelProvider:
    """Base of the HTTP providers; subclasses implement `_chat` for their wire protocol."""

    name = "model"

    def __init__(self, *, client: httpx.AsyncClient, base_url: str, model: str, timeout_s: float):
        self.client = client
        self.base_url = base_url.rstrip("/")
        self.model = model
        # Connect quickly or not at all; then wait up to timeout_s for each byte / chunk.
        self.timeout = httpx.Timeout(timeout_s, connect=min(timeout_s, 10.0))

    # --- transport (subclasses) -----------------------------------------------------------
    async def _chat(
        self,
        messages: list[Message],
        schema: dict[str, Any],
        *,
        endpoint: Endpoint,
        on_token: TokenSink | None,
    ) -> tuple[str, Usage]:
        """Send one chat request; the assistant's text and the token usage."""
        raise NotImplementedError

    # --- shared machinery ------------------------------------------------------------------
    def _unavailable(self, exc: Exception) -> AIUnavailableError:
        if isinstance(exc, httpx.TimeoutException):
            reason = "timed out"
        elif isinstance(exc, httpx.HTTPStatusError):
            reason = f"answered HTTP {exc.response.status_code}"
        elif isinstance(exc, ModelServerError | ValueError):
            reason = "reported an error"
        else:
            reason = "could not be reached"
        # The URL is configuration, not a secret; the API key is never part of it.
        _log.warning(
            "ai_unavailable",
            provider=self.name,
            model=self.model,
            reason=reason,
            error=type(exc).__name__,
        )
        return AIUnavailableError(
            f"The {self.name} model server {reason}; try again later.",
            details={"provider": self.name, "model": self.model},
        )

    def _count(self, endpoint: Endpoint, outcome: str) -> None:
        AI_REQUESTS.labels(self.name, self.model, endpoint, outcome).inc()

    def _tokens(self, usage: Usage) -> None:
        if usage.prompt_tokens:
            AI_TOKENS.labels(self.name, self.model, "prompt").inc(usage.prompt_tokens)
        if usage.completion_tokens:
            AI_TOKENS.labels(self.name, self.model, "completion").inc(usage.completion_tokens)

    async def _call(
        self,
        messages: list[Message],
        endpoint: Endpoint,
        on_token: TokenSink | None,
    ) -> str:
        try:
            text, usage = await self._chat(
                messages, prompts.SCHEMAS[endpoint], endpoint=endpoint, on_token=on_token
            )
        except (httpx.HTTPError, ModelServerError, ValueError) as exc:
            # ValueError: a body that is not the protocol's JSON (a proxy's HTML page, say).
            self._count(endpoint, "unavailable")
            raise self._unavailable(exc) from None
        self._tokens(usage)
        return text

    async def _structured(
        self,
        endpoint: Endpoint,
        payload: dict[str, Any],
        parse: Callable[[Any], T],
        on_token: TokenSink | None,
    ) -> T:
        """Ask, parse; on a bad answer ask once more with the reason; then give up (502)."""
        messages = prompts.messages_for(endpoint, payload)
        text = await self._call(messages, endpoint, on_token)
        try:
            result = parse(normalise.extract_json(text))
        except normalise.OutputError as exc:
            problem = str(exc)
        else:
            self._count(endpoint, "ok")
            return result
        _log.info("ai_repair", provider=self.name, model=self.model, endpoint=endpoint)
        text = await self._call(
            prompts.repair_messages(messages, text, problem), endpoint, on_token
        )
        try:
            result = parse(normalise.extract_json(text))
        except normalise.OutputError as exc:
            self._count(endpoint, "invalid_output")
            raise AIInvalidOutputError(
                f"The {self.name} model's answer for {endpoint} was invalid twice: {exc}",
                details={"provider": self.name, "model": self.model, "endpoint": endpoint},
            ) from None
        self._count(endpoint, "repaired")
        return result

    # --- Provider ---------------------------------------------------------------------------
    async def classify(
        self, req: ClassifyRequest, *, on_token: TokenSink | None = None
    ) -> ClassifyResponse:
        """Classify with the model."""
        return await self._structured(
            "classify", prompts.classify_payload(req), normalise.parse_classify, on_token
        )

    async def purpose(
        self, req: PurposeRequest, *, on_token: TokenSink | None = None
    ) -> PurposeResponse:
        """Intended purpose from the model."""
        return await self._structured(
            "purpose", prompts.purpose_payload(req), normalise.parse_purpose, on_token
        )

    async def standards(
        self, req: StandardsRequest, *, on_token: TokenSink | None = None
    ) -> list[Plan]:
        """Four plans from the model (their ids are placeholders the service replaces)."""
        return await self._structured(
            "standards", prompts.standards_payload(req), normalise.parse_standards, on_token
        )

    async def refine(
        self, plan: Plan, modifications: str, *, on_token: TokenSink | None = None
    ) -> tuple[Plan, list[str]]:
        """The plan changed by the model; id and tier stay the stored plan's."""
        return await self._structured(
            "refine",
            prompts.refine_payload(plan, modifications),
            lambda raw: normalise.parse_refine(raw, original=plan),
            on_token,
        )
