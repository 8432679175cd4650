"""Shared helpers of the commerce unit tests (callers named by a test header)."""

from __future__ import annotations

from typing import Any

import httpx
from starlette.types import Scope

from app.platform.principal import Principal

TEST_USER_HEADER = "x-test-user"


async def header_principal(scope: Scope) -> Principal | None:
    """`X-Test-User: <id>[:admin]` stands in for a bearer token in unit tests."""
    for name, value in scope.get("headers") or ():
        if name == TEST_USER_HEADER.encode():
            user_id, _, role = value.decode().partition(":")
            return Principal(
                user_id=user_id,
                username=user_id,
                role="admin" if role == "admin" else "user",
                auth_method="jwt",
            )
    return None


def user(user_id: str) -> dict[str, str]:
    """Headers of a normal user."""
    return {TEST_USER_HEADER: user_id}


ADMIN = {TEST_USER_HEADER: "root:admin"}


async def create_product(client: httpx.AsyncClient, **fields: Any) -> dict[str, Any]:
    """Create a product as the admin; its JSON."""
    body = {"name": "Limited sneakers", "price": "19.99", "initial_stock": 10, **fields}
    response = await client.post("/api/products", json=body, headers=ADMIN)
    assert response.status_code == 201, response.text
    created: dict[str, Any] = response.json()
    return created
