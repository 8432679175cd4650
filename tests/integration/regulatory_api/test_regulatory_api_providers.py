"""Ollama and OpenAI-compatible providers against a real (fake) model server over HTTP."""

from __future__ import annotations

import json
from typing import Any

import pytest
from prometheus_client import REGISTRY

from tests.support.fake_model_server import FakeModelServer, Reply
from tests.support.servers import free_port

from .conftest import LUNG, STANDARDS_BODY, classify_answer, provider_settings, standards_answer

pytestmark = pytest.mark.integration

PROVIDERS = ["ollama", "openai"]


def _sample(name: str, **labels: str) -> float:
    return REGISTRY.get_sample_value(name, labels) or 0.0


def _sse_events(text: str) -> list[dict[str, Any]]:
    assert text.endswith("data: [DONE]\n\n")
    events = []
    for block in text.split("\n\n"):
        if block.startswith("data: {"):
            events.append(json.loads(block[len("data: ") :]))
    return events


@pytest.mark.parametrize("kind", PROVIDERS)
async def test_valid_answer_is_normalised(
    app_factory: Any, fake_model: FakeModelServer, kind: str
) -> None:
    fake_model.script(Reply(content=classify_answer(risk="2등급", device="예")))
    async with app_factory(**provider_settings(kind, fake_model)) as (_app, client):
        r = await client.post("/api/classify", json={"concept": LUNG})
        assert r.status_code == 200, r.text
        body = r.json()
        assert body["classification"]["riskClass"] == "II"
        assert body["classification"]["isMedicalDevice"] is True
        assert body["classification"]["confidence"] == pytest.approx(0.85)
        assert body["provider"] == kind and "fallback" not in body
    sent = fake_model.requests[0]
    assert sent.body["stream"] is False
    assert sent.body["messages"][0]["role"] == "system"
    assert LUNG in sent.body["messages"][-1]["content"]
    if kind == "ollama":
        assert sent.path == "/api/chat" and sent.body["model"] == "fake-llm"
        assert sent.body["format"]["properties"]["classification"]["type"] == "object"
    else:
        assert sent.path == "/v1/chat/completions" and sent.body["model"] == "fake-gpt"
        assert sent.body["response_format"]["type"] == "json_schema"
        assert "schema" in sent.body["response_format"]["json_schema"]
        assert sent.headers["authorization"] == "Bearer sk-secret-test-key"


@pytest.mark.parametrize("kind", PROVIDERS)
async def test_garbage_then_valid_is_repaired_once(
    app_factory: Any, fake_model: FakeModelServer, kind: str
) -> None:
    fake_model.script(
        Reply(content="Sure! The device is class II."),
        Reply(content=classify_answer(risk="class 2")),
    )
    async with app_factory(**provider_settings(kind, fake_model)) as (_app, client):
        r = await client.post("/api/classify", json={"concept": LUNG})
        assert r.status_code == 200, r.text
        assert r.json()["classification"]["riskClass"] == "II"
        metrics = (await client.get("/metrics")).text
    assert len(fake_model.requests) == 2
    repair = fake_model.requests[1].body["messages"]
    assert repair[-2] == {"role": "assistant", "content": "Sure! The device is class II."}
    assert "rejected" in repair[-1]["content"] and "JSON" in repair[-1]["content"]
    model = "fake-llm" if kind == "ollama" else "fake-gpt"
    assert (
        f'ai_requests_total{{endpoint="classify",model="{model}",outcome="repaired",provider="{kind}"}}'
        in metrics
    )
    assert f'ai_tokens_total{{kind="prompt",model="{model}",provider="{kind}"}}' in metrics


@pytest.mark.parametrize("kind", PROVIDERS)
async def test_garbage_twice_is_a_502(
    app_factory: Any, fake_model: FakeModelServer, kind: str
) -> None:
    fake_model.script(Reply(content="nope"), Reply(content=classify_answer(risk="IIb")))
    async with app_factory(**provider_settings(kind, fake_model)) as (_app, client):
        r = await client.post("/api/classify", json={"concept": LUNG})
        assert r.status_code == 502
        assert r.json()["code"] == "AI_INVALID_OUTPUT" and r.json()["error_code"] == "ERR_3006"
    assert len(fake_model.requests) == 2


