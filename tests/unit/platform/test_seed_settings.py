"""The seeds' `.env` values are read as the backends the service has."""

from __future__ import annotations

import pytest

from app.platform.config import Settings

pytestmark = pytest.mark.unit


@pytest.mark.parametrize(
    ("given", "expected"),
    [
        ("sqlite:///./raidesk.db", "sqlite+aiosqlite:///./raidesk.db"),
        ("postgresql://u@h/db", "postgresql+asyncpg://u@h/db"),
        ("postgres://u@h/db", "postgresql+asyncpg://u@h/db"),
        ("sqlite+aiosqlite:///x.db", "sqlite+aiosqlite:///x.db"),
    ],
)
def test_plain_database_urls_get_the_async_driver(given: str, expected: str) -> None:
    assert Settings(_env_file=None, database_url=given).database_url == expected  # type: ignore[call-arg]


@pytest.mark.parametrize("given", ["sqlite", "SQLite", "sql"])
def test_sqlite_session_storage_means_sql(given: str) -> None:
    settings = Settings(_env_file=None, session_storage=given)  # type: ignore[call-arg]
    assert settings.session_storage == "sql"


def test_unknown_database_scheme_still_refused() -> None:
    with pytest.raises(ValueError, match="sqlite\\+aiosqlite"):
        Settings(_env_file=None, database_url="mysql://u@h/db")  # type: ignore[call-arg]
