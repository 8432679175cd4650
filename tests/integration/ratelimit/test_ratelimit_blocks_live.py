"""Acceptance over real processes: two uvicorn workers on one Redis. A block placed through one
worker refuses the client on the other, an admin lifts it everywhere, a short block ends by
itself; a quota an admin sets is enforced by both workers, and lifted on both."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import httpx
import pytest

from tests.support.servers import LiveServer, wait_until

pytestmark = [pytest.mark.integration, pytest.mark.slow]

ADMIN = {"ADMIN_USERNAME": "root", "ADMIN_PASSWORD": "admin pass phrase 2026"}
PASSWORD = "violet meadow phrase 26"
BLOCK_S = 3
# `GET /api/auth/me` gets a tight per-user limit; everything else is out of the way.
SETTINGS = {
    "RATE_LIMIT_ENABLED": "true",
    "RATE_LIMIT_DEFAULT": "1000/minute",
    "RATE_LIMIT_AUTHENTICATED": "1000/minute",
    "RATE_LIMIT_ADMIN": "1000/minute",
    "RATE_LIMIT_ROUTES": '{"GET /api/auth/me": "2/minute"}',
    "RATE_LIMIT_BLOCK_AFTER": "3",
    "RATE_LIMIT_BLOCK_WINDOW_S": "60",
    "RATE_LIMIT_BLOCK_SECONDS": str(BLOCK_S),
    "RATE_LIMIT_BLOCK_MAX_SECONDS": str(BLOCK_S),
    # Pinned connections stay open however long the test waits between two requests.
    "UVICORN_TIMEOUT_KEEP_ALIVE": "600",
}


def _remember_port(response: httpx.Response) -> None:
    # Read while the connection is surely open: the local port names the TCP connection.
    stream = response.extensions["network_stream"]
    response.extensions["local_port"] = stream.get_extra_info("client_addr")[1]


class Worker:
    """One kept-alive connection to one worker: every answer is checked to come over it."""

    def __init__(self, http: httpx.Client, pid: int, port: int) -> None:
        self.http, self.pid, self.port = http, pid, port

    def call(self, method: str, path: str, token: str | None = None, **kw: Any) -> httpx.Response:
        headers = {"Authorization": f"Bearer {token}"} if token else {}
        response = self.http.request(method, path, headers=headers, **kw)
        assert response.extensions["local_port"] == self.port, "the pinned connection was lost"
        return response


def pin(url: str) -> Worker:
    """One kept-alive connection to whichever worker of `url` accepts it."""
    http = httpx.Client(
        base_url=url,
        timeout=30,
        # One connection, never dropped for idling (httpx would after 5 s).
        limits=httpx.Limits(max_connections=1, max_keepalive_connections=1, keepalive_expiry=600),
        event_hooks={"response": [_remember_port]},
    )
    probe = http.get("/health/detailed")
    return Worker(http, probe.json()["process"]["pid"], probe.extensions["local_port"])


def pin_two_workers(url: str) -> list[Worker]:
    """A connection to each of the two workers (which one accepts is up to the kernel)."""
    pinned: dict[int, Worker] = {}
    spare: list[httpx.Client] = []

    def another() -> bool:
        worker = pin(url)
        if worker.pid in pinned:
            spare.append(worker.http)
        else:
            pinned[worker.pid] = worker
        return len(pinned) == 2

    wait_until(another, timeout=120, what="a connection to each worker")
    for http in spare:
        http.close()
    return list(pinned.values())


def policy_of(response: httpx.Response) -> str:
    """The `RateLimit-Policy` of a successful answer."""
    assert response.status_code == 200, response.text
    return response.headers["ratelimit-policy"]


def problem(response: httpx.Response, status: int, code: str) -> dict[str, Any]:
    assert response.status_code == status, response.text
    assert response.headers["content-type"].startswith("application/problem+json")
    body: dict[str, Any] = response.json()
    assert body["code"] == code, body
    return body


@pytest.mark.parametrize("redis", ["redis", "redis-cluster"])
def test_blocks_and_quotas_hold_across_two_workers_on_redis(
    live_server_factory: Callable[..., LiveServer], request: pytest.FixtureRequest, redis: str
) -> None:
    if redis == "redis-cluster":
        cluster = request.getfixturevalue("redis_cluster")
        cluster.flush()
        url = cluster.url
    else:
        request.getfixturevalue("redis_client")  # empties the shared Redis first
        url = request.getfixturevalue("redis_server").url
    server = live_server_factory(workers=2, REDIS_URL=url, **SETTINGS, **ADMIN)
    a, b = pin_two_workers(server.url)
    try:
        run(a, b)
    finally:
        a.http.close()
        b.http.close()


def run(a: Worker, b: Worker, *, one_instance: bool = True) -> None:
    """Blocks and quotas placed through `a` hold on `b` and back; `one_instance`: whether both
    are workers of one server (one metrics view) or of two (each counts its own)."""
    for name in ("mallory", "dave", "erin"):
        made = a.call("POST", "/api/auth/register", json={"username": name, "password": PASSWORD})
        assert made.status_code == 201, made.text
    tokens, ids = {}, {}
    for name, password in (
        ("root", ADMIN["ADMIN_PASSWORD"]),
        ("mallory", PASSWORD),
        ("dave", PASSWORD),
        ("erin", PASSWORD),
    ):
        login = b.call("POST", "/api/auth/login", json={"username": name, "password": password})
        assert login.status_code == 200, login.text
        tokens[name] = login.json()["access_token"]
        ids[name] = a.call("GET", "/api/auth/me", tokens[name]).json()["id"]
    admin, mallory, dave, erin = (tokens[n] for n in ("root", "mallory", "dave", "erin"))
    client = f"u:{ids['mallory']}"

    # --- a block placed through worker a refuses mallory on worker b -------------------
    assert a.call("GET", "/api/auth/me", mallory).status_code == 200  # 2nd of 2 this minute
    problem(a.call("GET", "/api/auth/me", mallory), 429, "RATE_LIMIT_EXCEEDED")
    problem(a.call("GET", "/api/auth/me", mallory), 429, "RATE_LIMIT_EXCEEDED")
    placed = a.call("GET", "/api/auth/me", mallory)  # the 3rd rejection
    assert problem(placed, 429, "CLIENT_BLOCKED")["details"] == {"retry_after_s": BLOCK_S}
    assert placed.headers["retry-after"] == str(BLOCK_S)
    elsewhere = b.call("GET", "/ping", mallory)  # another route, another worker
    problem(elsewhere, 429, "CLIENT_BLOCKED")
    assert 1 <= int(elsewhere.headers["retry-after"]) <= BLOCK_S
    assert b.call("GET", "/ping", dave).status_code == 200  # nobody else is touched
    listed = b.call("GET", "/api/admin/blocks", admin)
    assert listed.status_code == 200, listed.text
    assert [(x["client"], x["level"]) for x in listed.json()] == [(client, 1)]

    # --- an admin on worker b lifts it; worker a lets mallory in at once ---------------
    lifted = b.call("DELETE", f"/api/admin/blocks/{client}", admin)
    assert lifted.status_code == 204, lifted.text
    assert a.call("GET", "/ping", mallory).status_code == 200
    assert a.call("GET", "/api/admin/blocks", admin).json() == []
    problem(b.call("DELETE", f"/api/admin/blocks/{client}", admin), 404, "BLOCK_NOT_FOUND")

    # --- blocked again through worker b; the block ends by itself on both workers ------
    problem(b.call("GET", "/api/auth/me", mallory), 429, "RATE_LIMIT_EXCEEDED")
    problem(b.call("GET", "/api/auth/me", mallory), 429, "RATE_LIMIT_EXCEEDED")
    problem(b.call("GET", "/api/auth/me", mallory), 429, "CLIENT_BLOCKED")
    # (Polling a blocked client counts nothing: refused before any limit is read.)
    wait_until(
        lambda: a.call("GET", "/ping", mallory).status_code == 200,
        timeout=60,
        what="the block to end on worker a",
    )
    assert b.call("GET", "/ping", mallory).status_code == 200
    assert b.call("GET", "/api/admin/blocks", admin).json() == []

    # --- a quota set through worker a is enforced by both workers ----------------------
    put = a.call("PUT", f"/api/admin/quotas/{ids['dave']}", admin, json={"requests_per_hour": 3})
    assert put.status_code == 200, put.text
    assert put.json()["limits"] == ["3/hour"] and put.json()["custom"] is True
    hourly = '"user-3600s";q=3;w=3600'
    for worker in (a, b):
        # Until the worker applies it, dave's answers name the tier; the first that names the
        # quota is counted in it (1 each: 2 of 3 used).
        wait_until(
            lambda w=worker: w.call("GET", "/ping", dave).headers["ratelimit-policy"] == hourly,
            timeout=60,
            what=f"the quota on worker {worker.pid}",
        )
    assert b.call("GET", "/ping", dave).status_code == 200  # the 3rd
    refused = problem(b.call("GET", "/ping", dave), 429, "RATE_LIMIT_EXCEEDED")
    assert refused["remaining"] == {"hour": 0}
    problem(a.call("GET", "/ping", dave), 429, "RATE_LIMIT_EXCEEDED")
    read = b.call("GET", f"/api/admin/quotas/{ids['dave']}", admin)
    assert read.json()["requests_per_hour"] == 3 and read.json()["updated_by"] == ids["root"]

    # --- erin's generous quota, lifted through worker b: both give her the tier back ---
    # (Not dave's: a worker still holding his used-up quota would refuse the polls, and
    # refusals count towards a block.)
    generous = {"requests_per_minute": 500}
    assert a.call("PUT", f"/api/admin/quotas/{ids['erin']}", admin, json=generous).is_success
    for policy in ('"user-60s";q=500;w=60', '"user-60s";q=1000;w=60'):
        for worker in (a, b):
            wait_until(
                lambda w=worker, p=policy: policy_of(w.call("GET", "/ping", erin)) == p,
                timeout=60,
                what=f"{policy} on worker {worker.pid}",
            )
        if policy.endswith("q=500;w=60"):
            lifted = b.call("DELETE", f"/api/admin/quotas/{ids['erin']}", admin)
            assert lifted.status_code == 204, lifted.text

    # Two blocks in all, one placed through each side: one server's counter adds its workers
    # up; two servers each count their own.
    for worker, placed_here in ((a, 2), (b, 2)) if one_instance else ((a, 1), (b, 1)):
        lines = worker.call("GET", "/metrics").text.splitlines()
        # (In multiprocess mode the families come in no fixed order.)
        assert sorted(x for x in lines if x.startswith("rate_limit_blocks_")) == [
            "rate_limit_blocks_active 0.0",
            f"rate_limit_blocks_total {placed_here}.0",
        ]
