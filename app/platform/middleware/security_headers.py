"""Security headers for every response, with a CSP that still lets Swagger UI / ReDoc render."""

from __future__ import annotations

API_CSP = "default-src 'none'; frame-ancestors 'none'; base-uri 'none'"
# The docs pages (app/platform/docs_ui.py) load Swagger UI and ReDoc from this server and start them
# with an inline script; Swagger UI's CSS draws icons from data: URLs and ReDoc styles itself
# inline and searches in a blob: worker. No other host is needed, so none is allowed: ReDoc's
# "API docs by Redocly" footer logo (an image on Redocly's CDN) stays blocked, its text shows.
DOCS_CSP = (
    "default-src 'self'; script-src 'self' 'unsafe-inline'; style-src 'self' 'unsafe-inline'; "
    "img-src 'self' data:; worker-src 'self' blob:; connect-src 'self'; frame-ancestors 'none'"
)
HSTS = "max-age=31536000; includeSubDomains"
DOCS_PATHS = ("/docs", "/redoc")

RawHeaders = tuple[tuple[bytes, bytes], ...]


def _encoded(*pairs: tuple[str, str]) -> RawHeaders:
    return tuple((k.lower().encode("latin-1"), v.encode("latin-1")) for k, v in pairs)


_COMMON = (
    ("X-Content-Type-Options", "nosniff"),
    ("X-Frame-Options", "DENY"),
    ("Referrer-Policy", "strict-origin-when-cross-origin"),
)
# Raw header tuples per (docs page?, https?), encoded once.
_HEADERS = {
    (docs, https): _encoded(
        *_COMMON,
        ("Content-Security-Policy", DOCS_CSP if docs else API_CSP),
        *((("Strict-Transport-Security", HSTS),) if https else ()),
    )
    for docs in (False, True)
    for https in (False, True)
}
# A route may set one of these itself (e.g. a stricter CSP); then its value wins.
SECURITY_HEADER_NAMES = frozenset(name for headers in _HEADERS.values() for name, _ in headers)


def security_headers(path: str, scheme: str | None) -> RawHeaders:
    """nosniff, frame denial, referrer policy, CSP (looser on the docs pages), HSTS over https."""
    return _HEADERS[(path.startswith(DOCS_PATHS), scheme == "https")]
