"""schemathesis over a live server: every operation of the OpenAPI document, a few generated
cases each, with an admin's credentials; every answer's status must be one the document lists
for the operation, and its body must match the schema listed for that status."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import httpx
import pytest
import schemathesis
from hypothesis import HealthCheck, Phase, given, settings
from schemathesis.specs.openapi.checks import (
    response_schema_conformance,
    status_code_conformance,
)

from tests.conftest import TEST_SECRET
from tests.support.servers import LiveServer

pytestmark = [pytest.mark.integration, pytest.mark.slow]

ADMIN_PASSWORD = "schemathesis admin 2026"
# Bounded: a contract smoke test in the suite, not a fuzzing campaign.
EXAMPLES_PER_OPERATION = 3


@pytest.fixture(scope="module")
def live(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[LiveServer, dict[str, str]]]:
    tmp = tmp_path_factory.mktemp("schemathesis")
    server = LiveServer(
        env={
            "ENVIRONMENT": "test",
            "SECRET_KEY": TEST_SECRET,
            "DATABASE_URL": f"sqlite+aiosqlite:///{tmp / 'live.db'}",
            "REDIS_URL": "",
            "RATE_LIMIT_ENABLED": "false",
            "ARGON2_TIME_COST": "1",
            "ARGON2_MEMORY_COST": "1024",
            "ADMIN_USERNAME": "root",
            "ADMIN_PASSWORD": ADMIN_PASSWORD,
            "BATCH_WORKERS": "0",
        },
        log_path=tmp / "server.log",
    )
    server.start()
    try:
        login = httpx.post(
            server.url + "/api/auth/login",
            json={"username": "root", "password": ADMIN_PASSWORD},
            timeout=30,
        )
        assert login.status_code == 200, login.text
        yield server, {"Authorization": f"Bearer {login.json()['access_token']}"}
    finally:
        server.stop()


def test_every_operation_conforms(live: tuple[LiveServer, dict[str, str]]) -> None:
    server, auth = live
    api = schemathesis.openapi.from_url(server.url + "/openapi.json")
    failures: list[str] = []
    operations = 0
    for result in api.get_all_operations():
        operation = result.ok()
        operations += 1

        @given(case=operation.as_strategy())
        @settings(
            max_examples=EXAMPLES_PER_OPERATION,
            deadline=None,
            suppress_health_check=list(HealthCheck),
            derandomize=True,
            database=None,
            phases=[Phase.explicit, Phase.generate],
        )
        def run(case: Any) -> None:
            case.call_and_validate(
                headers=auth,
                timeout=30,
                checks=[status_code_conformance, response_schema_conformance],
            )

        try:
            run()
        except (
            Exception,
            BaseExceptionGroup,
        ) as exc:  # collected: one report naming every failing operation
            failures.append(f"{operation.label}: {str(exc)[:600]}")
    assert operations >= 50
    assert not failures, "\n\n".join(failures)
