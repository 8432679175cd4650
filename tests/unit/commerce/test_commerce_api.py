"""Products, inventory and purchases over HTTP on the embedded default (SQL stock strategy)."""

from __future__ import annotations

import asyncio
import json
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest

from tests.unit.commerce.shop_helpers import ADMIN, create_product, user

pytestmark = pytest.mark.unit


def assert_problem(
    response: httpx.Response, status: int, code: str | None = None
) -> dict[str, Any]:
    assert response.status_code == status, response.text
    assert response.headers["content-type"].startswith("application/problem+json")
    body: dict[str, Any] = response.json()
    assert body["status"] == status
    if code is not None:
        assert body["code"] == code
    return body


async def stock_of(client: httpx.AsyncClient, product_id: int) -> int:
    response = await client.get(f"/api/inventory/{product_id}")
    assert response.status_code == 200, response.text
    return int(response.json()["stock"])


async def test_create_product_returns_money_as_two_place_string(shop: httpx.AsyncClient) -> None:
    product = await create_product(shop, price=5, initial_stock=3, per_user_limit=2)
    assert product["price"] == "5.00"
    assert product["initial_stock"] == 3
    assert product["per_user_limit"] == 2
    read = await shop.get(f"/api/products/{product['id']}")
    assert read.json() == product
    listed = await shop.get("/api/products")
    assert [p["id"] for p in listed.json()["items"]] == [product["id"]]
    inventory = await shop.get(f"/api/inventory/{product['id']}")
    assert inventory.json() == {
        "product_id": product["id"],
        "stock": 3,
        "initial_stock": 3,
        "restocked": 0,
        "sold": 0,
        "reserved": 0,
    }


BAD_PRODUCT_BODIES: list[dict[str, Any]] = [
    {"name": "x", "price": "0", "initial_stock": 1},
    {"name": "x", "price": "-1.00", "initial_stock": 1},
    {"name": "x", "price": "1.999", "initial_stock": 1},
    {"name": "x", "price": "12345678901.00", "initial_stock": 1},
    {"name": "x", "price": True, "initial_stock": 1},
    {"name": "x", "price": "abc", "initial_stock": 1},
    {"name": "x", "price": "1.00", "initial_stock": -1},
    {"name": "x", "price": "1.00", "initial_stock": "5"},
    {"name": "x", "price": "1.00", "initial_stock": 10**12},
    {"name": "   ", "price": "1.00", "initial_stock": 1},
    {"name": "x" * 201, "price": "1.00", "initial_stock": 1},
    {"price": "1.00", "initial_stock": 1},
    {"name": "x", "price": "1.00", "initial_stock": 1, "per_user_limit": 0},
    {"name": "x", "price": "1.00", "initial_stock": 1, "stock": 5},
    {
        "name": "x",
        "price": "1.00",
        "initial_stock": 1,
        "starts_at": "2026-01-02T00:00:00Z",
        "ends_at": "2026-01-01T00:00:00Z",
    },
]


async def test_bad_product_bodies_are_400_and_write_nothing(shop: httpx.AsyncClient) -> None:
    for body in BAD_PRODUCT_BODIES:
        response = await shop.post("/api/products", json=body, headers=ADMIN)
        assert_problem(response, 400, "VALIDATION_ERROR")
    assert (await shop.get("/api/products")).json()["items"] == []


async def test_only_admins_create_products(shop: httpx.AsyncClient) -> None:
    body = {"name": "x", "price": "1.00", "initial_stock": 1}
    assert_problem(await shop.post("/api/products", json=body), 401, "AUTHENTICATION_REQUIRED")
    assert_problem(
        await shop.post("/api/products", json=body, headers=user("u1")), 403, "PERMISSION_DENIED"
    )
    assert (await shop.get("/api/products")).json()["items"] == []


async def test_unicode_name_round_trips(shop: httpx.AsyncClient) -> None:
    product = await create_product(shop, name="한정판 운동화 🎉")
    assert (await shop.get(f"/api/products/{product['id']}")).json()["name"] == "한정판 운동화 🎉"


