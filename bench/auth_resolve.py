"""What resolving the caller costs per request (the rate limiter and every route call it), and
what one login costs with the production argon2 parameters. In-process, on a temporary SQLite
file, so it measures the auth code and the indexed lookups, not HTTP.

    uv run python -m bench.auth_resolve --iterations 2000 --logins 10

Each case is timed in interleaved rounds and reported as the median µs per call and the
ratio to the baseline measured in the same run (a request with no credentials).
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import tempfile
import time
from collections.abc import Awaitable, Callable
from pathlib import Path

from app.accounts.adapters.sql.api_keys import SqlApiKeyRepository
from app.accounts.adapters.sql.users import SqlUserRepository
from app.accounts.service import AuthService
from app.platform.config import load_settings
from app.platform.principal import Credentials, credentials_from_scope
from app.platform.security import PasswordHasher
from app.platform.storage.migrate import run_migrations
from app.platform.storage.sql.engine import create_engine

PASSWORD = "correct horse battery staple"  # noqa: S105 - a throwaway bench account


def _scope(**headers: str) -> Credentials:
    """The credentials of a request with these headers (read as the app reads them)."""
    scope = {"type": "http", "headers": [(k.encode(), v.encode()) for k, v in headers.items()]}
    return credentials_from_scope(scope)


async def _time_per_call(call: Callable[[], Awaitable[object]], n: int) -> float:
    started = time.perf_counter()
    for _ in range(n):
        await call()
    return (time.perf_counter() - started) / n * 1e6


async def run(iterations: int, logins: int, rounds: int) -> None:
    """Build a service on a fresh SQLite file and time each resolution path."""
    with tempfile.TemporaryDirectory() as tmp:
        settings = load_settings(
            _env_file=None,
            environment="test",
            secret_key="bench-secret-key-with-more-than-32-characters",  # noqa: S106
            database_url=f"sqlite+aiosqlite:///{Path(tmp) / 'bench.db'}",
        )
        engine = create_engine(settings)
        await run_migrations(engine)
        try:
            services = {
                ttl: AuthService.from_settings(
                    settings.model_copy(update={"auth_cache_ttl_s": ttl}),
                    users=SqlUserRepository(engine),
                    api_keys=SqlApiKeyRepository(engine),
                )
                for ttl in (5.0, 0.0)
            }
            cached, uncached = services[5.0], services[0.0]
            await cached.register(username="bench", password=PASSWORD)
            token = (await cached.login(username="bench", password=PASSWORD)).access_token
            principal = await cached.resolve_principal(_scope(authorization=f"Bearer {token}"))
            assert principal is not None
            _record, key = await cached.create_api_key(principal=principal, name="bench")

            cases: dict[str, Callable[[], Awaitable[object]]] = {
                "no credentials (baseline)": lambda: cached.resolve_principal(_scope()),
                "bearer JWT, cached user": lambda: cached.resolve_principal(
                    _scope(authorization=f"Bearer {token}")
                ),
                "X-API-Key, cached": lambda: cached.resolve_principal(_scope(**{"x-api-key": key})),
                "bearer JWT, AUTH_CACHE_TTL_S=0": lambda: uncached.resolve_principal(
                    _scope(authorization=f"Bearer {token}")
                ),
                "X-API-Key, AUTH_CACHE_TTL_S=0": lambda: uncached.resolve_principal(
                    _scope(**{"x-api-key": key})
                ),
            }
            samples: dict[str, list[float]] = {name: [] for name in cases}
            for _ in range(rounds):
                for name, call in cases.items():
                    samples[name].append(await _time_per_call(call, iterations // rounds))

            hasher = PasswordHasher()  # production argon2 parameters
            stored = await hasher.hash(PASSWORD)
            login_ms = []
            for _ in range(logins):
                started = time.perf_counter()
                await hasher.verify(PASSWORD, stored)
                login_ms.append((time.perf_counter() - started) * 1000)
        finally:
            await engine.dispose()

    base = statistics.median(samples["no credentials (baseline)"])
    print(f"{'case':34} {'µs/call':>9} {'x baseline':>11}")
    for name, values in samples.items():
        median = statistics.median(values)
        print(f"{name:34} {median:9.1f} {median / base:11.1f}")
    print(
        f"argon2id verify (t=3, m=64 MiB, p=4): median {statistics.median(login_ms):.1f} ms "
        f"over {logins} logins"
    )


def main(argv: list[str] | None = None) -> int:
    """Parse arguments and run the benchmark."""
    parser = argparse.ArgumentParser(prog="python -m bench.auth_resolve")
    parser.add_argument("--iterations", type=int, default=2_000)
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--logins", type=int, default=10)
    args = parser.parse_args(argv)
    asyncio.run(run(args.iterations, args.logins, args.rounds))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
