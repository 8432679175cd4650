"""SQL spans for the platform's tracing (app/platform/tracing.py), from SQLAlchemy's events."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from sqlalchemy import event

if TYPE_CHECKING:
    from opentelemetry.trace import Tracer
    from sqlalchemy.ext.asyncio import AsyncEngine


class SqlSpans:
    """A client span per SQL statement, from SQLAlchemy's cursor events (the contrib
    SQLAlchemy instrumentation does not declare support for SQLAlchemy 2.1). The statement is
    recorded with its placeholders, never its parameters."""

    _KEY = "raidesk_sql_spans"

    def __init__(self, engine: AsyncEngine, tracer: Tracer) -> None:
        self._engine = engine.sync_engine
        self._tracer = tracer
        self._system = self._engine.dialect.name
        self._listeners: list[tuple[str, Any]] = [
            ("before_cursor_execute", self._before),
            ("after_cursor_execute", self._after),
            ("handle_error", self._error),
        ]
        for name, fn in self._listeners:
            event.listen(self._engine, name, fn)

    def remove(self) -> None:
        """Stop tracing this engine's statements."""
        for name, fn in self._listeners:
            event.remove(self._engine, name, fn)

    def _before(self, conn: Any, _cursor: Any, statement: str, *_args: Any) -> None:
        from opentelemetry.trace import SpanKind

        operation = statement.split(None, 1)[0].upper() if statement.strip() else "SQL"
        span = self._tracer.start_span(
            f"{operation} {self._system}",
            kind=SpanKind.CLIENT,
            attributes={
                "db.system": self._system,
                "db.operation": operation,
                "db.statement": statement[:2000],
            },
        )
        conn.info.setdefault(self._KEY, []).append(span)

    def _after(self, conn: Any, *_args: Any) -> None:
        spans = conn.info.get(self._KEY)
        if spans:
            spans.pop().end()

    def _error(self, context: Any) -> None:
        from opentelemetry.trace import StatusCode

        conn = context.connection
        spans = conn.info.get(self._KEY) if conn is not None else None
        if spans:
            span = spans.pop()
            span.record_exception(context.original_exception)
            span.set_status(StatusCode.ERROR)
            span.end()