@pytest.mark.parametrize("kind", PROVIDERS)
async def test_slow_model_times_out_with_503(
    app_factory: Any, fake_model: FakeModelServer, kind: str
) -> None:
    fake_model.script(Reply(content=classify_answer(), delay_s=3))
    settings = provider_settings(kind, fake_model, ai_timeout_s=0.3)
    async with app_factory(**settings) as (_app, client):
        r = await client.post("/api/classify", json={"concept": LUNG})
        assert r.status_code == 503
        assert r.json()["code"] == "AI_UNAVAILABLE" and "timed out" in r.json()["detail"]
    fake_model.wait_for(lambda s: s.disconnects == 1)  # the request was abandoned, not left open


@pytest.mark.parametrize("kind", PROVIDERS)
async def test_unreachable_and_failing_servers_are_503(
    app_factory: Any, fake_model: FakeModelServer, kind: str, capsys: pytest.CaptureFixture[str]
) -> None:
    dead = FakeModelServer()
    dead.port = free_port()  # nothing listens there: connection refused
    async with app_factory(**provider_settings(kind, dead)) as (_app, client):
        r = await client.post("/api/classify", json={"concept": LUNG})
        assert r.status_code == 503 and r.json()["code"] == "AI_UNAVAILABLE"
        assert "sk-secret" not in r.text
    fake_model.script(Reply(status=500), Reply(raw_body=b"<html>proxy error</html>"))
    async with app_factory(**provider_settings(kind, fake_model)) as (_app, client):
        for _ in range(2):
            r = await client.post("/api/classify", json={"concept": LUNG})
            assert r.status_code == 503, r.text
    assert "sk-secret-test-key" not in capsys.readouterr().out


@pytest.mark.parametrize("kind", PROVIDERS)
async def test_fallback_to_rules_is_marked_and_not_cached(app_factory: Any, kind: str) -> None:
    dead = FakeModelServer()
    dead.port = free_port()
    settings = provider_settings(kind, dead, ai_fallback="rules")
    async with app_factory(**settings) as (_app, client):
        for _ in range(2):
            r = await client.post("/api/classify", json={"concept": LUNG})
            assert r.status_code == 200
            body = r.json()
            assert body["provider"] == "rules" and body["fallback"] is True
            assert body["classification"]["riskClass"] == "II"
            assert r.headers["cache-status"] == "raidesk; fwd=bypass"
        metrics = (await client.get("/metrics")).text
        assert 'outcome="fallback",provider="rules"' in metrics


@pytest.mark.parametrize("kind", PROVIDERS)
async def test_answers_are_cached_per_model(
    app_factory: Any, fake_model: FakeModelServer, kind: str
) -> None:
    fake_model.default = Reply(content=classify_answer())
    async with app_factory(**provider_settings(kind, fake_model)) as (_app, client):
        first = await client.post("/api/classify", json={"concept": LUNG})
        second = await client.post("/api/classify", json={"concept": f"  {LUNG} "})
        assert first.headers["cache-status"].startswith("raidesk; fwd=miss")
        assert second.headers["cache-status"] == "raidesk; hit"
    assert len(fake_model.requests) == 1


