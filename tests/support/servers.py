"""Real servers for integration tests: a private redis-server and uvicorn on free ports."""

from __future__ import annotations

import asyncio
import contextlib
import os
import select
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from bench.harness import PORT_CLAIMS_ENV, RedisProcess, free_port, http_status

ROOT = Path(__file__).resolve().parents[2]


# Every process on the machine that starts servers for tests (xdist workers, benches the tests
# run as subprocesses, and a second suite running at the same time) picks ports through one
# claims directory (see bench/harness.py), so no two ever get the same port.
os.environ.setdefault(
    PORT_CLAIMS_ENV, str(Path(tempfile.gettempdir()) / "raidesk-test-port-claims")
)


def wait_until(predicate, *, timeout: float = 60.0, what: str = "condition") -> None:  # type: ignore[no-untyped-def]
    """Poll `predicate` until it holds; fail with `what` after `timeout` seconds."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return
        time.sleep(0.02)
    raise TimeoutError(f"timed out after {timeout} s waiting for {what}")


async def eventually(check, *, timeout: float = 60.0, what: str = "condition"):  # type: ignore[no-untyped-def]
    """Await `check()` until it returns a truthy value (returned); fail after `timeout` s."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        result = await check()
        if result:
            return result
        await asyncio.sleep(0.05)
    raise TimeoutError(f"timed out after {timeout} s waiting for {what}")


class RedisServer(RedisProcess):
    """A redis-server of our own (no persistence) that tests may kill, freeze and restart."""

    def __init__(self, workdir: Path) -> None:
        # A loaded machine (xdist workers, CPU hogs) may take longer than a bench allows.
        super().__init__(workdir, start_timeout_s=60.0)

    def freeze(self) -> None:
        """SIGSTOP: the port stays open, connections are accepted, nothing is answered."""
        assert self.process is not None
        self.process.send_signal(signal.SIGSTOP)

    def thaw(self) -> None:
        assert self.process is not None
        self.process.send_signal(signal.SIGCONT)

    def restart_empty(self) -> None:
        """Kill it and start it again: with no persistence every key is gone."""
        self.stop()
        self.start()


@dataclass
class LiveServer:
    """uvicorn serving `app.main:create_app` in a subprocess on a free port, or `argv`: another
    command serving the app, with `{port}` in it standing for the port (e.g. `fastapi run`)."""

    env: dict[str, str]
    workers: int = 1
    port: int = field(default_factory=free_port)
    factory: str = "app.main:create_app"
    argv: list[str] | None = None
    process: subprocess.Popen[bytes] | None = None
    log_path: Path | None = None
    _log_file: Any = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self, *, timeout: float = 120.0) -> None:
        env = {**os.environ, **self.env}
        log: Any = subprocess.DEVNULL
        if self.log_path is not None:
            log = self._log_file = open(self.log_path, "wb")  # noqa: SIM115 - closed in stop()
        if self.argv is not None:
            command = [arg.replace("{port}", str(self.port)) for arg in self.argv]
        else:
            command = [
                sys.executable,
                "-m",
                "uvicorn",
                self.factory,
                "--factory",
                "--host",
                "127.0.0.1",
                "--port",
                str(self.port),
                "--workers",
                str(self.workers),
                "--no-access-log",
            ]
        self.process = subprocess.Popen(
            command,
            cwd=ROOT,
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
            # Another command may start a reloader with a child server: give it its own process
            # group so stop() can reach a child the reloader left behind.
            start_new_session=self.argv is not None,
        )

        def ready() -> bool:
            if self.process is not None and self.process.poll() is not None:
                raise RuntimeError(f"server exited with {self.process.returncode}; see log")
            return http_status(self.url + "/health/live") == 200

        try:
            wait_until(ready, timeout=timeout, what=f"uvicorn on {self.url}")
        except BaseException:
            self.stop()  # never leave a half-started server or its log file behind
            raise

    def stop(self) -> None:
        if self.process is not None:
            self.process.terminate()
            try:
                self.process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(timeout=5)
            if self.argv is not None:
                # Whatever of its group still runs (a reloader's child server).
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(self.process.pid, signal.SIGKILL)
            self.process = None
        if self._log_file is not None:
            self._log_file.close()
            self._log_file = None


class TcpProxy:
    """A TCP relay to `target` that tests can freeze (connections stay open, nothing passes:
    a server that accepts and never answers) or take down (listener and connections closed:
    a refused port), then restore."""

    def __init__(self, target: tuple[str, int]) -> None:
        self.target = target
        self.port = free_port()
        self._frozen = threading.Event()
        self._down = threading.Event()
        self._stop = threading.Event()
        self._sockets: list[socket.socket] = []
        self._lock = threading.Lock()
        self._listener: socket.socket | None = None
        self._thread: threading.Thread | None = None

    def start(self) -> None:
        listener = socket.socket()
        listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        listener.bind(("127.0.0.1", self.port))
        listener.listen(128)
        listener.settimeout(0.1)
        self._listener = listener
        self._down.clear()
        self._thread = threading.Thread(target=self._accept, args=(listener,), daemon=True)
        self._thread.start()

    def freeze(self) -> None:
        """Accept and hold every byte: the other side waits for an answer that never comes."""
        self._frozen.set()

    def thaw(self) -> None:
        self._frozen.clear()

    def down(self) -> None:
        """Close the listener and every relayed connection: a port nobody listens on."""
        self._down.set()
        if self._thread is not None:
            self._thread.join(timeout=5)
        with self._lock:
            for sock in self._sockets:
                with contextlib.suppress(OSError):
                    sock.close()
            self._sockets.clear()

    def restart(self) -> None:
        """Down, then up again on the same port: every relayed connection is dead, new ones
        work (a database server restart, as its clients see it)."""
        self.down()
        self.start()

    def stop(self) -> None:
        self._stop.set()
        self.down()

    def _accept(self, listener: socket.socket) -> None:
        with listener:
            while not self._down.is_set() and not self._stop.is_set():
                try:
                    client, _ = listener.accept()
                except TimeoutError:
                    continue
                except OSError:
                    return
                try:
                    upstream = socket.create_connection(self.target, timeout=5)
                except OSError:
                    client.close()
                    continue
                with self._lock:
                    self._sockets += [client, upstream]
                threading.Thread(target=self._pump, args=(client, upstream), daemon=True).start()

    def _pump(self, a: socket.socket, b: socket.socket) -> None:
        try:
            while not self._stop.is_set():
                ready, _, _ = select.select([a, b], [], [], 0.05)
                if self._frozen.is_set():
                    continue
                for sock in ready:
                    data = sock.recv(65536)
                    if not data:
                        return
                    (b if sock is a else a).sendall(data)
        except OSError:
            return
        finally:
            for sock in (a, b):
                with contextlib.suppress(OSError):
                    sock.close()
