"""A real Redis Cluster on loopback: three masters with one replica each, on free ports.

Used by `bench.scale` (single node against cluster) and by the test suite's `redis_cluster`
fixture (tests/support/cluster.py), so both run the cluster the same way.
"""

from __future__ import annotations

import shutil
import signal
import subprocess
from dataclasses import dataclass, field
from pathlib import Path

import redis
from redis.crc import key_slot

from bench.harness import BenchError, ephemeral_redis_args, free_port, wait_until

# A master that stops answering for this long is failed over to its replica. Small, so the
# failover test waits about a second; redis-server's default (15 s) would stall it.
NODE_TIMEOUT_MS = 1000


def _binary(name: str) -> str:
    path = shutil.which(name)
    if path is None:
        raise BenchError(
            f"{name} is not installed: run `make test` (it installs redis with apt-get) "
            "or `apt-get install redis-server`"
        )
    return path


@dataclass
class RedisClusterServers:
    """Six cluster-enabled redis-servers joined by `redis-cli --cluster create` (3 × 2)."""

    workdir: Path
    ports: list[int] = field(default_factory=lambda: [free_port() for _ in range(6)])
    # The cluster bus ports, named explicitly: the default (port + 10000) may be past 65535 or
    # taken, since free ports come from anywhere in the range.
    bus_ports: list[int] = field(default_factory=lambda: [free_port() for _ in range(6)])
    processes: dict[int, subprocess.Popen[bytes]] = field(default_factory=dict)

    @property
    def url(self) -> str:
        """REDIS_URL for the app: one node, marked as a cluster (the client finds the rest)."""
        return f"redis+cluster://127.0.0.1:{self.ports[0]}"

    @property
    def node_url(self) -> str:
        """One node's plain URL (for redis-py's RedisCluster.from_url)."""
        return f"redis://127.0.0.1:{self.ports[0]}"

    def start(self) -> None:
        """Start the six nodes, join them into a cluster and wait until it is healthy."""
        for port in self.ports:
            self._start_node(port)
        addresses = [f"127.0.0.1:{port}" for port in self.ports]
        subprocess.run(
            [
                _binary("redis-cli"),
                "--cluster",
                "create",
                *addresses,
                "--cluster-replicas",
                "1",
                "--cluster-yes",
            ],
            check=True,
            capture_output=True,
            timeout=60,
        )
        self.wait_healthy()

    def _start_node(self, port: int) -> None:
        node_dir = self.workdir / str(port)
        node_dir.mkdir(parents=True, exist_ok=True)
        self.processes[port] = subprocess.Popen(
            [
                _binary("redis-server"),
                *ephemeral_redis_args(port, node_dir),
                "--cluster-enabled",
                "yes",
                # Kept across a restart of this node: it rejoins as who it was.
                "--cluster-config-file",
                str(node_dir / "nodes.conf"),
                "--cluster-port",
                str(self.bus_ports[self.ports.index(port)]),
                "--cluster-node-timeout",
                str(NODE_TIMEOUT_MS),
                # A new replica syncs at once (the default waits 5 s for more replicas).
                "--repl-diskless-sync-delay",
                "0",
            ],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )

        def up() -> bool:
            if self.processes[port].poll() is not None:
                raise BenchError(f"cluster node on port {port} exited at start")
            return self._answers(port)

        wait_until(up, timeout=60, what=f"cluster node on port {port}")

    def _client(self, port: int) -> redis.Redis:
        return redis.Redis(port=port, decode_responses=True, socket_timeout=2)

    def _answers(self, port: int) -> bool:
        try:
            with self._client(port) as client:
                return bool(client.ping())
        except redis.RedisError:
            return False

    def _state(self, port: int) -> str:
        with self._client(port) as client:
            return str(client.cluster("INFO").get("cluster_state"))

    def alive(self) -> list[int]:
        """Ports of the nodes running now."""
        return [p for p, proc in self.processes.items() if proc.poll() is None]

    def wait_healthy(self, *, timeout: float = 60.0) -> None:
        """Every running node says `cluster_state:ok` and every master has a synced replica."""

        def healthy() -> bool:
            try:
                if not all(self._state(p) == "ok" for p in self.alive()):
                    return False
                return all(self._replica_synced(p) for p in self.replicas())
            except redis.RedisError:
                return False

        wait_until(healthy, timeout=timeout, what="Redis Cluster state ok on every node")

    def _role(self, port: int) -> dict[str, object]:
        with self._client(port) as client:
            return dict(client.info("replication"))

    def _replica_synced(self, port: int) -> bool:
        return self._role(port).get("master_link_status") == "up"

    def masters(self) -> list[int]:
        """Ports of the running masters."""
        return [p for p in self.alive() if self._role(p).get("role") == "master"]

    def replicas(self) -> list[int]:
        """Ports of the running replicas."""
        return [p for p in self.alive() if self._role(p).get("role") == "slave"]

    def master_of(self, key: str) -> int:
        """The port of the master serving `key`'s slot now."""
        slot = key_slot(key.encode())
        with self._client(self.alive()[0]) as client:
            for start, end, master, *_replicas in client.execute_command("CLUSTER SLOTS"):
                if int(start) <= slot <= int(end):
                    return int(master[1])
        raise LookupError(f"no node serves slot {slot}")

    def kill(self, port: int) -> None:
        """SIGKILL one node (a crash: no goodbye to the others)."""
        process = self.processes[port]
        process.send_signal(signal.SIGKILL)
        process.wait(timeout=10)

    def restore(self) -> None:
        """Restart every killed node (it rejoins as a replica of whoever took its slots) and
        wait until the cluster is whole again."""
        for port, process in list(self.processes.items()):
            if process.poll() is not None:
                self._start_node(port)
        self.wait_healthy()

    def flush(self) -> None:
        """Empty every master (replicas follow)."""
        for port in self.masters():
            with self._client(port) as client:
                client.flushall()

    def stop(self) -> None:
        """SIGKILL every node (the cluster keeps no data worth a clean shutdown)."""
        for process in self.processes.values():
            if process.poll() is None:
                process.kill()
                process.wait(timeout=10)
        self.processes.clear()
