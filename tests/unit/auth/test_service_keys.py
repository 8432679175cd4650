"""`API_KEYS`: static service-to-service keys, kept as digests, compared in constant time,
answering as the user `service:<name>`; a wrong key is a 401 problem."""

from __future__ import annotations

import logging

import pytest

from app.platform.config import ConfigurationError, load_settings
from app.platform.security import ServiceKeyring, hash_api_key
from tests.conftest import AppFactory

pytestmark = pytest.mark.unit

CI_KEY = "ci-key-0123456789abcdef"
BARE_KEY = "bare-key-fedcba9876543210"


def test_the_keyring_keeps_digests_and_names_only() -> None:
    ring = ServiceKeyring(f" ci:{CI_KEY} , {BARE_KEY},")
    assert len(ring) == 2
    assert ring.match(CI_KEY) == "ci"
    assert ring.match(BARE_KEY) == "2"  # a bare key is named by its position
    assert ring.match("ci-key-0123456789abcdeX") is None
    assert ring.match("") is None
    # Only digests are kept: no attribute holds a key.
    kept = repr(ring) + repr(vars(ring))
    assert CI_KEY not in kept and BARE_KEY not in kept and hash_api_key(CI_KEY) in kept
    assert hash_api_key(CI_KEY) not in repr(ring)
    assert ServiceKeyring(None).match(CI_KEY) is None


@pytest.mark.parametrize(
    ("raw", "message"),
    [("ci:tiny9", "shorter than 16"), (f"a:{CI_KEY},a:{BARE_KEY}", "given twice")],
)
def test_weak_or_ambiguous_keys_stop_the_service(raw: str, message: str) -> None:
    with pytest.raises(ConfigurationError, match=message) as caught:
        load_settings(_env_file=None, environment="test", api_keys=raw)
    assert "API_KEYS" in str(caught.value)
    assert raw.split(":")[-1] not in str(caught.value)  # the message never quotes a key


async def test_a_service_key_authenticates_as_a_service_user(
    app_factory: AppFactory, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    async with app_factory(api_keys=f"ci:{CI_KEY},{BARE_KEY}") as (_app, http):
        created = await http.post("/api/sessions", headers={"X-API-Key": CI_KEY})
        assert created.status_code == 201, created.text
        mine = await http.get("/api/sessions", headers={"X-API-Key": CI_KEY})
        assert mine.status_code == 200
        assert [s["id"] for s in mine.json()["items"]] == [created.json()["id"]]
        # Another service is another owner: the first one's session is not listed.
        other = await http.get("/api/sessions", headers={"X-API-Key": BARE_KEY})
        assert other.status_code == 200 and other.json()["items"] == []
        # A user, never an admin.
        admin_only = await http.get("/api/auth/users", headers={"X-API-Key": CI_KEY})
        assert admin_only.status_code == 403 and admin_only.json()["code"] == "PERMISSION_DENIED"

        wrong = await http.get("/api/sessions", headers={"X-API-Key": CI_KEY + "x"})
        assert wrong.status_code == 401
        assert wrong.json()["code"] == "AUTHENTICATION_REQUIRED"
        assert wrong.headers["content-type"] == "application/problem+json"
        events = (await http.get("/api/monitoring/events?type=authentication_failed")).json()
        assert [e["path"] for e in events["items"]] == ["/api/sessions"]
    logged = "\n".join(r.getMessage() for r in caplog.records)
    assert CI_KEY not in logged and BARE_KEY not in logged


async def test_without_api_keys_a_static_looking_key_is_refused(app_factory: AppFactory) -> None:
    async with app_factory() as (_app, http):
        refused = await http.get("/api/sessions", headers={"X-API-Key": CI_KEY})
        assert refused.status_code == 401


def test_the_seeds_name_valid_api_keys_is_read(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("API_KEYS", raising=False)
    monkeypatch.setenv("VALID_API_KEYS", f"ci:{CI_KEY}")
    settings = load_settings(_env_file=None, environment="test")
    assert settings.api_keys is not None
    assert ServiceKeyring(settings.api_keys.get_secret_value()).match(CI_KEY) == "ci"
