"""Helpers for commerce tests against real uvicorn workers: buyers with real access tokens,
and reading the purchases straight from the server's database."""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
from sqlalchemy import func, insert, select
from sqlalchemy.ext.asyncio import create_async_engine

from app.platform.security import TokenCodec
from app.platform.storage.sql.tables import purchases, users

LIVE_SECRET = "commerce-live-test-secret-with-more-than-32-chars"


def database_url(db: Path | str) -> str:
    """A SQLite file's URL, or `db` itself when it is already a URL (PostgreSQL)."""
    return db if isinstance(db, str) else f"sqlite+aiosqlite:///{db}"


def live_env(db: Path | str, **extra: str) -> dict[str, str]:
    """Environment of a live server whose tokens `seed_users` can mint."""
    return {
        "SECRET_KEY": LIVE_SECRET,
        "DATABASE_URL": database_url(db),
        "ARGON2_TIME_COST": "1",
        "ARGON2_MEMORY_COST": "1024",
        "LOG_LEVEL": "WARNING",
        **extra,
    }


async def seed_users(db: Path | str, count: int, *, role: str = "user") -> list[dict[str, str]]:
    """Insert `count` users into the server's database (no password hashing) and return an
    Authorization header for each, signed as the server signs them."""
    codec = TokenCodec(secret_key=LIVE_SECRET, expire_minutes=60)
    now = datetime.now(UTC)
    rows = []
    for _ in range(count):
        user_id = "usr_" + secrets.token_hex(8)
        rows.append(
            {
                "id": user_id,
                "username": user_id,
                "password_hash": "!unusable",
                "role": role,
                "is_active": True,
                "created_at": now,
                "updated_at": now,
            }
        )
    engine = create_async_engine(database_url(db))
    try:
        async with engine.begin() as conn:
            await conn.execute(insert(users), rows)
    finally:
        await engine.dispose()
    return [
        {"Authorization": f"Bearer {codec.issue(user_id=r['id'], role=role).access_token}"}
        for r in rows
    ]


@dataclass
class SqlSales:
    """What the database says was sold."""

    units: int
    ids: set[str]


async def sql_sales(db: Path | str, product_id: int) -> SqlSales:
    """Σ purchases.quantity and every purchase id of a product, read from the database."""
    engine = create_async_engine(database_url(db))
    try:
        async with engine.connect() as conn:
            total = await conn.execute(
                select(func.coalesce(func.sum(purchases.c.quantity), 0)).where(
                    purchases.c.product_id == product_id
                )
            )
            ids = await conn.execute(
                select(purchases.c.id).where(purchases.c.product_id == product_id)
            )
            return SqlSales(units=int(total.scalar_one()), ids={str(r[0]) for r in ids})
    finally:
        await engine.dispose()


async def create_live_product(
    client: httpx.AsyncClient, admin: dict[str, str], **fields: Any
) -> int:
    """Create a product through the API as `admin`; its id."""
    body = {"name": "Hot item", "price": "9.99", "initial_stock": 100, **fields}
    response = await client.post("/api/products", json=body, headers=admin)
    assert response.status_code == 201, response.text
    return int(response.json()["id"])