async def test_purchase_sells_and_returns_receipt(shop: httpx.AsyncClient) -> None:
    product = await create_product(shop, price="19.99", initial_stock=5)
    response = await shop.post(
        f"/api/purchase/{product['id']}", json={"quantity": 2}, headers=user("alice")
    )
    assert response.status_code == 201, response.text
    receipt = response.json()
    assert receipt["product_id"] == product["id"]
    assert receipt["quantity"] == 2
    assert receipt["total_price"] == "39.98"
    assert receipt["remaining_stock"] == 3
    assert receipt["purchase_id"].startswith("pur_")
    datetime.fromisoformat(receipt["purchased_at"])
    assert await stock_of(shop, product["id"]) == 3
    mine = await shop.get("/api/purchases", headers=user("alice"))
    assert [p["purchase_id"] for p in mine.json()["items"]] == [receipt["purchase_id"]]
    one = await shop.get(f"/api/purchases/{receipt['purchase_id']}", headers=user("alice"))
    assert one.json()["user_id"] == "alice"
    assert one.json()["total_price"] == "39.98"


BAD_PURCHASE_BODIES: list[tuple[dict[str, Any] | None, bytes | None]] = [
    ({"quantity": 0}, None),
    ({"quantity": -1}, None),
    ({"quantity": 101}, None),
    ({"quantity": 10**30}, None),
    ({"quantity": "1"}, None),
    ({"quantity": 1.5}, None),
    ({"quantity": True}, None),
    ({"quantity": None}, None),
    ({}, None),
    ({"quantity": 1, "price": "0.01"}, None),
    (None, b"not json"),
    (None, b""),
    (None, b"[1]"),
]


async def test_bad_purchase_input_is_a_4xx_problem_and_sells_nothing(
    shop: httpx.AsyncClient,
) -> None:
    product = await create_product(shop, initial_stock=5)
    headers = {**user("bob"), "content-type": "application/json"}
    url = f"/api/purchase/{product['id']}"
    for body, content in BAD_PURCHASE_BODIES:
        if body is not None:
            response = await shop.post(url, json=body, headers=headers)
        else:
            response = await shop.post(url, content=content, headers=headers)
        assert 400 <= response.status_code < 500, (body, content, response.text)
        assert_problem(response, response.status_code)
    text_body = await shop.post(
        url, content=b"quantity=1", headers={**user("bob"), "content-type": "text/plain"}
    )
    assert_problem(text_body, 415)
    assert await stock_of(shop, product["id"]) == 5
    assert (await shop.get("/api/purchases", headers=user("bob"))).json()["items"] == []


BAD_PRODUCT_PATHS = [
    ("/api/purchase/999", 404, "PRODUCT_NOT_FOUND"),
    ("/api/purchase/0", 400, "VALIDATION_ERROR"),
    ("/api/purchase/-5", 400, "VALIDATION_ERROR"),
    ("/api/purchase/abc", 400, "VALIDATION_ERROR"),
    ("/api/purchase/99999999999999999999", 400, "VALIDATION_ERROR"),
]


async def test_unknown_or_malformed_product_ids(shop: httpx.AsyncClient) -> None:
    for path, status, code in BAD_PRODUCT_PATHS:
        response = await shop.post(path, json={"quantity": 1}, headers=user("bob"))
        assert_problem(response, status, code)
        assert_problem(await shop.get(path.replace("purchase", "inventory")), status)


async def test_purchase_needs_authentication(shop: httpx.AsyncClient) -> None:
    product = await create_product(shop)
    assert_problem(
        await shop.post(f"/api/purchase/{product['id']}", json={"quantity": 1}),
        401,
        "AUTHENTICATION_REQUIRED",
    )


async def test_sold_out_answers_insufficient_stock_with_available(shop: httpx.AsyncClient) -> None:
    product = await create_product(shop, initial_stock=2)
    url = f"/api/purchase/{product['id']}"
    body = assert_problem(
        await shop.post(url, json={"quantity": 3}, headers=user("a")), 400, "INSUFFICIENT_STOCK"
    )
    assert body["details"] == {"available": 2, "requested": 3}
    assert (await shop.post(url, json={"quantity": 2}, headers=user("a"))).status_code == 201
    assert_problem(
        await shop.post(url, json={"quantity": 1}, headers=user("b")), 400, "INSUFFICIENT_STOCK"
    )
    assert await stock_of(shop, product["id"]) == 0


