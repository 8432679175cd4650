"""Command line: `python -m app serve | migrate | create-admin`."""

from __future__ import annotations

import argparse
import asyncio
import sys

from app.config import ConfigurationError, get_settings


async def _migrate() -> None:
    from app.storage.migrate import run_migrations
    from app.storage.sql.engine import create_engine

    # Migrations (index builds on big tables) may take longer than any request statement.
    settings = get_settings().model_copy(update={"database_statement_timeout_s": 0})
    engine = create_engine(settings)
    try:
        await run_migrations(engine)
    finally:
        await engine.dispose()


async def _create_admin(username: str, password: str) -> str:
    from app.services.auth import AuthService
    from app.storage.migrate import is_up_to_date, run_migrations
    from app.storage.sql.api_keys import SqlApiKeyRepository
    from app.storage.sql.engine import create_engine
    from app.storage.sql.users import SqlUserRepository

    settings = get_settings()
    engine = create_engine(settings)
    try:
        if settings.is_sqlite and settings.run_migrations_on_startup:
            await run_migrations(engine)
        elif not await is_up_to_date(engine):
            raise ConfigurationError("the database is not migrated: run `python -m app migrate`")
        auth = AuthService.from_settings(
            settings, users=SqlUserRepository(engine), api_keys=SqlApiKeyRepository(engine)
        )
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


def main(argv: list[str] | None = None) -> int:
    """Parse the command and run it; configuration errors exit 2 with the message."""
    parser = argparse.ArgumentParser(prog="python -m app")
    sub = parser.add_subparsers(dest="command", required=True)
    serve = sub.add_parser("serve", help="run the API with uvicorn")
    serve.add_argument("--workers", type=int, default=1)
    serve.add_argument("--reload", action="store_true")
    sub.add_parser("migrate", help="apply database migrations (needed for PostgreSQL)")
    admin = sub.add_parser("create-admin", help="create an admin, or make a user admin")
    admin.add_argument("--username", required=True)
    admin.add_argument("--password-stdin", action="store_true", help="read the password from stdin")
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
    if args.command == "create-admin":
        from app.errors import AppError

        try:
            password = _read_admin_password(args.password_stdin)
            print(asyncio.run(_create_admin(args.username, password)))
        except (ConfigurationError, AppError) as exc:
            print(f"create-admin: {exc}", file=sys.stderr)
            return 2
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
        # Idle keep-alive connections are closed after this (a slow body is cut off by
        # BODY_READ_TIMEOUT_S in the edge).
        timeout_keep_alive=settings.keep_alive_timeout_s,
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
