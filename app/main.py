"""The application factory: settings, lifespan, middleware order, routers, error handlers."""

from __future__ import annotations

from fastapi import FastAPI

from app import __version__
from app.config import Settings, get_settings
from app.error_handlers import install_error_handlers
from app.lifespan import lifespan
from app.logging import configure_logging
from app.middleware.body_limit import BodyLimitMiddleware
from app.middleware.client_ip import parse_networks
from app.middleware.cors import CorsMiddleware
from app.middleware.observability import ObservabilityMiddleware
from app.middleware.rate_limit import RateLimitMiddleware
from app.middleware.request_context import RequestContextMiddleware
from app.middleware.security_headers import SecurityHeadersMiddleware
from app.middleware.server_errors import ServerErrorMiddleware
from app.routers import (
    auth,
    health,
    inventory,
    plans,
    products,
    purchases,
    regulatory,
    sessions,
    stream,
)
from app.routers import cache as cache_router

DESCRIPTION = (
    "Regulatory planning for medical-device makers, flash-sale commerce with zero oversell, "
    "and batch jobs. Every error is an RFC 9457 problem body (see docs/errors.md)."
)


def _base_app(settings: Settings) -> FastAPI:
    app = FastAPI(
        title=settings.app_name,
        version=__version__,
        description=DESCRIPTION,
        lifespan=lifespan,
    )
    app.state.settings = settings
    install_error_handlers(app)
    app.include_router(health.router)
    app.include_router(auth.router)
    app.include_router(regulatory.router)
    app.include_router(stream.router)
    app.include_router(sessions.router)
    app.include_router(plans.router)
    app.include_router(cache_router.router)
    app.include_router(products.router)
    app.include_router(inventory.router)
    app.include_router(purchases.router)
    auth.install_openapi_security(app)
    return app


def create_app(settings: Settings | None = None) -> FastAPI:
    """The full service with every middleware layer."""
    settings = settings or get_settings()
    configure_logging(level=settings.log_level, fmt=settings.log_format)
    app = _base_app(settings)
    # add_middleware puts each new layer outside the previous one: listed innermost first.
    app.add_middleware(ServerErrorMiddleware)
    app.add_middleware(BodyLimitMiddleware, max_bytes=settings.max_body_bytes)
    if settings.rate_limit_enabled or settings.admin_ip_allowlist:
        # Off entirely when disabled: benchmarks compare against no layer at all.
        app.add_middleware(RateLimitMiddleware, settings=settings)
    app.add_middleware(
        CorsMiddleware,
        allow_origins=settings.cors_origins,
        expose_headers=[
            "X-Request-ID",
            "Retry-After",
            "RateLimit",
            "RateLimit-Policy",
            "X-RateLimit-Limit",
            "X-RateLimit-Remaining",
            "X-RateLimit-Reset",
            "Idempotent-Replayed",
            "Cache-Status",
        ],
    )
    app.add_middleware(SecurityHeadersMiddleware)
    app.add_middleware(
        ObservabilityMiddleware,
        metrics=settings.metrics_enabled,
        skip_paths=("/health/live", "/metrics"),
    )
    app.add_middleware(
        RequestContextMiddleware,
        header=settings.request_id_header,
        trusted_proxies=parse_networks(settings.trusted_proxies),
    )
    return app


def create_bare_app(settings: Settings | None = None) -> FastAPI:
    """The same routes with no middleware at all: the benchmarks' baseline."""
    settings = settings or get_settings()
    configure_logging(level="WARNING", fmt=settings.log_format)
    return _base_app(settings)
