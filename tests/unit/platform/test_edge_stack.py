"""The edge sits inside FastAPI's own outer layers, and an app-wide `Exception` handler answers."""

from __future__ import annotations

from pathlib import Path

import httpx
import pytest
from fastapi import FastAPI, Request
from starlette.middleware.errors import ServerErrorMiddleware
from starlette.responses import JSONResponse, Response

from app.main import create_app
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
    while layer is not None and not isinstance(layer, EdgeMiddleware):
        names.append(type(layer).__name__)
        layer = getattr(layer, "app", None)
    return names


def _failing_app(tmp_path: Path) -> FastAPI:
    app = create_app(make_settings(tmp_path))

    @app.get("/boom")
    async def boom() -> None:
        raise RuntimeError("boom")

    return app


async def _get(app: FastAPI, path: str) -> httpx.Response:
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://t") as client:
            return await client.get(path)


def test_fastapis_own_outer_layers_stay_in_front_of_the_edge(tmp_path: Path) -> None:
    stack = create_app(make_settings(tmp_path)).build_middleware_stack()
    assert isinstance(stack, ServerErrorMiddleware)
    assert _layers(create_app(make_settings(tmp_path)))[0] == "ServerErrorMiddleware"


async def test_an_app_wide_exception_handler_is_called(tmp_path: Path) -> None:
    app = _failing_app(tmp_path)
    seen: list[str] = []

    async def handler(request: Request, exc: Exception) -> Response:
        seen.append(f"{request.url.path}:{exc}")
        return JSONResponse({"handled": True}, status_code=503)

    app.add_exception_handler(Exception, handler)
    answer = await _get(app, "/boom")
    assert seen == ["/boom:boom"]  # called once: the outer layer does not see it again
    assert answer.status_code == 503
    assert answer.json() == {"handled": True}
    assert "x-request-id" in answer.headers  # answered inside the edge, with its headers


async def test_a_plain_function_handler_for_500_is_called_too(tmp_path: Path) -> None:
    app = _failing_app(tmp_path)

    def handler(request: Request, exc: Exception) -> Response:
        return JSONResponse({"kind": type(exc).__name__}, status_code=500)

    app.add_exception_handler(500, handler)
    answer = await _get(app, "/boom")
    assert answer.status_code == 500
    assert answer.json() == {"kind": "RuntimeError"}


async def test_a_failing_handler_falls_back_to_the_problem_body(tmp_path: Path) -> None:
    app = _failing_app(tmp_path)

    async def handler(request: Request, exc: Exception) -> Response:
        raise ValueError("handler broke")

    app.add_exception_handler(Exception, handler)
    answer = await _get(app, "/boom")
    assert answer.status_code == 500
    assert answer.headers["content-type"] == "application/problem+json"
    assert answer.json()["status"] == 500


async def test_without_a_handler_the_answer_is_the_problem_body(tmp_path: Path) -> None:
    answer = await _get(_failing_app(tmp_path), "/boom")
    assert answer.status_code == 500
    assert answer.headers["content-type"] == "application/problem+json"
    assert answer.json()["status"] == 500 and "x-request-id" in answer.headers


async def test_a_layer_outside_the_edge_runs(tmp_path: Path) -> None:
    app = create_app(make_settings(tmp_path))
    app.add_middleware(Tagging)
    assert "Tagging" in _layers(app)
    answer = await _get(app, "/ping")
    assert answer.status_code == 200
    assert answer.headers["x-tagged"] == "1" and "x-request-id" in answer.headers
