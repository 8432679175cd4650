"""Ollama's /api/chat: `format` carries the JSON schema; streaming is NDJSON."""

from __future__ import annotations

import json
from typing import Any

from app.regulatory.ai.base import Endpoint, TokenSink, Usage
from app.regulatory.ai.llm import ChatModelProvider, ModelServerError
from app.regulatory.ai.prompts import Message


class OllamaProvider(ChatModelProvider):
    """POST {OLLAMA_BASE_URL}/api/chat with `stream` true when tokens are wanted."""

    name = "ollama"

    async def ping(self) -> dict[str, Any]:
        """Ask the server its version (health check); raises when unreachable."""
        response = await self.client.get(f"{self.base_url}/api/version", timeout=self.timeout)
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
        body = {
            "model": self.model,
            "messages": messages,
            "format": schema,
            "stream": on_token is not None,
            "options": {"temperature": 0},
        }
        url = f"{self.base_url}/api/chat"
        if on_token is None:
            response = await self.client.post(url, json=body, timeout=self.timeout)
            response.raise_for_status()
            doc = response.json()
            _raise_on_error(doc)
            return str(doc.get("message", {}).get("content", "")), _usage(doc)
        parts: list[str] = []
        usage = Usage()
        async with self.client.stream("POST", url, json=body, timeout=self.timeout) as response:
            response.raise_for_status()
            async for line in response.aiter_lines():
                if not line.strip():
                    continue
                doc = json.loads(line)
                _raise_on_error(doc)
                piece = str(doc.get("message", {}).get("content", ""))
                if piece:
                    parts.append(piece)
                    await on_token(piece)
                if doc.get("done"):
                    usage = _usage(doc)
                    break
        return "".join(parts), usage


def _usage(doc: dict[str, Any]) -> Usage:
    return Usage(
        prompt_tokens=int(doc.get("prompt_eval_count") or 0),
        completion_tokens=int(doc.get("eval_count") or 0),
    )


def _raise_on_error(doc: Any) -> None:
    # Ollama reports some failures (e.g. a model that ran out of memory) inside a 200 stream.
    if not isinstance(doc, dict):
        raise ModelServerError("not a JSON object")
    if doc.get("error"):
        raise ModelServerError(str(doc["error"])[:200])
