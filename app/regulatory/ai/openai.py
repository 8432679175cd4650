"""OpenAI-compatible /v1/chat/completions (OpenAI, vLLM, llama.cpp, LM Studio): JSON schema
via `response_format`; streaming is SSE `data:` lines ending with `data: [DONE]`."""

from __future__ import annotations

import json
from typing import Any

import httpx

from app.regulatory.ai.base import Endpoint, TokenSink, Usage
from app.regulatory.ai.llm import ChatModelProvider
from app.regulatory.ai.prompts import Message


class OpenAIProvider(ChatModelProvider):
    """POST {OPENAI_BASE_URL}/chat/completions with a bearer key when one is configured."""

    name = "openai"

    def __init__(
        self,
        *,
        client: httpx.AsyncClient,
        base_url: str,
        model: str,
        timeout_s: float,
        api_key: str = "",
    ) -> None:
        super().__init__(client=client, base_url=base_url, model=model, timeout_s=timeout_s)
        self._headers = {"Authorization": f"Bearer {api_key}"} if api_key else {}

    def __repr__(self) -> str:  # never show the key
        return f"OpenAIProvider(base_url={self.base_url!r}, model={self.model!r})"

    async def ping(self) -> dict[str, Any]:
        """List the server's models (health check); raises when unreachable."""
        response = await self.client.get(
            f"{self.base_url}/models", headers=self._headers, timeout=self.timeout
        )
        response.raise_for_status()
        return {"provider": self.name, "model": self.model}

    async def _chat(
        self,
        messages: list[Message],
        schema: dict[str, Any],
        *,
        endpoint: Endpoint,
        on_token: TokenSink | None,
    ) -> tuple[str, Usage]:
        body: dict[str, Any] = {
            "model": self.model,
            "messages": messages,
            "temperature": 0,
            "response_format": {
                "type": "json_schema",
                "json_schema": {"name": f"raidesk_{endpoint}", "schema": schema, "strict": False},
            },
            "stream": on_token is not None,
        }
        url = f"{self.base_url}/chat/completions"
        if on_token is None:
            response = await self.client.post(
                url, json=body, headers=self._headers, timeout=self.timeout
            )
            response.raise_for_status()
            doc = response.json()
            choices = doc.get("choices") or [{}]
            text = (choices[0].get("message") or {}).get("content") or ""
            return str(text), _usage(doc.get("usage"))
        body["stream_options"] = {"include_usage": True}
        parts: list[str] = []
        usage = Usage()
        async with self.client.stream(
            "POST", url, json=body, headers=self._headers, timeout=self.timeout
        ) as response:
            response.raise_for_status()
            async for line in response.aiter_lines():
                if not line.startswith("data:"):
                    continue  # blank separators and `:` comments
                data = line[5:].strip()
                if data == "[DONE]":
                    break
                doc = json.loads(data)
                if doc.get("usage"):
                    usage = _usage(doc["usage"])
                for choice in doc.get("choices") or []:
                    piece = (choice.get("delta") or {}).get("content")
                    if piece:
                        parts.append(str(piece))
                        await on_token(str(piece))
        return "".join(parts), usage


def _usage(doc: Any) -> Usage:
    if not isinstance(doc, dict):
        return Usage()
    return Usage(
        prompt_tokens=int(doc.get("prompt_tokens") or 0),
        completion_tokens=int(doc.get("completion_tokens") or 0),
    )