async def test_per_user_limit_is_enforced_across_purchases(shop: httpx.AsyncClient) -> None:
    product = await create_product(shop, initial_stock=10, per_user_limit=2)
    url = f"/api/purchase/{product['id']}"
    assert (await shop.post(url, json={"quantity": 1}, headers=user("a"))).status_code == 201
    body = assert_problem(
        await shop.post(url, json={"quantity": 2}, headers=user("a")), 409, "PURCHASE_LIMIT_REACHED"
    )
    assert body["details"]["already_bought"] == 1
    assert (await shop.post(url, json={"quantity": 1}, headers=user("a"))).status_code == 201
    assert (await shop.post(url, json={"quantity": 2}, headers=user("b"))).status_code == 201
    assert await stock_of(shop, product["id"]) == 6


async def test_sale_window_is_enforced(shop: httpx.AsyncClient) -> None:
    now = datetime.now(UTC)
    later = await create_product(
        shop,
        starts_at=(now + timedelta(hours=1)).isoformat(),
        ends_at=(now + timedelta(hours=2)).isoformat(),
    )
    over = await create_product(
        shop,
        starts_at=(now - timedelta(hours=2)).isoformat(),
        ends_at=(now - timedelta(hours=1)).isoformat(),
    )
    for product in (later, over):
        assert_problem(
            await shop.post(
                f"/api/purchase/{product['id']}", json={"quantity": 1}, headers=user("a")
            ),
            409,
            "SALE_NOT_ACTIVE",
        )
        assert await stock_of(shop, product["id"]) == 10


async def test_concurrent_buyers_never_oversell(shop: httpx.AsyncClient) -> None:
    product = await create_product(shop, initial_stock=7)
    url = f"/api/purchase/{product['id']}"
    responses = await asyncio.gather(
        *(shop.post(url, json={"quantity": 1}, headers=user(f"u{i}")) for i in range(40))
    )
    codes = sorted(r.status_code for r in responses)
    assert codes.count(201) == 7
    assert codes.count(400) == 33
    assert await stock_of(shop, product["id"]) == 0
    everyone = await shop.get(f"/api/purchases?product_id={product['id']}&limit=200", headers=ADMIN)
    assert sum(p["quantity"] for p in everyone.json()["items"]) == 7


async def test_idempotency_key_replays_rejects_other_body_and_bad_keys(
    shop: httpx.AsyncClient,
) -> None:
    product = await create_product(shop, initial_stock=5)
    url = f"/api/purchase/{product['id']}"
    headers = {**user("a"), "Idempotency-Key": "order-1"}
    first = await shop.post(url, json={"quantity": 1}, headers=headers)
    again = await shop.post(url, json={"quantity": 1}, headers=headers)
    assert first.status_code == again.status_code == 201
    assert "idempotent-replayed" not in first.headers
    assert again.headers["idempotent-replayed"] == "true"
    assert again.json() == first.json()
    assert_problem(
        await shop.post(url, json={"quantity": 2}, headers=headers), 422, "IDEMPOTENCY_KEY_REUSED"
    )
    # Keys are per user: someone else's identical key is a different purchase.
    other = await shop.post(
        url, json={"quantity": 1}, headers={**user("b"), "Idempotency-Key": "order-1"}
    )
    assert other.status_code == 201
    assert other.json()["purchase_id"] != first.json()["purchase_id"]
    for bad in (b"", b" ", b"x" * 256, "키".encode(), b"a b"):
        response = await shop.post(
            url,
            json={"quantity": 1},
            headers={**user("a"), "Idempotency-Key": bad},  # type: ignore[dict-item]
        )
        assert_problem(response, 400, "INVALID_IDEMPOTENCY_KEY")
    assert await stock_of(shop, product["id"]) == 3


async def test_concurrent_same_key_buys_once(shop: httpx.AsyncClient) -> None:
    product = await create_product(shop, initial_stock=50)
    url = f"/api/purchase/{product['id']}"
    headers = {**user("a"), "Idempotency-Key": "same"}
    responses = await asyncio.gather(
        *(shop.post(url, json={"quantity": 1}, headers=headers) for _ in range(20))
    )
    assert {r.status_code for r in responses} <= {201, 409}
    ids = {r.json()["purchase_id"] for r in responses if r.status_code == 201}
    assert len(ids) == 1
    for r in responses:
        if r.status_code == 409:
            assert r.json()["code"] == "IDEMPOTENCY_IN_FLIGHT"
    assert await stock_of(shop, product["id"]) == 49


