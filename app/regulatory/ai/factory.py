"""Build the configured provider (and the rules fallback) from settings."""

from __future__ import annotations

import httpx

from app.platform.config import Settings
from app.regulatory.ai.base import Provider
from app.regulatory.ai.ollama import OllamaProvider
from app.regulatory.ai.openai import OpenAIProvider
from app.regulatory.ai.rules import RulesProvider


def build_http_client(settings: Settings) -> httpx.AsyncClient:
    """One pooled client for every model call (made in the lifespan, closed on shutdown)."""
    return httpx.AsyncClient(
        timeout=httpx.Timeout(settings.ai_timeout_s, connect=min(settings.ai_timeout_s, 10.0)),
        limits=httpx.Limits(max_connections=100, max_keepalive_connections=20),
        follow_redirects=False,
        trust_env=False,
    )


def build_provider(
    settings: Settings, *, client: httpx.AsyncClient | None, rules: RulesProvider
) -> Provider:
    """AI_PROVIDER: rules (no client needed), ollama or openai (over `client`)."""
    if settings.ai_provider == "rules":
        return rules
    if client is None:
        raise ValueError(f"AI_PROVIDER={settings.ai_provider} needs an HTTP client")
    if settings.ai_provider == "ollama":
        return OllamaProvider(
            client=client,
            base_url=settings.ollama_base_url,
            model=settings.ollama_model,
            timeout_s=settings.ai_timeout_s,
        )
    return OpenAIProvider(
        client=client,
        base_url=settings.openai_base_url,
        model=settings.openai_model,
        timeout_s=settings.ai_timeout_s,
        api_key=settings.openai_api_key.get_secret_value(),
    )
