"""Tracing exported over OTLP/HTTP to a receiver in the test, which decodes each
ExportTraceServiceRequest: the app on real Redis calling a real (fake) Ollama server sends
server, Redis and outbound HTTP spans of one trace, under the service name from OTEL_*."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, ClassVar

import httpx
import pytest
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import (
    ExportTraceServiceRequest,
    ExportTraceServiceResponse,
)
from redis.asyncio import Redis

from app.main import create_app
from tests.conftest import make_settings
from tests.integration.regulatory_api.conftest import classify_answer
from tests.support.fake_model_server import FakeModelServer, Reply
from tests.support.servers import RedisServer, free_port

pytestmark = pytest.mark.integration


class Receiver(BaseHTTPRequestHandler):
    """Accepts OTLP/HTTP protobuf posts on /v1/traces and keeps the decoded requests."""

    received: ClassVar[list[tuple[str, ExportTraceServiceRequest]]] = []

    def do_POST(self) -> None:
        body = self.rfile.read(int(self.headers["Content-Length"]))
        request = ExportTraceServiceRequest()
        request.ParseFromString(body)
        self.received.append((self.path, request))
        reply = ExportTraceServiceResponse().SerializeToString()
        self.send_response(200)
        self.send_header("Content-Type", "application/x-protobuf")
        self.send_header("Content-Length", str(len(reply)))
        self.end_headers()
        self.wfile.write(reply)

    def log_message(self, *_args: Any) -> None:
        pass


@pytest.fixture
def receiver() -> Iterator[tuple[str, list[tuple[str, ExportTraceServiceRequest]]]]:
    received: ClassVar[list[tuple[str, ExportTraceServiceRequest]]] = []
    handler = type("TestReceiver", (Receiver,), {"received": received})
    server = ThreadingHTTPServer(("127.0.0.1", free_port()), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}", received
    server.shutdown()
    server.server_close()
    thread.join()


async def test_spans_reach_an_otlp_http_receiver(
    receiver: tuple[str, list[tuple[str, ExportTraceServiceRequest]]],
    redis_server: RedisServer,
    redis_client: Redis,
    tmp_path: Any,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    endpoint, received = receiver
    monkeypatch.setenv("OTEL_EXPORTER_OTLP_ENDPOINT", endpoint)
    monkeypatch.setenv("OTEL_SERVICE_NAME", "raidesk-test")
    model = FakeModelServer().start()
    try:
        model.script(Reply(content=classify_answer(risk="2등급", device="예")))
        settings = make_settings(
            tmp_path,
            otel_enabled=True,
            redis_url=redis_server.url,
            ai_provider="ollama",
            ollama_base_url=model.url,
            ollama_model="fake-llm",
            ai_timeout_s=5.0,
            reconcile_interval_s=0,
        )
        app = create_app(settings)
        async with app.router.lifespan_context(app):
            transport = httpx.ASGITransport(app=app)
            async with httpx.AsyncClient(transport=transport, base_url="http://t") as client:
                answer = await client.post(
                    "/api/classify", json={"concept": "CT 영상에서 폐결절을 검출하는 AI 소프트웨어"}
                )
                assert answer.status_code == 200, answer.text
                request_id = answer.headers["x-request-id"]
        # The lifespan's end shut the provider down: every queued span was posted by then.
    finally:
        model.stop()

    assert received and {path for path, _ in received} == {"/v1/traces"}
    spans = []
    for _, request in received:
        for resource_spans in request.resource_spans:
            attributes = {a.key: a.value.string_value for a in resource_spans.resource.attributes}
            assert attributes["service.name"] == "raidesk-test"
            for scope_spans in resource_spans.scope_spans:
                spans.extend(scope_spans.spans)

    def attrs(span: Any) -> dict[str, Any]:
        return {a.key: a.value for a in span.attributes}

    (server,) = [s for s in spans if s.name == "POST /api/classify"]
    assert attrs(server)["raidesk.request_id"].string_value == request_id
    assert attrs(server)["http.response.status_code"].int_value == 200
    trace = [s for s in spans if s.trace_id == server.trace_id]
    redis_spans = [
        s
        for s in trace
        if attrs(s).get("db.system") is not None and attrs(s)["db.system"].string_value == "redis"
    ]
    assert redis_spans, [s.name for s in trace]
    outbound = [s for s in trace if any("/api/chat" in v.string_value for v in attrs(s).values())]
    assert outbound, [(s.name, attrs(s)) for s in trace]
    assert model.requests  # the model was really called