async def test_other_users_purchases_are_404_and_listing_is_scoped(
    shop: httpx.AsyncClient,
) -> None:
    product = await create_product(shop)
    url = f"/api/purchase/{product['id']}"
    bought = (await shop.post(url, json={"quantity": 1}, headers=user("alice"))).json()
    await shop.post(url, json={"quantity": 1}, headers=user("bob"))
    assert_problem(
        await shop.get(f"/api/purchases/{bought['purchase_id']}", headers=user("bob")),
        404,
        "PURCHASE_NOT_FOUND",
    )
    assert_problem(
        await shop.get("/api/purchases/pur_nope", headers=user("alice")), 404, "PURCHASE_NOT_FOUND"
    )
    assert_problem(
        await shop.get("/api/purchases?user_id=alice", headers=user("bob")),
        403,
        "PERMISSION_DENIED",
    )
    bobs = await shop.get("/api/purchases", headers=user("bob"))
    assert [p["user_id"] for p in bobs.json()["items"]] == ["bob"]
    admin_view = await shop.get("/api/purchases?user_id=alice", headers=ADMIN)
    assert [p["purchase_id"] for p in admin_view.json()["items"]] == [bought["purchase_id"]]
    assert (
        await shop.get(f"/api/purchases/{bought['purchase_id']}", headers=ADMIN)
    ).status_code == 200
    assert_problem(await shop.get("/api/purchases"), 401)


async def test_inventory_many_and_bad_ids(shop: httpx.AsyncClient) -> None:
    a = await create_product(shop, initial_stock=3)
    b = await create_product(shop, initial_stock=4)
    response = await shop.get(f"/api/inventory?ids={b['id']},{a['id']},999")
    assert response.status_code == 200
    body = response.json()
    assert [(i["product_id"], i["stock"]) for i in body["items"]] == [(b["id"], 4), (a["id"], 3)]
    assert body["not_found"] == [999]
    for bad in ("", "a,b", "1,-2", "0", ",".join(["1"] * 101), "1.5", "٣"):
        assert_problem(
            await shop.get("/api/inventory", params={"ids": bad}), 400, "VALIDATION_ERROR"
        )
    assert_problem(await shop.get("/api/inventory"), 400, "VALIDATION_ERROR")
    assert_problem(await shop.get("/api/inventory/999"), 404, "PRODUCT_NOT_FOUND")


async def test_restock_events_and_reconcile_on_sql_strategy(shop: httpx.AsyncClient) -> None:
    product = await create_product(shop, initial_stock=1)
    pid = product["id"]
    await shop.post(f"/api/purchase/{pid}", json={"quantity": 1}, headers=user("a"))
    assert_problem(
        await shop.post(f"/api/inventory/{pid}/restock", json={"quantity": 5}, headers=user("a")),
        403,
    )
    for bad in ({"quantity": 0}, {"quantity": -3}, {"quantity": "5"}, {}):
        assert_problem(
            await shop.post(f"/api/inventory/{pid}/restock", json=bad, headers=ADMIN), 400
        )
    assert_problem(
        await shop.post("/api/inventory/999/restock", json={"quantity": 1}, headers=ADMIN), 404
    )
    restocked = await shop.post(
        f"/api/inventory/{pid}/restock", json={"quantity": 5}, headers=ADMIN
    )
    assert restocked.json() == {
        "product_id": pid,
        "stock": 5,
        "initial_stock": 1,
        "restocked": 5,
        "sold": 1,
        "reserved": 0,
    }
    events = await shop.get(f"/api/inventory/events?product_id={pid}", headers=ADMIN)
    assert [(e["kind"], e["delta"], e["stock_after"]) for e in events.json()["items"]] == [
        ("restock", 5, 5),
        ("purchase", -1, 0),
    ]
    assert_problem(await shop.get("/api/inventory/events", headers=user("a")), 403)
    report = await shop.post("/api/inventory/reconcile", headers=ADMIN)
    assert report.status_code == 200
    assert report.json()["strategy"] == "sql"
    assert report.json()["drifted"] == 0
    assert report.json()["products"][0]["expected"] == 5
    assert_problem(await shop.post("/api/inventory/reconcile", headers=user("a")), 403)
    assert_problem(await shop.post("/api/inventory/reconcile?product_id=999", headers=ADMIN), 404)


