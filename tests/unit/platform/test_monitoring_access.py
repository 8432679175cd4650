"""Who may read /metrics and /health/detailed: open in development and test, else an allowed
address (behind trusted proxies), the scrape token or an admin (in-process app)."""

from __future__ import annotations

import pytest

from app.platform.config import ConfigurationError, load_settings
from tests.conftest import AppFactory

pytestmark = pytest.mark.unit

MONITORING = ("/metrics", "/health/detailed")


async def test_open_in_the_test_environment_by_default(app_factory: AppFactory) -> None:
    async with app_factory() as (_app, client):
        for path in MONITORING:
            assert (await client.get(path)).status_code == 200, path


async def test_closed_is_403_but_the_probes_stay_open(app_factory: AppFactory) -> None:
    async with app_factory(monitoring_open=False) as (_app, client):
        for path in MONITORING:
            response = await client.get(path)
            assert response.status_code == 403, path
            assert response.json()["code"] == "MONITORING_FORBIDDEN"
        for probe in ("/health", "/health/live", "/health/ready"):
            assert (await client.get(probe)).status_code == 200, probe


async def test_an_allowed_address_reads_without_credentials(app_factory: AppFactory) -> None:
    # The in-process client connects from 127.0.0.1.
    async with app_factory(monitoring_open=False, monitoring_allowed_ips="127.0.0.0/8") as (
        _app,
        client,
    ):
        for path in MONITORING:
            assert (await client.get(path)).status_code == 200, path
    async with app_factory(monitoring_open=False, monitoring_allowed_ips="10.0.0.0/8") as (
        _app,
        client,
    ):
        assert (await client.get("/metrics")).status_code == 403


async def test_the_allowlist_sees_the_client_behind_a_trusted_proxy(
    app_factory: AppFactory,
) -> None:
    async with app_factory(
        monitoring_open=False,
        monitoring_allowed_ips="10.1.0.0/16",
        trusted_proxies="127.0.0.1",
    ) as (_app, client):
        inside = await client.get("/metrics", headers={"X-Forwarded-For": "10.1.2.3"})
        assert inside.status_code == 200
        outside = await client.get("/metrics", headers={"X-Forwarded-For": "198.51.100.7"})
        assert outside.status_code == 403


async def test_the_scrape_token_opens_it_in_constant_form(app_factory: AppFactory) -> None:
    token = "a-scrape-token-of-32-characters-x"
    async with app_factory(monitoring_open=False, monitoring_token=token) as (app, client):
        ok = await client.get("/metrics", headers={"Authorization": f"Bearer {token}"})
        assert ok.status_code == 200 and "# HELP" in ok.text
        # Only a digest of the token is kept on the app.
        assert token not in repr(vars(app.state.monitoring_access))


def test_a_bad_allowlist_entry_stops_startup() -> None:
    with pytest.raises(ConfigurationError, match="MONITORING_ALLOWED_IPS"):
        load_settings(_env_file=None, monitoring_allowed_ips="not-a-network")
