"""The edge layer replaces FastAPI's outer layers only where they would do nothing for this app."""

from __future__ import annotations

from pathlib import Path

import httpx
import pytest
from fastapi import FastAPI
from starlette.middleware.errors import ServerErrorMiddleware
from starlette.middleware.exceptions import ExceptionMiddleware

from app.main import RaideskAPI, create_app, create_bare_app
from app.platform.middleware.edge import EdgeMiddleware
from app.platform.middleware.types import ASGIApp, Receive, Scope, Send
from tests.conftest import make_settings

pytestmark = pytest.mark.unit


class Tagging:
    """A user middleware of its own, outside the edge: it tags every response."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        async def tagged(message: dict[str, object]) -> None:
            if message["type"] == "http.response.start":
                message["headers"] = [*message.get("headers", []), (b"x-tagged", b"1")]
            await send(message)

        await self.app(scope, receive, tagged)


def _layers(app: FastAPI) -> list[str]:
    names, layer = [], app.build_middleware_stack()
    while layer is not None and not isinstance(layer, ExceptionMiddleware):
        names.append(type(layer).__name__)
        layer = getattr(layer, "app", None)
    return names


def test_the_service_starts_at_its_edge(tmp_path: Path) -> None:
    # Fails when a FastAPI upgrade moves or renames one of the layers the edge stands in for:
    # the app would still be correct (the whole stack is kept), just slower.
    stack = create_app(make_settings(tmp_path)).build_middleware_stack()
    assert isinstance(stack, EdgeMiddleware)
    assert isinstance(stack.app, ExceptionMiddleware)


def test_without_the_edge_fastapis_stack_is_left_as_it_is(tmp_path: Path) -> None:
    assert isinstance(
        create_bare_app(make_settings(tmp_path)).build_middleware_stack(), ServerErrorMiddleware
    )


def test_debug_mode_keeps_the_traceback_page(tmp_path: Path) -> None:
    app = create_app(make_settings(tmp_path))
    app.debug = True
    assert _layers(app)[0] == "ServerErrorMiddleware" and "EdgeMiddleware" in _layers(app)


def test_fastapis_own_body_limit_or_telemetry_keeps_the_stack(tmp_path: Path) -> None:
    app = create_app(make_settings(tmp_path))
    app.max_body_size = 1024
    assert _layers(app)[0] == "ServerErrorMiddleware"
    traced = RaideskAPI(telemetry={"tracing": True, "metrics": False, "logs": False})
    traced.add_middleware(EdgeMiddleware, settings=make_settings(tmp_path))
    assert _layers(traced)[0] == "ServerErrorMiddleware"


async def test_a_layer_outside_the_edge_keeps_the_stack_and_still_runs(tmp_path: Path) -> None:
    app = create_app(make_settings(tmp_path))
    app.add_middleware(Tagging)
    assert _layers(app)[0] == "ServerErrorMiddleware" and "Tagging" in _layers(app)
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://t") as client:
            answer = await client.get("/ping")
    assert answer.status_code == 200
    assert answer.headers["x-tagged"] == "1" and "x-request-id" in answer.headers
