"""`app.main:app` for uvicorn and the `fastapi` command: built on first access, never at import."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest

from tests.conftest import TEST_SECRET
from tests.support.servers import ROOT

pytestmark = pytest.mark.unit

# Run in a fresh interpreter: this test process has imported app.main long ago.
IMPORT_PROBE = """
import json
import httpx
import redis.asyncio
import sqlalchemy.ext.asyncio

made = []


def spy(cls):
    init = cls.__init__

    def recording(self, *args, **kwargs):
        made.append(cls.__name__)
        init(self, *args, **kwargs)

    cls.__init__ = recording


for cls in (redis.asyncio.Redis, sqlalchemy.ext.asyncio.AsyncEngine, httpx.AsyncClient,
            httpx.Client):
    spy(cls)

import app.platform.config
import app.main

result = {
    "settings_reads": app.platform.config.get_settings.cache_info().misses,
    "clients": list(made),
    "app_listed": "app" in dir(app.main),
}
try:
    app.main.app
except app.platform.config.ConfigurationError as exc:
    result["build_error"] = str(exc)
else:
    result["same_app"] = app.main.app is app.main.app
    result["app_type"] = type(app.main.app).__name__
    result["clients_after_build"] = list(made)
print(json.dumps(result))
"""


def probe(**env: str) -> dict[str, object]:
    """Import app.main in a new interpreter with `env` and report what happened."""
    clean = {k: v for k, v in os.environ.items() if not k.startswith(("DATABASE_", "REDIS_"))}
    done = subprocess.run(
        [sys.executable, "-c", IMPORT_PROBE],
        cwd=ROOT,
        env={**clean, **env},
        capture_output=True,
        text=True,
        timeout=120,
        check=True,
    )
    result: dict[str, object] = json.loads(done.stdout.strip().splitlines()[-1])
    return result


def test_importing_app_main_reads_no_settings_and_opens_no_client() -> None:
    # An environment the settings reject: the import must not notice.
    result = probe(PORT="not-a-port", ENVIRONMENT="test", SECRET_KEY=TEST_SECRET)
    assert result["settings_reads"] == 0
    assert result["clients"] == []
    assert result["app_listed"] is True  # `fastapi run app/main.py` finds `app` through dir()
    # Only asking for `app` reads them, and says what is wrong.
    assert "PORT" in str(result["build_error"])


def test_app_is_built_once_on_first_access(tmp_path) -> None:  # type: ignore[no-untyped-def]
    result = probe(
        ENVIRONMENT="test",
        SECRET_KEY=TEST_SECRET,
        DATABASE_URL=f"sqlite+aiosqlite:///{tmp_path / 'probe.db'}",
        REDIS_URL="",
    )
    assert result["settings_reads"] == 0 and result["clients"] == []
    assert result["app_type"] == "FastAPI" and result["same_app"] is True
    # Building the app opens nothing either: the lifespan does, when a server starts it.
    assert result["clients_after_build"] == []
    assert not (tmp_path / "probe.db").exists()


def test_a_missing_attribute_is_still_an_attribute_error() -> None:
    import app.main

    with pytest.raises(AttributeError, match="no attribute 'nope'"):
        app.main.nope  # noqa: B018
