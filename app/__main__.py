"""Command line: `python -m app serve | migrate`."""

from __future__ import annotations

import argparse
import asyncio
import sys

from app.config import ConfigurationError, get_settings


async def _migrate() -> None:
    from app.storage.migrate import run_migrations
    from app.storage.sql.engine import create_engine

    engine = create_engine(get_settings())
    try:
        await run_migrations(engine)
    finally:
        await engine.dispose()


def main(argv: list[str] | None = None) -> int:
    """Parse the command and run it; configuration errors exit 2 with the message."""
    parser = argparse.ArgumentParser(prog="python -m app")
    sub = parser.add_subparsers(dest="command", required=True)
    serve = sub.add_parser("serve", help="run the API with uvicorn")
    serve.add_argument("--workers", type=int, default=1)
    serve.add_argument("--reload", action="store_true")
    sub.add_parser("migrate", help="apply database migrations (needed for PostgreSQL)")
    args = parser.parse_args(argv)
    try:
        settings = get_settings()
    except ConfigurationError as exc:
        print(exc, file=sys.stderr)
        return 2
    if args.command == "migrate":
        asyncio.run(_migrate())
        print("database is at the newest migration")
        return 0
    import uvicorn

    uvicorn.run(
        "app.main:create_app",
        factory=True,
        host=settings.host,
        port=settings.port,
        workers=args.workers,
        reload=args.reload,
        access_log=False,
        proxy_headers=False,  # the app reads X-Forwarded-For itself, from TRUSTED_PROXIES only
        log_config=None,
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
