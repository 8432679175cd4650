"""Slow clients over real sockets against `python -m app serve`: a body trickling in is cut
off with 408 at BODY_READ_TIMEOUT_S, headers trickling in (or never sent) with 408 at
HEADER_READ_TIMEOUT_S, an idle keep-alive connection is closed after KEEP_ALIVE_TIMEOUT_S. The
test only waits on its socket (with its own generous timeout): the server must act by itself."""

from __future__ import annotations

import os
import select
import socket
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.conftest import TEST_SECRET
from tests.support.servers import ROOT, free_port, http_status, wait_until

pytestmark = [pytest.mark.integration, pytest.mark.slow]

# The test's own bound on the server acting: far above the configured 1 s.
SOCKET_BOUND_S = 20.0


@pytest.fixture
def served(tmp_path: Path) -> Iterator[int]:
    port = free_port()
    env = {
        **os.environ,
        "ENVIRONMENT": "test",
        "SECRET_KEY": TEST_SECRET,
        "DATABASE_URL": f"sqlite+aiosqlite:///{tmp_path / 'slow.db'}",
        "REDIS_URL": "",
        "RATE_LIMIT_ENABLED": "false",
        "HOST": "127.0.0.1",
        "PORT": str(port),
        "BODY_READ_TIMEOUT_S": "1",
        "KEEP_ALIVE_TIMEOUT_S": "1",
        "HEADER_READ_TIMEOUT_S": "1",
        "BATCH_WORKERS": "0",
    }
    log = (tmp_path / "server.log").open("wb")
    process = subprocess.Popen(
        [sys.executable, "-m", "app", "serve"], cwd=ROOT, env=env, stdout=log, stderr=log
    )

    def ready() -> bool:
        assert process.poll() is None, "server exited"
        return http_status(f"http://127.0.0.1:{port}/health/live") == 200

    try:
        wait_until(ready, timeout=120, what="python -m app serve")
        yield port
    finally:
        process.terminate()
        process.wait(timeout=15)
        log.close()


def read_until_closed(sock: socket.socket) -> bytes:
    """Everything the server sends until it closes the connection (or the bound runs out)."""
    sock.settimeout(SOCKET_BOUND_S)
    data = b""
    while chunk := sock.recv(65536):
        data += chunk
    return data


def test_a_trickling_body_gets_408_and_the_connection_closed(served: int) -> None:
    with socket.create_connection(("127.0.0.1", served), timeout=SOCKET_BOUND_S) as sock:
        sock.sendall(
            b"POST /api/sessions HTTP/1.1\r\nHost: 127.0.0.1\r\n"
            b"Content-Type: application/json\r\nContent-Length: 100\r\n\r\n{"
        )
        answer = read_until_closed(sock)  # one byte of 100, then nothing: the server acts
    head, _, body = answer.partition(b"\r\n\r\n")
    assert head.startswith(b"HTTP/1.1 408 "), answer[:200]
    assert b"connection: close" in head.lower()
    assert b'"code":"REQUEST_TIMEOUT"' in body.replace(b" ", b"")


def test_an_idle_keep_alive_connection_is_closed(served: int) -> None:
    with socket.create_connection(("127.0.0.1", served), timeout=SOCKET_BOUND_S) as sock:
        sock.sendall(b"GET /ping HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n")
        answer = read_until_closed(sock)  # served, then idle: closed by the server
    assert answer.startswith(b"HTTP/1.1 200 ")


def trickle_until_answered(sock: socket.socket, start: bytes) -> bytes:
    """Send `start`, then one header byte at a time (never the blank line that ends the
    headers) until the server answers or closes; then everything it sends until it closes."""
    sock.sendall(start)
    for _ in range(int(SOCKET_BOUND_S / 0.05)):
        readable, _, _ = select.select([sock], [], [], 0.05)
        if readable:
            break
        try:
            sock.sendall(b"a")
        except OSError:  # closed under the send: what it sent is still to be read
            break
    return read_until_closed(sock)


def assert_header_timeout(answer: bytes) -> None:
    head, _, body = answer.partition(b"\r\n\r\n")
    assert head.startswith(b"HTTP/1.1 408 "), answer[:200]
    assert b"connection: close" in head.lower()
    assert b"content-type: application/problem+json" in head.lower()
    compact = body.replace(b" ", b"")
    assert b'"code":"REQUEST_TIMEOUT"' in compact
    assert b"headers" in body  # the detail says which part was late


def test_trickling_headers_get_408_and_the_connection_closed(served: int) -> None:
    with socket.create_connection(("127.0.0.1", served), timeout=SOCKET_BOUND_S) as sock:
        answer = trickle_until_answered(sock, b"GET /ping HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Slow: ")
    assert_header_timeout(answer)


def test_a_connection_that_sends_nothing_gets_408_and_is_closed(served: int) -> None:
    with socket.create_connection(("127.0.0.1", served), timeout=SOCKET_BOUND_S) as sock:
        answer = read_until_closed(sock)  # connected, silent: the server acts
    assert_header_timeout(answer)


def test_the_second_request_on_a_connection_has_its_own_header_deadline(served: int) -> None:
    with socket.create_connection(("127.0.0.1", served), timeout=SOCKET_BOUND_S) as sock:
        sock.sendall(b"GET /ping HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n")
        first = b""
        while b"\r\n\r\n" not in first or not first.rstrip().endswith(b"}"):
            chunk = sock.recv(65536)
            assert chunk, first
            first += chunk
        assert first.startswith(b"HTTP/1.1 200 ")
        answer = trickle_until_answered(sock, b"GET /ping HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Slow: ")
    assert_header_timeout(answer)
