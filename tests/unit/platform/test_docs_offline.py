"""/docs and /redoc load every script, style and icon from this server: they work offline."""

from __future__ import annotations

from urllib.parse import urlsplit

import httpx
import pytest

from app.platform.middleware.security_headers import DOCS_CSP
from tests.support.docs_pages import ABSOLUTE_URL, expected_content_types, referenced_urls

pytestmark = pytest.mark.unit


async def fetch_page_and_assets(http: httpx.AsyncClient, page: str) -> dict[str, httpx.Response]:
    """The page and every URL it references, each fetched from the same server."""
    response = await http.get(page)
    assert response.status_code == 200, response.text
    assert response.headers["content-type"].startswith("text/html")
    fetched = {page: response}
    for url in referenced_urls(response.text):
        parts = urlsplit(url)
        assert not parts.scheme and not parts.netloc, f"{page} loads {url} from another host"
        fetched[url] = await http.get(url)
    return fetched


@pytest.mark.parametrize(
    ("page", "assets"),
    [
        (
            "/docs",
            {
                "/docs/assets/swagger-ui-bundle.js",
                "/docs/assets/swagger-ui.css",
                "/docs/assets/favicon.png",
                "/openapi.json",
                "/docs/oauth2-redirect",
            },
        ),
        (
            "/redoc",
            {"/docs/assets/redoc.standalone.js", "/docs/assets/favicon.png", "/openapi.json"},
        ),
    ],
)
async def test_every_asset_of_the_docs_pages_comes_from_the_server(
    client: httpx.AsyncClient, page: str, assets: set[str]
) -> None:
    fetched = await fetch_page_and_assets(client, page)
    assert set(fetched) - {page} == assets
    for url, response in fetched.items():
        assert response.status_code == 200, url
        content_type = response.headers["content-type"].split(";")[0]
        assert content_type in expected_content_types(url), (url, content_type)
        assert int(response.headers["content-length"]) > 0
        if url != "/openapi.json":
            # Served under the docs paths, so with the docs CSP (the API's would block them).
            assert response.headers["content-security-policy"] == DOCS_CSP
    # No CDN, font host or favicon from elsewhere left in the page.
    assert ABSOLUTE_URL.findall(fetched[page].text) == []


async def test_the_bundles_are_the_real_ones(client: httpx.AsyncClient) -> None:
    swagger = await client.get("/docs/assets/swagger-ui-bundle.js")
    assert "SwaggerUIBundle" in swagger.text and len(swagger.content) > 500_000
    redoc = await client.get("/docs/assets/redoc.standalone.js")
    assert "Redoc" in redoc.text and len(redoc.content) > 500_000
    css = await client.get("/docs/assets/swagger-ui.css")
    assert ".swagger-ui" in css.text
    icon = await client.get("/docs/assets/favicon.png")
    assert icon.content.startswith(b"\x89PNG")


def test_the_docs_csp_names_no_other_host() -> None:
    assert "http" not in DOCS_CSP and "//" not in DOCS_CSP
    # What the pages need: their own scripts and inline start-up, inline styles, data: icons,
    # ReDoc's blob: worker.
    for needed in (
        "script-src 'self' 'unsafe-inline'",
        "style-src 'self' 'unsafe-inline'",
        "img-src 'self' data:",
        "worker-src 'self' blob:",
    ):
        assert needed in DOCS_CSP


async def test_assets_answer_conditional_gets_and_head(client: httpx.AsyncClient) -> None:
    first = await client.get("/docs/assets/swagger-ui.css")
    again = await client.get(
        "/docs/assets/swagger-ui.css", headers={"If-None-Match": first.headers["etag"]}
    )
    assert again.status_code == 304 and again.content == b""
    head = await client.head("/docs/assets/redoc.standalone.js")
    assert head.status_code == 200 and head.content == b""
    assert head.headers["content-type"].startswith("text/javascript")


# `core.py` sits one folder above the assets in the package: reachable only by escaping.
# (Encoded dots, since a client would collapse a plain `../` before sending.)
@pytest.mark.parametrize(
    "path",
    ["/docs/assets/nope.js", "/docs/assets/%2e%2e/core.py", "/docs/assets/..%2f..%2fcore.py"],
)
async def test_unknown_or_escaping_asset_paths_are_a_404_problem(
    client: httpx.AsyncClient, path: str
) -> None:
    response = await client.get(path)
    assert response.status_code == 404
    assert response.headers["content-type"] == "application/problem+json"
    assert response.json()["status"] == 404


async def test_the_docs_routes_stay_out_of_the_schema(client: httpx.AsyncClient) -> None:
    paths = (await client.get("/openapi.json")).json()["paths"]
    assert not [p for p in paths if p.startswith(("/docs", "/redoc"))]


async def test_asset_requests_share_one_route_label(client: httpx.AsyncClient) -> None:
    """Asked-for file names never become metrics labels of their own."""
    for name in ("swagger-ui.css", "no-such-file-1.js", "no-such-file-2.js"):
        await client.get(f"/docs/assets/{name}")
    metrics = (await client.get("/metrics")).text
    assert 'route="/docs/assets/{path}"' in metrics
    assert "no-such-file" not in metrics
