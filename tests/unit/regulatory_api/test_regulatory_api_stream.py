"""SSE endpoints in-process: framing, event order, errors, keep-alives, disconnect."""

from __future__ import annotations

import asyncio
import json
from typing import Any

import httpx
import pytest
from fastapi import FastAPI

from app.lifespan import Resources
from app.platform.sse import EventStreamResponse
from app.regulatory.ai.base import TokenSink
from app.regulatory.schemas.analysis import ClassifyRequest, ClassifyResponse

from .conftest import LUNG, LUNG_CATEGORY, STANDARDS_BODY

pytestmark = pytest.mark.unit

Reg = tuple[FastAPI, httpx.AsyncClient]


def parse_sse(text: str) -> tuple[list[dict[str, Any]], list[str]]:
    """Events and comment lines, checking the framing strictly."""
    assert text.endswith("data: [DONE]\n\n"), text[-200:]
    blocks = text.split("\n\n")
    assert blocks[-1] == ""
    events, comments = [], []
    for block in blocks[:-2]:
        lines = block.split("\n")
        assert len(lines) == 1, f"one line per event: {block!r}"
        line = lines[0]
        if line.startswith(":"):
            comments.append(line)
            continue
        assert line.startswith("data: ")
        events.append(json.loads(line[len("data: ") :]))
    assert blocks[-2] == "data: [DONE]"
    return events, comments


@pytest.mark.parametrize("path", ["/api/stream/classify", "/api/classify/stream"])
async def test_classify_stream_with_rules(reg: Reg, path: str) -> None:
    _app, client = reg
    r = await client.post(path, json={"concept": LUNG})
    assert r.status_code == 200
    assert r.headers["content-type"].startswith("text/event-stream")
    assert r.headers["cache-control"] == "no-cache"
    events, _ = parse_sse(r.text)
    assert [e["type"] for e in events] == ["status", "result", "done"]
    result = events[1]["data"]
    assert result["classification"]["riskClass"] == "II"
    assert events[2]["provider"] == "rules"


async def test_purpose_stream(reg: Reg) -> None:
    _app, client = reg
    r = await client.post("/api/stream/purpose", json={"concept": "네", "category": LUNG_CATEGORY})
    events, _ = parse_sse(r.text)
    assert [e["type"] for e in events] == ["status", "result", "done"]
    assert events[1]["data"]["intendedUse"]


async def test_standards_stream_emits_four_stored_plans(reg: Reg) -> None:
    _app, client = reg
    r = await client.post("/api/stream/standards", json=STANDARDS_BODY)
    events, _ = parse_sse(r.text)
    assert [e["type"] for e in events] == ["status", "plan", "plan", "plan", "plan", "done"]
    assert events[-1]["count"] == 4
    for event in events[1:5]:
        stored = await client.get(f"/api/plans/{event['plan']['id']}")
        assert stored.status_code == 200

    pid = events[1]["plan"]["id"]
    r = await client.post("/api/stream/refine", json={"planId": pid, "modifications": "기간 단축"})
    events, _ = parse_sse(r.text)
    assert [e["type"] for e in events] == ["status", "result", "done"]
    assert events[1]["data"]["plan"]["id"] == pid
    assert events[1]["data"]["plan"]["version"] == 2


async def test_errors_become_an_error_event_then_done(reg: Reg) -> None:
    _app, client = reg
    r = await client.post("/api/stream/refine", json={"planId": "plan_nope", "modifications": "x"})
    assert r.status_code == 200
    events, _ = parse_sse(r.text)
    assert [e["type"] for e in events] == ["status", "error"]
    error = events[1]
    assert error["status"] == 404 and error["code"] == "PLAN_NOT_FOUND" and error["detail"]
    not_device = {**STANDARDS_BODY, "classification": {"isMedicalDevice": False}}
    events, _ = parse_sse((await client.post("/api/stream/standards", json=not_device)).text)
    assert events[-1]["code"] == "DEVICE_NOT_MEDICAL"


class SlowTokens:
    """A provider stand-in that streams tokens slowly before answering."""

    name = "slow"
    model = "slow-1"

    def __init__(self, real: Any) -> None:
        self.real = real

    async def classify(
        self, req: ClassifyRequest, *, on_token: TokenSink | None = None
    ) -> ClassifyResponse:
        for piece in ("{", '"a"', "}"):
            await asyncio.sleep(0.12)
            if on_token is not None:
                await on_token(piece)
        result: ClassifyResponse = await self.real.classify(req)
        return result


async def test_tokens_and_keepalives_while_waiting(app_factory: Any) -> None:
    async with app_factory(sse_keepalive_s=0.05, cache_ttl_s=0) as (app, client):
        resources: Resources = app.state.resources
        assert resources.regulatory is not None
        resources.regulatory.provider = SlowTokens(resources.regulatory.provider)
        r = await client.post("/api/stream/classify", json={"concept": LUNG})
        events, comments = parse_sse(r.text)
        assert [e["type"] for e in events] == [
            "status",
            "token",
            "token",
            "token",
            "result",
            "done",
        ]
        assert "".join(e["text"] for e in events if e["type"] == "token") == '{"a"}'
        assert len(comments) >= 3 and set(comments) == {": keep-alive"}
        assert events[-1]["provider"] == "slow"


async def test_disconnect_cancels_the_producer() -> None:
    cancelled = asyncio.Event()
    started = asyncio.Event()

    async def events() -> Any:
        yield {"type": "status"}
        try:
            started.set()
            await asyncio.sleep(3600)  # an answer that never comes
            yield {"type": "result"}
        finally:
            cancelled.set()

    sent: list[dict[str, Any]] = []
    disconnected = asyncio.Event()

    async def receive() -> dict[str, Any]:
        await started.wait()
        await disconnected.wait()
        return {"type": "http.disconnect"}

    async def send(message: dict[str, Any]) -> None:
        sent.append(message)

    response = EventStreamResponse(events(), keepalive_s=10)
    task = asyncio.create_task(response({"type": "http", "path": "/x"}, receive, send))
    await asyncio.wait_for(started.wait(), 5)
    disconnected.set()
    await asyncio.wait_for(task, 5)
    assert cancelled.is_set()
    bodies = [m.get("body", b"") for m in sent if m["type"] == "http.response.body"]
    assert bodies[0].startswith(b'data: {"type":"status"}')
    assert b"data: [DONE]\n\n" not in bodies  # nobody left to read it
