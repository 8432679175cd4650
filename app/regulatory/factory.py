"""The regulatory area, wired from settings: which session store, the AI provider and its cache."""

from __future__ import annotations

from app.platform.config import Settings
from app.platform.storage.base import KeyValueStore
from app.platform.storage.connections import Connections
from app.platform.storage.factory import build_private_kv_store
from app.regulatory.adapters.redis.sessions import RedisSessionStore
from app.regulatory.adapters.sql.plans import SqlPlanRepository
from app.regulatory.adapters.sql.sessions import SqlSessionStore
from app.regulatory.ai.factory import build_http_client, build_provider
from app.regulatory.ai.rules import RulesProvider
from app.regulatory.cache import AICache
from app.regulatory.plans import PlanService
from app.regulatory.repository import PlanRepository, SessionStore
from app.regulatory.service import RegulatoryService
from app.regulatory.sessions import SessionService


def build_session_store(settings: Settings, connections: Connections) -> SessionStore:
    """SESSION_STORAGE decides; the default is Redis when REDIS_URL is set, else SQL."""
    if settings.effective_session_storage == "redis" and connections.redis is not None:
        return RedisSessionStore(connections.redis)
    return SqlSessionStore(connections.engine)


def build_plan_repository(connections: Connections) -> PlanRepository:
    """Plans are durable records: always SQL."""
    return SqlPlanRepository(connections.engine)


def build_regulatory(
    settings: Settings, connections: Connections, *, kv: KeyValueStore
) -> RegulatoryService:
    """Wire stores, cache, provider and fallback from settings (called by the lifespan)."""
    shared = connections.redis is not None
    rules = RulesProvider()
    client = build_http_client(settings) if settings.ai_provider != "rules" else None
    provider = build_provider(settings, client=client, rules=rules)
    fallback = rules if settings.ai_fallback == "rules" and provider is not rules else None
    cache = AICache(
        build_private_kv_store(connections, shared=kv, max_entries=settings.cache_max_entries),
        ttl_s=settings.cache_ttl_s,
        backend="redis" if shared else "memory",
        max_entries=None if shared else settings.cache_max_entries,
    )
    return RegulatoryService(
        provider=provider,
        fallback=fallback,
        cache=cache,
        plans=PlanService(build_plan_repository(connections)),
        sessions=SessionService(
            build_session_store(settings, connections), ttl_s=settings.session_ttl_s
        ),
        on_close=client.aclose if client is not None else None,
        rules=rules.engine,
    )
