"""Answer an HTTP request with a problem body straight from the ASGI layer (no route ran)."""

from __future__ import annotations

from collections.abc import Sequence

from app.platform.errors import AppError, problem_bytes
from app.platform.events import PROBLEM_CODE_STATE_KEY
from app.platform.middleware.types import Scope, Send


async def send_problem(
    scope: Scope, send: Send, error: AppError, headers: Sequence[tuple[bytes, bytes]] = ()
) -> None:
    """Send `error` as an RFC 9457 response, with `headers` added to the standard ones."""
    status, body = problem_bytes(error, instance=scope["path"])
    # For the edge's monitoring event: it sees the status it sent, not the body's code.
    scope.setdefault("state", {})[PROBLEM_CODE_STATE_KEY] = error.code
    await send(
        {
            "type": "http.response.start",
            "status": status,
            "headers": [
                (b"content-type", b"application/problem+json"),
                (b"content-length", str(len(body)).encode()),
                *headers,
            ],
        }
    )
    await send({"type": "http.response.body", "body": body})