@pytest.mark.parametrize("kind", PROVIDERS)
async def test_standards_and_refine_through_a_model(
    app_factory: Any, fake_model: FakeModelServer, kind: str
) -> None:
    fake_model.script(Reply(content=standards_answer()))
    async with app_factory(**provider_settings(kind, fake_model)) as (_app, client):
        r = await client.post("/api/standards", json=STANDARDS_BODY)
        assert r.status_code == 200, r.text
        plans = r.json()["plans"]
        assert [p["tier"] for p in plans] == ["fastest", "normal", "conservative", "innovative"]
        assert not any(p["id"].startswith("model-") for p in plans)
        target = plans[1]
        refined_answer = json.loads(standards_answer())["plans"][0]  # the model even changes tier
        refined_answer["title"] = "단축된 경로"
        fake_model.script(
            Reply(content=json.dumps({"plan": refined_answer, "appliedChanges": ["기간 단축"]}))
        )
        r = await client.post(
            "/api/refine", json={"planId": target["id"], "modifications": "기간을 줄여줘"}
        )
        assert r.status_code == 200, r.text
        plan = r.json()["plan"]
        assert plan["id"] == target["id"] and plan["version"] == 2 and plan["tier"] == "normal"
        assert plan["title"] == "단축된 경로" and r.json()["appliedChanges"] == ["기간 단축"]
        sent = fake_model.requests[-1].body["messages"][-1]["content"]
        assert target["id"] not in sent  # the model never sees (or chooses) plan ids
        not_device = {**STANDARDS_BODY, "classification": {"isMedicalDevice": False}}
        r = await client.post("/api/standards", json=not_device)
        assert r.status_code == 400 and r.json()["code"] == "DEVICE_NOT_MEDICAL"
    assert len(fake_model.requests) == 2


@pytest.mark.parametrize("kind", PROVIDERS)
async def test_streaming_forwards_tokens_as_they_arrive(
    app_factory: Any, fake_model: FakeModelServer, kind: str
) -> None:
    content = classify_answer()
    fake_model.script(Reply(content=content, chunk_delay_s=0.01, completion_tokens=42))
    model = "fake-llm" if kind == "ollama" else "fake-gpt"
    labels = {"provider": kind, "model": model}
    before = _sample("ai_tokens_total", kind="completion", **labels)
    async with app_factory(**provider_settings(kind, fake_model, cache_ttl_s=0)) as (_app, client):
        r = await client.post("/api/stream/classify", json={"concept": LUNG})
        events = _sse_events(r.text)
    kinds = [e["type"] for e in events]
    assert kinds[0] == "status" and kinds[-2:] == ["result", "done"]
    tokens = [e["text"] for e in events if e["type"] == "token"]
    assert len(tokens) > 10 and "".join(tokens) == content
    assert events[-2]["data"]["classification"]["riskClass"] == "II"
    assert fake_model.requests[0].body["stream"] is True
    # usage arrives in the stream's last chunk (Ollama `eval_count`, OpenAI `usage`)
    assert _sample("ai_tokens_total", kind="completion", **labels) - before == 42
    ok = _sample("ai_requests_total", endpoint="classify", outcome="ok", **labels)
    assert ok >= 1


@pytest.mark.parametrize("kind", PROVIDERS)
async def test_stream_error_event_when_model_is_down(app_factory: Any, kind: str) -> None:
    dead = FakeModelServer()
    dead.port = free_port()
    async with app_factory(**provider_settings(kind, dead)) as (_app, client):
        r = await client.post("/api/stream/purpose", json={"concept": "네", "category": "혈압계"})
        events = _sse_events(r.text)
    assert [e["type"] for e in events] == ["status", "error"]
    assert events[1]["status"] == 503 and events[1]["code"] == "AI_UNAVAILABLE"


@pytest.mark.parametrize("kind", PROVIDERS)
async def test_health_reports_the_model_server(
    app_factory: Any, fake_model: FakeModelServer, kind: str
) -> None:
    async with app_factory(**provider_settings(kind, fake_model)) as (_app, client):
        r = await client.get("/health")
        assert r.json()["checks"]["ai_model"]["status"] == "up"
    assert fake_model.requests[-1].path in ("/api/version", "/v1/models")
    dead = FakeModelServer()
    dead.port = free_port()
    async with app_factory(**provider_settings(kind, dead)) as (_app, client):
        r = await client.get("/health")
        assert r.status_code == 200  # degraded, not unhealthy: the model is not critical
        assert r.json()["status"] == "degraded"
        assert r.json()["checks"]["ai_model"]["status"] != "up"
