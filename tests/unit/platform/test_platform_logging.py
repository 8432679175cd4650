"""Log masking: no password, token, key or e-mail local part survives into a log line."""

from __future__ import annotations

import json

import pytest
import structlog

from app.platform.logging import MASK, configure_logging, mask_text, mask_value

pytestmark = pytest.mark.unit
JWT = "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJ1XzEyMyJ9.c2lnbmF0dXJlLXZhbHVl"


@pytest.mark.parametrize(
    "key",
    [
        "password",
        "new_password",
        "access_token",
        "Authorization",
        "api_key",
        "X-API-Key",
        "client_secret",
        "cookie",
    ],
)
def test_secret_keys_are_masked(key: str) -> None:
    assert mask_value(key, "hunter2-value") == MASK


def test_nested_structures_are_masked() -> None:
    masked = mask_value("body", {"user": {"password": "pw"}, "tokens": ["a"], "name": "kim"})
    assert masked == {"user": {"password": MASK}, "tokens": MASK, "name": "kim"}


def test_free_text_loses_tokens_keys_and_email_local_parts() -> None:
    text = f"login by kim.minsu@example.co.kr with Bearer {JWT} and key rdk_ab12cd34_secretpart"
    masked = mask_text(text)
    assert JWT not in masked
    assert "rdk_ab12cd34_secretpart" not in masked
    assert "kim.minsu@" not in masked
    assert "k***@example.co.kr" in masked


def test_log_lines_are_json_with_masking(capsys: pytest.CaptureFixture[str]) -> None:
    configure_logging(level="INFO", fmt="json")
    structlog.get_logger("t").info(
        "user_login", password="hunter2", email="lee@example.com", note=f"token {JWT}"
    )
    line = capsys.readouterr().out.strip().splitlines()[-1]
    record = json.loads(line)
    assert record["event"] == "user_login"
    assert record["level"] == "info"
    assert "timestamp" in record
    assert "hunter2" not in line and JWT not in line and "lee@" not in line


def test_validation_details_handle_errors_without_a_location() -> None:
    from app.platform.errors import validation_details

    details = validation_details([{"loc": (), "msg": "Invalid JSON", "type": "json_invalid"}])
    assert details == [{"field": "body", "message": "Invalid JSON", "type": "json_invalid"}]
    nested = validation_details([{"loc": ("body", "items", 0, "qty"), "msg": "bad", "type": "x"}])
    assert nested[0]["field"] == "items.0.qty"
