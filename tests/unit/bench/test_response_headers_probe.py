"""The header-cost bench sends the headers `/ping` really sends, so its numbers stay about them."""

from __future__ import annotations

import re

import pytest

from app.platform.middleware.types import Message
from bench.response_headers import BODY, ISSUE_2, ISSUE_5, VARIANTS, create_app
from tests.conftest import AppFactory

pytestmark = pytest.mark.unit


def _shape(value: bytes) -> str:
    """A header value with its digits and hex ids blurred: what varies per request."""
    return re.sub(r"[0-9a-f]{32}|\d+", "#", value.decode())


@pytest.mark.parametrize("variant", list(VARIANTS))
async def test_the_probe_app_answers_with_its_variants_headers(
    variant: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("BENCH_RESPONSE_HEADERS", variant)
    app = create_app()
    sent: list[Message] = []

    async def receive() -> Message:
        return {"type": "http.request", "body": b"", "more_body": False}

    async def send(message: Message) -> None:
        sent.append(message)

    await app({"type": "http", "method": "GET", "path": "/", "headers": []}, receive, send)
    start, body = sent
    names = [name for name, _ in start["headers"]]
    assert names == [b"content-type", b"content-length", *(n for n, _ in VARIANTS[variant])]
    assert body["body"] == BODY


async def test_its_headers_are_the_ones_ping_sends_on_the_default_limits(
    app_factory: AppFactory,
) -> None:
    async with app_factory(rate_limit_enabled=True) as (_app, client):
        answer = await client.get("/ping")
    assert answer.status_code == 200
    sent = {name.encode(): value.encode() for name, value in answer.headers.items()}
    for name, value in [*ISSUE_2, *ISSUE_5]:
        assert name in sent, name
        assert _shape(sent[name]) == _shape(value), name
    # Nothing else the middleware adds is left out of the probe.
    own = {b"content-type", b"content-length", b"date", b"server"}
    assert set(sent) - own == {name for name, _ in [*ISSUE_2, *ISSUE_5]}
