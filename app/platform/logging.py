"""structlog setup: JSON lines with the request id, and masking of anything secret."""

from __future__ import annotations

import contextlib
import json
import logging
import logging.handlers
import os
import re
import sys
from collections.abc import Callable, Mapping, MutableMapping
from functools import lru_cache
from pathlib import Path
from typing import Any

import structlog

from app.platform.clock import utc_second_text
from app.platform.context import current_request_id

# Key names whose values are secrets (password, new_password, access_token, X-API-Key, ...).
_SECRET_KEY_RE = re.compile(
    r"passw|token|secret|authori[sz]ation|api[_-]?key|cookie|credential", re.IGNORECASE
)
MASK = "***"
# A JWT (three base64url segments) or a bearer/basic credential anywhere in a string.
_JWT_RE = re.compile(r"eyJ[\w-]{5,}\.[\w-]{5,}\.[\w-]*")
_BEARER_RE = re.compile(r"(?i)\b(bearer|basic)\s+[\w\-.~+/=]+")
_API_KEY_RE = re.compile(r"\brdk_[\w-]{8,}")
_EMAIL_RE = re.compile(r"([\w.+-])[\w.+-]*@([\w-]+\.[\w.-]+)")
# One cheap scan decides whether the four substitutions are needed at all (most text: no).
_TRIGGER_RE = re.compile(r"eyJ|rdk_|@|bearer|basic", re.IGNORECASE)


@lru_cache(maxsize=4096)
def _is_secret_key(key: str) -> bool:
    return _SECRET_KEY_RE.search(key) is not None


def mask_text(text: str) -> str:
    """Hide tokens, credentials and e-mail local parts inside free text."""
    if _TRIGGER_RE.search(text) is None:
        return text
    text = _JWT_RE.sub(MASK, text)
    text = _BEARER_RE.sub(lambda m: f"{m.group(1)} {MASK}", text)
    text = _API_KEY_RE.sub(MASK, text)
    return _EMAIL_RE.sub(lambda m: f"{m.group(1)}{MASK}@{m.group(2)}", text)


