"""docs/seed-compatibility.md against a live server (uvicorn, on SQLite with in-process stores and
on Redis + PostgreSQL): every endpoint row whose
status says it works (`same`, `both work`) is a route the server has. Placeholders are filled
with an id that exists nowhere, so a route answers with its own problem (`SESSION_NOT_FOUND`,
401, 400 …) while a missing route answers the router's generic `NOT_FOUND` or 405."""

from __future__ import annotations

import re
from collections.abc import Callable

import httpx
import pytest

from tests.support.servers import LiveServer
from tests.unit.platform.test_seed_compatibility_table import seed_rows

pytestmark = [pytest.mark.integration, pytest.mark.slow]

WORKS = {"same", "both work"}
PROBE_ID = "probe_missing"
ENDPOINT = re.compile(r"`(?P<method>GET|POST|PUT|DELETE|PATCH) (?P<path>/[^`]*)`")


def working_endpoints() -> list[tuple[str, str]]:
    """(method, concrete path) for each endpoint row that says it works; `a`, `/b` rows expand."""
    calls: list[tuple[str, str]] = []
    for _seed, kind, name, _answer, status in seed_rows():
        if kind != "endpoint" or status not in WORKS:
            continue
        match = ENDPOINT.match(name)
        assert match is not None, name
        path = re.sub(r"\{[^}]+\}", PROBE_ID, match["path"])
        calls.append((match["method"], path))
        # "`POST /x/{id}/pause`, `/resume`": siblings replace the last segment.
        for sibling in re.findall(r", `(/[a-z_]+)`", name):
            calls.append((match["method"], path.rsplit("/", 1)[0] + sibling))
    return calls


@pytest.mark.parametrize("backends", ["sqlite", "redis+postgres"])
def test_working_endpoint_rows_are_routes(
    live_server_factory: Callable[..., LiveServer], request: pytest.FixtureRequest, backends: str
) -> None:
    calls = working_endpoints()
    assert len(calls) >= 20
    env: dict[str, str] = {}
    if backends == "redis+postgres":
        request.getfixturevalue("postgres_engine")  # empties every table first
        env["DATABASE_URL"] = request.getfixturevalue("postgres_url")
        env["REDIS_URL"] = request.getfixturevalue("redis_server").url
    server = live_server_factory(**env)
    with httpx.Client(base_url=server.url, timeout=30) as client:
        # The walk is on the backends it names: the server reports Redis only when it has it.
        checks = client.get("/health/detailed").json()["checks"]
        assert checks["database"]["status"] == "up"
        assert ("redis" in checks) == (backends == "redis+postgres"), checks
        # What a path the server does not have looks like: the baseline the rows must differ from.
        missing = client.get("/no/such/route")
        assert missing.status_code == 404
        missing_code = missing.json()["code"]
        for method, path in calls:
            r = client.request(method, path)
            assert r.status_code < 500, (method, path, r.status_code, r.text)
            assert r.status_code != 405, (method, path)
            if r.status_code == 404:
                assert r.json()["code"] != missing_code, (method, path, r.text)
