"""The application factory: settings, lifespan, middleware order, routers, error handlers."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from fastapi import APIRouter, FastAPI

from app import __version__, compat
from app.accounts import endpoints as auth
from app.batch import endpoints as batch
from app.commerce.endpoints import inventory, products, purchases
from app.health import endpoints as health
from app.lifespan import lifespan, serving_lifespan
from app.limits import endpoints as limits
from app.platform.config import Settings, get_settings
from app.platform.docs_ui import install_docs
from app.platform.error_handlers import install_error_handlers
from app.platform.logging import configure_logging
from app.platform.middleware.edge import EdgeMiddleware
from app.platform.openapi import install_openapi_errors
from app.platform.tracing import TracingMiddleware, tracing_enabled
from app.regulatory.endpoints import analysis as regulatory
from app.regulatory.endpoints import cache as cache_router
from app.regulatory.endpoints import exports as exports_router
from app.regulatory.endpoints import plans, sessions, stream

DESCRIPTION = (
    "Regulatory planning for medical-device makers, flash-sale commerce with zero oversell, "
    "and batch jobs. Every error is an RFC 9457 problem body (see docs/errors.md)."
)


# FastAPI's native OpenTelemetry looks up the global providers on every request; this service
# exports Prometheus metrics and structured logs instead (docs/operations.md).
TELEMETRY_OFF: Any = {"tracing": False, "metrics": False, "logs": False}


def _base_app(settings: Settings, *, served: bool = False) -> FastAPI:
    app = FastAPI(
        title=settings.app_name,
        version=__version__,
        description=DESCRIPTION,
        lifespan=serving_lifespan if served else lifespan,
        telemetry=TELEMETRY_OFF,
        # Starlette's slash redirect builds an absolute URL from the request's Host header;
        # the 404 handler redirects with a relative Location instead (app/platform/error_handlers.py).
        redirect_slashes=False,
        # Served by install_docs from local assets instead of FastAPI's CDN-backed pages.
        docs_url=None,
        redoc_url=None,
    )
    app.state.settings = settings
    install_error_handlers(app)
    # Starlette tries routes in order: the high-rate ones (probes, the flash sale) come first,
    # the AI-bound regulatory ones last. No two routers share a path, so order changes nothing else.
    routers: tuple[APIRouter, ...] = (
        health.router,
        purchases.router,
        inventory.router,
        products.router,
        auth.router,
        regulatory.router,
        stream.router,
        sessions.router,
        plans.router,
        exports_router.router,
        cache_router.router,
        batch.router,
        limits.router,
    )
    if settings.seed_aliases:
        # Last: the seeds' aliases are rare, so the hot routes never wait behind them.
        routers += (compat.router,)
    for router in routers:
        app.include_router(router)
    auth.install_openapi_security(app)
    install_openapi_errors(app, [route for router in routers for route in router.routes])
    install_docs(app)
    return app


def create_app(settings: Settings | None = None, *, served: bool = False) -> FastAPI:
    """The full service with every middleware layer."""
    settings = settings or get_settings()
    configure_logging(
        level=settings.log_level,
        fmt=settings.log_format,
        log_file=settings.log_file,
        log_max_bytes=settings.log_max_bytes,
        log_backup_count=settings.log_backup_count,
    )
    app = _base_app(settings, served=served)
    if tracing_enabled(settings):
        # Inside the edge: the request id is set when the span starts (docs/operations.md).
        app.add_middleware(TracingMiddleware)
    # One layer for every cross-cutting concern (docs/decisions/0004-one-edge-layer.md).
    app.add_middleware(EdgeMiddleware, settings=settings)
    return app


def create_served_app() -> FastAPI:
    """What `python -m app serve` runs: the full service, with the garbage collector tuned for
    a long-lived server once startup is done (`app.platform.gc_tuning`)."""
    return create_app(served=True)


def create_bare_app(settings: Settings | None = None, *, served: bool = False) -> FastAPI:
    """The same routes with no middleware at all: the benchmarks' baseline."""
    settings = settings or get_settings()
    configure_logging(level="WARNING", fmt=settings.log_format)
    return _base_app(settings, served=served)


def create_served_bare_app() -> FastAPI:
    """The benchmarks' baseline as a served process runs it (GC tuned like `serve`)."""
    return create_bare_app(served=True)


# `uvicorn app.main:app`, `fastapi run app/main.py` and `fastapi dev app/main.py` look up `app`
# here. It is built on first access, not at import, so importing this module reads no settings
# and opens no client (tests and tools import it with any environment).
if TYPE_CHECKING:
    app: FastAPI


def __getattr__(name: str) -> FastAPI:
    """Build `app` from the environment's settings on first access, then keep it."""
    if name == "app":
        built = create_app()
        globals()["app"] = built
        return built
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def __dir__() -> list[str]:
    """List `app` too: the `fastapi` command finds the app by scanning `dir()` of the module."""
    return sorted({*globals(), "app"})
