"""OpenTelemetry tracing, the `otel` extra: spans for requests, SQL, Redis, outbound HTTP (the AI
model servers) and batch items, exported over OTLP/HTTP.

Off by default (`OTEL_ENABLED=false`), and then free: no opentelemetry module is imported, no
middleware is added, `span()` hands out one shared no-op context manager. On, the standard
`OTEL_*` variables configure the rest (`OTEL_EXPORTER_OTLP_ENDPOINT` or `..._TRACES_ENDPOINT`,
`OTEL_EXPORTER_OTLP_HEADERS`, `OTEL_SERVICE_NAME`, `OTEL_RESOURCE_ATTRIBUTES`,
`OTEL_TRACES_SAMPLER`); `OTEL_SDK_DISABLED=true` wins over `OTEL_ENABLED`.

The service keeps its own tracer provider rather than installing a global one: a process may
build several apps (the tests do), and the global provider can be set only once.
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from app.platform.config import ConfigurationError, Settings
from app.platform.context import current_request_id
from app.platform.logging import set_trace_ids_source
from app.platform.middleware.observability import route_template

if TYPE_CHECKING:
    from opentelemetry.sdk.trace import TracerProvider
    from opentelemetry.sdk.trace.export import SpanExporter
    from opentelemetry.trace import Tracer

DEFAULT_SERVICE_NAME = "raidesk-server"
_NO_SPAN: contextlib.nullcontext[None] = contextlib.nullcontext()


class Tracing:
    """The running tracing of this process: its provider, tracer and instrumentations."""

    def __init__(self, provider: TracerProvider, tracer: Tracer, engine: Any) -> None:
        self.provider = provider
        self.tracer = tracer
        from app.platform.storage.sql.tracing import SqlSpans

        self._sql = SqlSpans(engine, tracer)

    def shutdown(self) -> None:
        """Remove the instrumentations and export the spans still queued."""
        from opentelemetry.instrumentation.httpx import HTTPXClientInstrumentor
        from opentelemetry.instrumentation.redis import RedisInstrumentor

        self._sql.remove()
        for instrumentor in (RedisInstrumentor(), HTTPXClientInstrumentor()):
            if instrumentor.is_instrumented_by_opentelemetry:
                instrumentor.uninstrument()
        self.provider.shutdown()


# The tracing started by the lifespan, read by the request middleware, `span()` and the logs.
_active: Tracing | None = None


def tracing_enabled(settings: Settings, environ: Mapping[str, str] | None = None) -> bool:
    """Whether this process traces: `OTEL_ENABLED=true`, unless `OTEL_SDK_DISABLED=true`."""
    env = os.environ if environ is None else environ
    return settings.otel_enabled and env.get("OTEL_SDK_DISABLED", "").lower() != "true"


def start_tracing(
    settings: Settings, *, engine: Any, exporter: SpanExporter | None = None
) -> Tracing | None:
    """Set up the provider, the OTLP exporter (or `exporter`) and the instrumentations; None
    when tracing is off."""
    global _active
    if not tracing_enabled(settings):
        return None
    try:
        from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter
        from opentelemetry.instrumentation.httpx import HTTPXClientInstrumentor
        from opentelemetry.instrumentation.redis import RedisInstrumentor
        from opentelemetry.sdk.resources import SERVICE_NAME, Resource
        from opentelemetry.sdk.trace import TracerProvider
        from opentelemetry.sdk.trace.export import BatchSpanProcessor
    except ImportError as exc:
        raise ConfigurationError(
            "Invalid configuration: OTEL_ENABLED: needs the otel extra "
            f"(uv sync --extra otel, or pip install '.[otel]'): {exc.name} is missing"
        ) from exc
    # Resource.create reads OTEL_SERVICE_NAME / OTEL_RESOURCE_ATTRIBUTES, but attributes given
    # here would win over them: the default name only when neither names the service.
    named = os.environ.get("OTEL_SERVICE_NAME") or "service.name=" in os.environ.get(
        "OTEL_RESOURCE_ATTRIBUTES", ""
    )
    resource = Resource.create({} if named else {SERVICE_NAME: DEFAULT_SERVICE_NAME})
    provider = TracerProvider(resource=resource)
    provider.add_span_processor(BatchSpanProcessor(exporter or OTLPSpanExporter()))
    RedisInstrumentor().instrument(tracer_provider=provider)
    HTTPXClientInstrumentor().instrument(tracer_provider=provider)
    tracing = Tracing(provider, provider.get_tracer("app"), engine)
    _active = tracing
    set_trace_ids_source(log_ids)
    return tracing


def stop_tracing(tracing: Tracing | None) -> None:
    """Undo `start_tracing` (at shutdown): spans still queued are exported first."""
    global _active
    if tracing is None:
        return
    if _active is tracing:
        _active = None
        set_trace_ids_source(None)
    tracing.shutdown()


def span(name: str, **attributes: str | int) -> contextlib.AbstractContextManager[Any]:
    """A span around a block of work (a batch item); a shared no-op when tracing is off."""
    tracing = _active
    if tracing is None:
        return _NO_SPAN
    return tracing.tracer.start_as_current_span(name, attributes=attributes)


def log_ids() -> dict[str, str]:
    """`trace_id` and `span_id` of the current span, for log lines; empty when there is none."""
    if _active is None:
        return {}
    from opentelemetry import trace

    context = trace.get_current_span().get_span_context()
    if not context.is_valid:
        return {}
    return {
        "trace_id": trace.format_trace_id(context.trace_id),
        "span_id": trace.format_span_id(context.span_id),
    }


class TracingMiddleware:
    """A server span per HTTP request, child of an incoming W3C `traceparent`, named by the
    route template, with the request id as an attribute. Installed inside the edge layer (the
    request id is known there) and only when tracing is enabled."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        tracing = _active
        if tracing is None or scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        from opentelemetry import propagate
        from opentelemetry.trace import SpanKind, StatusCode

        carrier = {k.decode("latin-1"): v.decode("latin-1") for k, v in scope["headers"]}
        method = scope["method"]
        status = 500

        async def send_status(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
            await send(message)

        with tracing.tracer.start_as_current_span(
            method,
            context=propagate.extract(carrier),
            kind=SpanKind.SERVER,
            attributes={"http.request.method": method, "url.path": scope["path"]},
        ) as current:
            request_id = current_request_id()
            if request_id is not None:
                current.set_attribute("raidesk.request_id", request_id)
            try:
                await self.app(scope, receive, send_status)
            finally:
                route = route_template(scope)
                current.update_name(f"{method} {route}")
                current.set_attribute("http.route", route)
                current.set_attribute("http.response.status_code", status)
                if status >= 500:
                    current.set_status(StatusCode.ERROR)