def mask_value(key: str, value: Any) -> Any:
    """Mask a value by its key name, recursing into containers."""
    if _is_secret_key(key) and value not in (None, ""):
        return MASK
    if isinstance(value, str):
        return mask_text(value)
    if value is None or isinstance(value, bool | int | float):
        return value
    if isinstance(value, Mapping):
        return {k: mask_value(str(k), v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [mask_value(key, v) for v in value]
    return value


def _mask_processor(
    _logger: Any, _method: str, event_dict: MutableMapping[str, Any]
) -> MutableMapping[str, Any]:
    for key in list(event_dict):
        event_dict[key] = mask_value(key, event_dict[key])
    return event_dict


def _drop_color_message(
    _logger: Any, _method: str, event_dict: MutableMapping[str, Any]
) -> MutableMapping[str, Any]:
    # uvicorn adds an ANSI-coloured twin of every message; JSON lines do not want it.
    event_dict.pop("color_message", None)
    return event_dict


def _add_request_id(
    _logger: Any, _method: str, event_dict: MutableMapping[str, Any]
) -> MutableMapping[str, Any]:
    request_id = current_request_id()
    if request_id is not None:
        event_dict.setdefault("request_id", request_id)
    return event_dict


# Set by app.platform.tracing while tracing runs: the current span's ids for a log line.
_trace_ids: Callable[[], dict[str, str]] | None = None


def set_trace_ids_source(source: Callable[[], dict[str, str]] | None) -> None:
    """Join log lines to traces through `source` (None: stop)."""
    global _trace_ids
    _trace_ids = source


def _add_trace_ids(
    _logger: Any, _method: str, event_dict: MutableMapping[str, Any]
) -> MutableMapping[str, Any]:
    # Joins a line to its trace (OTEL_ENABLED); nothing to look up when tracing is off.
    source = _trace_ids
    if source is not None:
        for key, value in source().items():
            event_dict.setdefault(key, value)
    return event_dict


_json_text = json.JSONEncoder(ensure_ascii=False).encode


@lru_cache(maxsize=8192)
def _masked_json(text: str) -> str:
    """`text` masked and as a JSON string literal; paths, routes and clients repeat, so cached."""
    return _json_text(mask_text(text))


# One answered request as the edge layer notes it: method, path, route template, status code,
# duration (s), when it ended (`time.perf_counter()`), client address, request id.
Answered = tuple[str, str, str, int, float, float, str | None, str | None]


def _access_line(head: str, duration_s: float, at: float, request_id: str | None) -> str:
    second = int(at)
    return (
        f'{head}"duration_ms": {duration_s * 1000:.3f}, '
        f'"timestamp": "{utc_second_text(second)}.{int((at - second) * 1_000_000):06d}Z"'
        + ("}\n" if request_id is None else f', "request_id": "{request_id}"}}\n')
    )


class AccessLogWriter:
    """Writes the access lines of answered requests straight to the log stream as JSON.

    The access line is the one log line every request pays for; going through stdlib logging
    and the structlog processor chain cost more than all the other middleware together
    (docs/benchmarks.md). Same fields, same masking, same stream as every other line. The edge
    layer's request log hands lines over in batches (at most every 100 ms): with
    `PYTHONUNBUFFERED=1`, as in our Dockerfile and most container images, the stream itself
    would otherwise make one write(2) per request.
    """

    HEAD_CACHE_SIZE = 4096

    def __init__(self) -> None:
        self.stream: Any = None
        self.info_enabled = True
        self.as_json = True
        self._heads: dict[tuple[str, str, str, int, str | None], str] = {}

    def configure(self, *, stream: Any, level: str, fmt: str) -> None:
        """Bind to the stream and level chosen by `configure_logging`."""
        self.stream = stream
        self.info_enabled = logging.getLevelName(level) <= logging.INFO
        self.as_json = fmt == "json"

    def write(self, answered: list[Answered], wall_offset: float) -> None:
        """Write one masked line per answered request (errors always, the rest at INFO), all in
        one call; `wall_offset` turns their `perf_counter` end times into Unix time."""
        info = self.info_enabled
        if self.stream is None or not self.as_json:
            log = get_logger("app.access")
            for method, path, route, status, seconds, _ended, client, request_id in answered:
                if status >= 500 or info:
                    (log.error if status >= 500 else log.info)(
                        "request",
                        method=method,
                        path=path,
                        route=route,
                        status_code=status,
                        duration_ms=round(seconds * 1000, 3),
                        client=client,
                        request_id=request_id,
                    )
            return
        # Hand-assembled JSON: json.dumps of a dict was the largest single cost of a /ping. The
        # fields that repeat request after request are masked, escaped and joined once per
        # combination; request ids are ours or incoming ones that passed `sane_request_id` (no
        # quotes, nothing a mask would hide).
        heads = self._heads
        lines = []
        for method, path, route, status, seconds, ended, client, request_id in answered:
            if status < 500 and not info:
                continue
            key = (method, path, route, status, client)
            head = heads.get(key)
            if head is None:
                head = self._head(key)
            lines.append(_access_line(head, seconds, ended + wall_offset, request_id))
        # A stream closed at interpreter exit has nothing left to write to.
        with contextlib.suppress(OSError, ValueError):
            if lines:
                self.stream.write("".join(lines))
            self.stream.flush()

    def _head(self, key: tuple[str, str, str, int, str | None]) -> str:
        """The start of the JSON line for one (method, path, route, status, client), cached."""
        method, path, route, status_code, client = key
        head = (
            f'{{"method": {_masked_json(method)}, "path": {_masked_json(path)}, '
            f'"route": {_masked_json(route)}, "status_code": {int(status_code)}, '
            f'"client": {"null" if client is None else _masked_json(client)}, '
            f'"event": "request", "level": "{"error" if status_code >= 500 else "info"}", '
        )
        if len(self._heads) >= self.HEAD_CACHE_SIZE:
            self._heads.clear()  # paths with ids churn; a reset is O(1) amortised
        self._heads[key] = head
        return head


access_log = AccessLogWriter()
# Third-party loggers whose DEBUG/INFO lines can carry stored data or credentials.
QUIET_LOGGERS = (
    "sqlalchemy.engine",
    "sqlalchemy.pool",
    "aiosqlite",
    "asyncpg",
    "redis",
    "multipart",
    "python_multipart",
)


def rotating_file_handler(
    log_file: str, max_bytes: int, backup_count: int
) -> logging.handlers.RotatingFileHandler:
    """A size-rotated UTF-8 log file; `{pid}` in the name becomes this process's id."""
    path = Path(log_file.replace("{pid}", str(os.getpid())))
    path.parent.mkdir(parents=True, exist_ok=True)
    return logging.handlers.RotatingFileHandler(
        path, maxBytes=max_bytes, backupCount=backup_count, encoding="utf-8"
    )


def configure_logging(
    *,
    level: str = "INFO",
    fmt: str = "json",
    log_file: str = "",
    log_max_bytes: int = 0,
    log_backup_count: int = 0,
) -> None:
    """Route structlog and stdlib logging (uvicorn, alembic) through one masked renderer, to
    stdout and, when `log_file` is set, to that file rotated at `log_max_bytes`."""
    shared: list[Any] = [
        structlog.contextvars.merge_contextvars,
        structlog.stdlib.add_log_level,
        structlog.processors.TimeStamper(fmt="iso", utc=True),
        _add_request_id,
        _add_trace_ids,
        structlog.processors.format_exc_info,
        _drop_color_message,
        _mask_processor,
    ]
    renderer: Any = (
        structlog.processors.JSONRenderer(ensure_ascii=False)
        if fmt == "json"
        else structlog.dev.ConsoleRenderer(colors=False)
    )
    structlog.configure(
        processors=[*shared, structlog.stdlib.ProcessorFormatter.wrap_for_formatter],
        logger_factory=structlog.stdlib.LoggerFactory(),
        wrapper_class=structlog.stdlib.BoundLogger,
        cache_logger_on_first_use=False,
    )
    formatter = structlog.stdlib.ProcessorFormatter(
        foreign_pre_chain=[structlog.stdlib.ExtraAdder(), *shared],
        processors=[structlog.stdlib.ProcessorFormatter.remove_processors_meta, renderer],
    )
    handlers: list[logging.Handler] = [logging.StreamHandler(sys.stdout)]
    if log_file:
        handlers.append(rotating_file_handler(log_file, log_max_bytes, log_backup_count))
    # The access log's fast path writes one stream; with a file too, its lines take the
    # handlers' path like every other line.
    access_log.configure(stream=None if log_file else sys.stdout, level=level, fmt=fmt)
    for handler in handlers:
        handler.setFormatter(formatter)
    root = logging.getLogger()
    for previous in root.handlers:
        if isinstance(previous, logging.handlers.RotatingFileHandler):
            previous.close()  # ours, from an earlier configuration: release the file
    root.handlers = handlers
    root.setLevel(level)
    for name in ("uvicorn", "uvicorn.error"):
        logging.getLogger(name).handlers = []
        logging.getLogger(name).propagate = True
    # Our access-log middleware replaces uvicorn's, which would log raw query strings.
    logging.getLogger("uvicorn.access").disabled = True
    # httpx logs every outgoing URL at INFO; URLs can carry credentials.
    logging.getLogger("httpx").setLevel(logging.WARNING)
    logging.getLogger("httpcore").setLevel(logging.WARNING)
    # At DEBUG these would write statements with their parameters and result rows (password
    # and key hashes, session contents) or the values passed to the driver: never below
    # WARNING. DATABASE_ECHO still shows statements, without parameters (`hide_parameters`).
    for name in QUIET_LOGGERS:
        logging.getLogger(name).setLevel(max(logging.WARNING, logging.getLevelName(level)))


def get_logger(name: str | None = None) -> Any:
    """A structlog logger bound to a module name."""
    return structlog.get_logger(name)
