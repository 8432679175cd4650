"""What the /docs and /redoc pages make a browser fetch, read from their HTML."""

from __future__ import annotations

import re
from html.parser import HTMLParser

# Attributes whose value a browser fetches (or, for ReDoc's `spec-url`, the page's script does).
_URL_ATTRIBUTES = {"src", "href", "spec-url"}
# A path in quotes inside an inline script: Swagger UI's `url: '/openapi.json'` and its
# `oauth2RedirectUrl: window.location.origin + '/docs/oauth2-redirect'`.
_SCRIPT_PATH = re.compile(r"""['"](/[^'"\s]*)['"]""")
ABSOLUTE_URL = re.compile(r"""(?:https?:)?//[^\s'"<>)]+""", re.I)

# Content type each kind of asset must be served with (`X-Content-Type-Options: nosniff` makes
# a browser refuse a script or stylesheet served as anything else).
CONTENT_TYPES = {
    ".js": ("text/javascript", "application/javascript"),
    ".css": ("text/css",),
    ".png": ("image/png",),
    ".json": ("application/json",),
}


class _Collector(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.urls: list[str] = []
        self._in_script = False

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self._in_script = tag == "script"
        self.urls += [value for name, value in attrs if name in _URL_ATTRIBUTES and value]

    def handle_endtag(self, tag: str) -> None:
        if tag == "script":
            self._in_script = False

    def handle_data(self, data: str) -> None:
        if self._in_script:
            self.urls += _SCRIPT_PATH.findall(data)


def referenced_urls(html: str) -> list[str]:
    """Every URL the page loads: script src, link href, ReDoc's spec-url, paths in inline JS."""
    collector = _Collector()
    collector.feed(html)
    collector.close()
    return list(dict.fromkeys(collector.urls))


def expected_content_types(path: str) -> tuple[str, ...]:
    """The content types a response for `path` may have (HTML unless its suffix says else)."""
    for suffix, types in CONTENT_TYPES.items():
        if path.endswith(suffix):
            return types
    return ("text/html",)
