"""The application factory: settings, lifespan, middleware order, routers, error handlers."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from fastapi import FastAPI
from starlette.types import ASGIApp

from app import __version__, compat
from app.accounts import endpoints as auth
from app.batch import endpoints as batch
from app.commerce.endpoints import inventory, products, purchases
from app.health import endpoints as health
from app.lifespan import lifespan
from app.platform.config import Settings, get_settings
from app.platform.docs_ui import install_docs
from app.platform.error_handlers import install_error_handlers
from app.platform.logging import configure_logging
from app.platform.middleware.edge import EdgeMiddleware, edge_outermost
from app.regulatory.endpoints import analysis as regulatory
from app.regulatory.endpoints import cache as cache_router
from app.regulatory.endpoints import plans, sessions, stream

DESCRIPTION = (
    "Regulatory planning for medical-device makers, flash-sale commerce with zero oversell, "
    "and batch jobs. Every error is an RFC 9457 problem body (see docs/errors.md)."
)


# FastAPI's native OpenTelemetry looks up the global providers on every request; this service
# exports Prometheus metrics and structured logs instead (docs/operations.md).
TELEMETRY_OFF: Any = {"tracing": False, "metrics": False, "logs": False}


class RaideskAPI(FastAPI):
    """FastAPI with the edge layer as the outermost one, where FastAPI's own outer layers would
    only pass requests on (`edge_outermost`); without the edge, FastAPI's stack as it is."""

    def __init__(self, **kwargs: Any) -> None:
        telemetry = kwargs.get("telemetry") or {}
        # Every kind of FastAPI's native telemetry turned off at construction, for good.
        self.telemetry_off = all(telemetry.get(k) is False for k in ("tracing", "metrics", "logs"))
        super().__init__(**kwargs)

    def build_middleware_stack(self) -> ASGIApp:
        """FastAPI's stack, from the edge layer inward when the layers before it are redundant."""
        return edge_outermost(
            super().build_middleware_stack(),
            debug=self.debug,
            telemetry_off=self.telemetry_off,
            max_body_size=self.max_body_size,
        )


def _base_app(settings: Settings) -> FastAPI:
    app = RaideskAPI(
        title=settings.app_name,
        version=__version__,
        description=DESCRIPTION,
        lifespan=lifespan,
        telemetry=TELEMETRY_OFF,
        # Served by install_docs from local assets instead of FastAPI's CDN-backed pages.
        docs_url=None,
        redoc_url=None,
    )
    app.state.settings = settings
    install_error_handlers(app)
    # Starlette tries routes in order: the high-rate ones (probes, the flash sale) come first,
    # the AI-bound regulatory ones last. No two routers share a path, so order changes nothing else.
    app.include_router(health.router)
    app.include_router(purchases.router)
    app.include_router(inventory.router)
    app.include_router(products.router)
    app.include_router(auth.router)
    app.include_router(regulatory.router)
    app.include_router(stream.router)
    app.include_router(sessions.router)
    app.include_router(plans.router)
    app.include_router(cache_router.router)
    app.include_router(batch.router)
    # Last: the seeds' aliases are rare, so the hot routes never wait behind them.
    app.include_router(compat.router)
    auth.install_openapi_security(app)
    install_docs(app)
    return app


def create_app(settings: Settings | None = None) -> FastAPI:
    """The full service with every middleware layer."""
    settings = settings or get_settings()
    configure_logging(level=settings.log_level, fmt=settings.log_format)
    app = _base_app(settings)
    # One layer for every cross-cutting concern (docs/decisions/0004-one-edge-layer.md).
    app.add_middleware(EdgeMiddleware, settings=settings)
    return app


def create_bare_app(settings: Settings | None = None) -> FastAPI:
    """The same routes with no middleware at all: the benchmarks' baseline."""
    settings = settings or get_settings()
    configure_logging(level="WARNING", fmt=settings.log_format)
    return _base_app(settings)


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
