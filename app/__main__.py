"""Command line: `python -m app serve | migrate | create-admin`."""

from __future__ import annotations

import argparse
import asyncio
import sys

from app.platform.config import ConfigurationError, get_settings


async def _migrate() -> None:
    from app.platform.storage.migrate import run_migrations
    from app.platform.storage.sql.engine import create_engine

    # Migrations (index builds on big tables) may take longer than any request statement.
    settings = get_settings().model_copy(update={"database_statement_timeout_s": 0})
    engine = create_engine(settings)
    try:
        await run_migrations(engine)
    finally:
        await engine.dispose()


async def _create_admin(username: str, password: str) -> str:
    from app.accounts.factory import build_accounts
    from app.platform.storage.connections import Connections
    from app.platform.storage.migrate import is_up_to_date, run_migrations
    from app.platform.storage.sql.engine import create_engine

    settings = get_settings()
    engine = create_engine(settings)
    try:
        if settings.is_sqlite and settings.run_migrations_on_startup:
            await run_migrations(engine)
        elif not await is_up_to_date(engine):
            raise ConfigurationError("the database is not migrated: run `python -m app migrate`")
        auth = build_accounts(settings, Connections(engine=engine, redis=None))
        user, action = await auth.ensure_admin(username=username, password=password)
        return f"admin '{user.username}' {action} (id {user.id})"
    finally:
        await engine.dispose()


def _read_admin_password(from_stdin: bool) -> str:
    if from_stdin:
        return sys.stdin.readline().rstrip("\r\n")
    import getpass

    password = getpass.getpass("Password for the admin: ")
    if getpass.getpass("Repeat it: ") != password:
        raise ConfigurationError("the two passwords differ")
    return password


def build_parser() -> argparse.ArgumentParser:
    """The command line's parser: every command and option carries its --help text."""
    parser = argparse.ArgumentParser(
        prog="python -m app",
        description="RAiDesk server. Settings come from the environment (and .env); "
        "see docs/configuration.md.",
    )
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    serve = sub.add_parser(
        "serve",
        help="run the API with uvicorn",
        description="Serve the API with uvicorn on HOST:PORT (environment, default "
        "127.0.0.1:8000). Proxy headers are read by the app itself, from TRUSTED_PROXIES only.",
    )
    serve.add_argument(
        "--workers",
        type=int,
        default=1,
        metavar="N",
        help="number of worker processes (default: 1); more than one needs REDIS_URL (shared "
        "state) and PROMETHEUS_MULTIPROC_DIR (metrics of every worker)",
    )
    serve.add_argument(
        "--reload",
        action="store_true",
        help="restart the server when a source file changes (development only; one worker)",
    )
    sub.add_parser(
        "migrate",
        help="apply database migrations (needed for PostgreSQL)",
        description="Bring the database at DATABASE_URL to the newest migration.",
    )
    admin = sub.add_parser(
        "create-admin",
        help="create an admin, or make a user admin",
        description="Make USERNAME an active admin with the given password: creates the user, "
        "or promotes and re-activates an existing one. Asks for the password twice unless "
        "--password-stdin is given.",
    )
    admin.add_argument("--username", required=True, help="the admin's username (required)")
    admin.add_argument("--password-stdin", action="store_true", help="read the password from stdin")
    return parser


def main(argv: list[str] | None = None) -> int:
    """Parse the command and run it; configuration errors exit 2 with the message."""
    args = build_parser().parse_args(argv)
    try:
        settings = get_settings()
    except ConfigurationError as exc:
        print(exc, file=sys.stderr)
        return 2
    if args.command == "migrate":
        asyncio.run(_migrate())
        print("database is at the newest migration")
        return 0
    if args.command == "create-admin":
        from app.platform.errors import AppError

        try:
            password = _read_admin_password(args.password_stdin)
            print(asyncio.run(_create_admin(args.username, password)))
        except (ConfigurationError, AppError) as exc:
            print(f"create-admin: {exc}", file=sys.stderr)
            return 2
        return 0
    import uvicorn

    from app.platform.http_protocol import HeaderDeadlineProtocol

    uvicorn.run(
        "app.main:create_served_app",
        factory=True,
        host=settings.host,
        port=settings.port,
        workers=args.workers,
        reload=args.reload,
        access_log=False,
        proxy_headers=False,  # the app reads X-Forwarded-For itself, from TRUSTED_PROXIES only
        log_config=None,
        # Idle keep-alive connections are closed after this (a slow body is cut off by
        # BODY_READ_TIMEOUT_S in the edge, slow headers by HEADER_READ_TIMEOUT_S here).
        timeout_keep_alive=settings.keep_alive_timeout_s,
        http=HeaderDeadlineProtocol,
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