def _samples(text: str) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    from prometheus_client.parser import text_string_to_metric_families

    return {
        (s.name, tuple(sorted(s.labels.items()))): s.value
        for family in text_string_to_metric_families(text)
        for s in family.samples
        if s.name.startswith("commerce_")
    }


async def test_purchase_outcomes_units_and_batches_reach_metrics(shop: httpx.AsyncClient) -> None:
    """The counters are tallied in-process and written in the background; /metrics is exact."""
    product = await create_product(shop, initial_stock=2)
    url = f"/api/purchase/{product['id']}"
    before = _samples((await shop.get("/metrics")).text)
    assert (await shop.post(url, json={"quantity": 2}, headers=user("m1"))).status_code == 201
    sold_out = await shop.post(url, json={"quantity": 1}, headers=user("m2"))
    assert_problem(sold_out, 400, "INSUFFICIENT_STOCK")
    after = _samples((await shop.get("/metrics")).text)

    def delta(name: str, **labels: str) -> float:
        key = (name, tuple(sorted(labels.items())))
        return after.get(key, 0.0) - before.get(key, 0.0)

    assert delta("commerce_purchases_total", strategy="sql", outcome="sold") == 1
    assert delta("commerce_purchases_total", strategy="sql", outcome="insufficient_stock") == 1
    assert delta("commerce_units_sold_total", strategy="sql") == 2
    assert delta("commerce_commit_batch_size_count", batch="sql_purchases") == 2


async def test_an_over_long_idempotency_key_is_a_400_and_sells_nothing(
    shop: httpx.AsyncClient,
) -> None:
    product = await create_product(shop, initial_stock=3)
    url = f"/api/purchase/{product['id']}"
    headers = {**user("long"), "Idempotency-Key": "k" * 1001}
    body = assert_problem(
        await shop.post(url, json={"quantity": 1}, headers=headers), 400, "VALIDATION_ERROR"
    )
    assert body["details"] == [
        {
            "field": "Idempotency-Key",
            "message": "String should have at most 1000 characters",
            "type": "string_too_long",
        }
    ]
    assert "k" * 50 not in json.dumps(body)  # the key is not echoed
    assert await stock_of(shop, product["id"]) == 3
    # Under the header's bound, the service's own rule (1-255 printable characters) decides.
    service_bound = {**user("long"), "Idempotency-Key": "k" * 1000}
    assert_problem(
        await shop.post(url, json={"quantity": 1}, headers=service_bound),
        400,
        "INVALID_IDEMPOTENCY_KEY",
    )
    longest = {**user("long"), "Idempotency-Key": "k" * 255}
    assert (await shop.post(url, json={"quantity": 1}, headers=longest)).status_code == 201


async def test_openapi_declares_the_purchase_body_header_and_receipt(
    shop: httpx.AsyncClient,
) -> None:
    """The route reads its Idempotency-Key by hand; Swagger UI must still offer it."""
    spec = (await shop.get("/openapi.json")).json()
    operation = spec["paths"]["/api/purchase/{product_id}"]["post"]
    params = {(p["in"], p["name"]): p for p in operation["parameters"]}
    assert set(params) == {("path", "product_id"), ("header", "Idempotency-Key")}
    header = params[("header", "Idempotency-Key")]
    assert header["required"] is False
    assert {"type": "string", "maxLength": 1000} in header["schema"]["anyOf"]
    body_schema = operation["requestBody"]["content"]["application/json"]["schema"]
    assert body_schema == {"$ref": "#/components/schemas/PurchaseCreate"}
    receipt = operation["responses"]["201"]["content"]["application/json"]["schema"]
    assert receipt == {"$ref": "#/components/schemas/PurchaseReceiptRead"}
    assert "PurchaseCreate" in spec["components"]["schemas"]
