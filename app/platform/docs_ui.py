"""Swagger UI at /docs and ReDoc at /redoc, with their scripts and styles served by this app.

FastAPI's built-in pages load the bundles from a CDN, so offline or air-gapped the pages are
blank. The `fastapi-offline` package ships Swagger UI's and ReDoc's release bundles (and a
favicon); they are served under `/docs/assets`, which the docs CSP and the rate-limit
exemption (`/docs*`) already cover, and the pages are FastAPI's own HTML pointing there.

The assets are a route (`/docs/assets/{path}`) answered by Starlette's StaticFiles rather than a
`Mount`: a mount leaves no route template in the request scope, so every asked-for file name
would become its own metrics label and access-log route.
"""

from __future__ import annotations

from fastapi import APIRouter, FastAPI, Request
from fastapi.openapi.docs import (
    get_redoc_html,
    get_swagger_ui_html,
    get_swagger_ui_oauth2_redirect_html,
)
from fastapi.responses import HTMLResponse, Response
from fastapi.staticfiles import StaticFiles

DOCS_URL = "/docs"
REDOC_URL = "/redoc"
ASSETS_URL = "/docs/assets"
# (package, folder inside it) holding swagger-ui-bundle.js, swagger-ui.css,
# redoc.standalone.js and favicon.png.
ASSETS_PACKAGE = ("fastapi_offline", "static")


def _root(request: Request) -> str:
    """The prefix a proxy mounted the app under (ASGI root_path), so asset URLs still resolve."""
    return str(request.scope.get("root_path", "")).rstrip("/")


def install_docs(app: FastAPI) -> None:
    """Serve /docs (with its OAuth2 redirect page) and /redoc from local assets, off the schema.

    The app must be built with `docs_url=None, redoc_url=None` so FastAPI adds no CDN pages.
    """
    assets = StaticFiles(packages=[ASSETS_PACKAGE])
    router = APIRouter(include_in_schema=False)
    redirect_url = app.swagger_ui_oauth2_redirect_url

    @router.api_route(ASSETS_URL + "/{path:path}", methods=["GET", "HEAD"])
    async def docs_asset(path: str, request: Request) -> Response:
        """A file of the bundled Swagger UI / ReDoc release (ETag, conditional GET); else 404."""
        return await assets.get_response(path, request.scope)

    @router.get(DOCS_URL)
    async def swagger_ui(request: Request) -> HTMLResponse:
        """Swagger UI for this API's OpenAPI document."""
        root = _root(request)
        return get_swagger_ui_html(
            openapi_url=f"{root}{app.openapi_url}",
            title=f"{app.title} - Swagger UI",
            swagger_js_url=f"{root}{ASSETS_URL}/swagger-ui-bundle.js",
            swagger_css_url=f"{root}{ASSETS_URL}/swagger-ui.css",
            swagger_favicon_url=f"{root}{ASSETS_URL}/favicon.png",
            oauth2_redirect_url=f"{root}{redirect_url}" if redirect_url else None,
            init_oauth=app.swagger_ui_init_oauth,
            swagger_ui_parameters=app.swagger_ui_parameters,
        )

    if redirect_url:

        @router.get(redirect_url)
        async def swagger_ui_oauth2_redirect() -> HTMLResponse:
            """The page an OAuth2 provider sends Swagger UI's "Authorize" window back to."""
            return get_swagger_ui_oauth2_redirect_html()

    @router.get(REDOC_URL)
    async def redoc(request: Request) -> HTMLResponse:
        """ReDoc for this API's OpenAPI document."""
        root = _root(request)
        return get_redoc_html(
            openapi_url=f"{root}{app.openapi_url}",
            title=f"{app.title} - ReDoc",
            redoc_js_url=f"{root}{ASSETS_URL}/redoc.standalone.js",
            redoc_favicon_url=f"{root}{ASSETS_URL}/favicon.png",
            with_google_fonts=False,
        )

    app.include_router(router)
