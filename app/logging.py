"""structlog setup: JSON lines with the request id, and masking of anything secret."""

from __future__ import annotations

import logging
import re
import sys
from collections.abc import Mapping, MutableMapping
from typing import Any

import structlog

from app.context import current_request_id

_SECRET_KEY_PARTS = (
    "password",
    "passwd",
    "token",
    "secret",
    "authorization",
    "api_key",
    "apikey",
    "x-api-key",
    "cookie",
    "credential",
)
MASK = "***"
# A JWT (three base64url segments) or a bearer/basic credential anywhere in a string.
_JWT_RE = re.compile(r"eyJ[\w-]{5,}\.[\w-]{5,}\.[\w-]*")
_BEARER_RE = re.compile(r"(?i)\b(bearer|basic)\s+[\w\-.~+/=]+")
_API_KEY_RE = re.compile(r"\brdk_[\w-]{8,}")
_EMAIL_RE = re.compile(r"([\w.+-])[\w.+-]*@([\w-]+\.[\w.-]+)")


def _is_secret_key(key: str) -> bool:
    lowered = key.lower().replace("-", "_")
    return any(part.replace("-", "_") in lowered for part in _SECRET_KEY_PARTS)


def mask_text(text: str) -> str:
    """Hide tokens, credentials and e-mail local parts inside free text."""
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


def configure_logging(*, level: str = "INFO", fmt: str = "json") -> None:
    """Route structlog and stdlib logging (uvicorn, alembic) through one masked renderer."""
    shared: list[Any] = [
        structlog.contextvars.merge_contextvars,
        structlog.stdlib.add_log_level,
        structlog.processors.TimeStamper(fmt="iso", utc=True),
        _add_request_id,
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
    handler = logging.StreamHandler(sys.stdout)
    handler.setFormatter(formatter)
    root = logging.getLogger()
    root.handlers = [handler]
    root.setLevel(level)
    for name in ("uvicorn", "uvicorn.error"):
        logging.getLogger(name).handlers = []
        logging.getLogger(name).propagate = True
    # Our access-log middleware replaces uvicorn's, which would log raw query strings.
    logging.getLogger("uvicorn.access").disabled = True
    # httpx logs every outgoing URL at INFO; URLs can carry credentials.
    logging.getLogger("httpx").setLevel(logging.WARNING)
    logging.getLogger("httpcore").setLevel(logging.WARNING)


def get_logger(name: str | None = None) -> Any:
    """A structlog logger bound to a module name."""
    return structlog.get_logger(name)
