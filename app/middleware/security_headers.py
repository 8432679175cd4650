"""Security headers on every response, with a CSP that still lets Swagger UI / ReDoc render."""

from __future__ import annotations

from app.middleware.types import ASGIApp, Message, Receive, Scope, Send

API_CSP = "default-src 'none'; frame-ancestors 'none'; base-uri 'none'"
# FastAPI's docs pages load their bundles from jsDelivr and start them with an inline script.
DOCS_CSP = (
    "default-src 'self'; script-src 'self' 'unsafe-inline' https://cdn.jsdelivr.net; "
    "style-src 'self' 'unsafe-inline' https://cdn.jsdelivr.net https://fonts.googleapis.com; "
    "font-src 'self' https://fonts.gstatic.com; img-src 'self' data: https://fastapi.tiangolo.com "
    "https://cdn.redoc.ly; worker-src 'self' blob:; connect-src 'self'; frame-ancestors 'none'"
)
HSTS = "max-age=31536000; includeSubDomains"


def _encoded(*pairs: tuple[str, str]) -> tuple[tuple[bytes, bytes], ...]:
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


class SecurityHeadersMiddleware:
    """Add nosniff, frame denial, referrer policy, CSP and (over https) HSTS."""

    def __init__(self, app: ASGIApp, *, docs_paths: tuple[str, ...] = ("/docs", "/redoc")):
        self.app = app
        self.docs_paths = docs_paths

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        docs = scope["path"].startswith(self.docs_paths)
        extra = _HEADERS[(docs, scope.get("scheme") == "https")]

        async def send_wrapper(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = list(message.get("headers", ()))
                present = {name.lower() for name, _ in headers}
                # A route may set its own value (e.g. a stricter CSP); ours is the default.
                headers.extend(h for h in extra if h[0] not in present)
                message["headers"] = headers
            await send(message)

        await self.app(scope, receive, send_wrapper)
