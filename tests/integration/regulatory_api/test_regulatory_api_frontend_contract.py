"""The real frontend's exact request shapes over real HTTP (uvicorn on a port): CORS from
its dev origin, its X-Request-ID header, and plans that name the classified device."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import httpx
import pytest

from tests.support.frontend_contract import DEVICES, check_flow, run_flow
from tests.support.servers import LiveServer

pytestmark = [pytest.mark.integration, pytest.mark.slow]

ORIGIN = "http://localhost:3000"


async def test_frontend_contract_over_http(live_server_factory: Callable[..., LiveServer]) -> None:
    server = live_server_factory(CORS_ORIGINS=ORIGIN)
    counter = iter(range(1, 10_000))
    async with httpx.AsyncClient(base_url=server.url, timeout=30) as client:
        preflight = await client.options(
            "/api/standards",
            headers={
                "Origin": ORIGIN,
                "Access-Control-Request-Method": "POST",
                "Access-Control-Request-Headers": "content-type,x-request-id",
            },
        )
        assert preflight.status_code == 200
        assert preflight.headers["access-control-allow-origin"] == ORIGIN

        async def post(path: str, body: dict[str, Any]) -> tuple[int, Any]:
            request_id = f"req_1733350000000_{next(counter)}"
            r = await client.post(
                path,
                json=body,
                headers={"Origin": ORIGIN, "X-Request-ID": request_id},
            )
            assert r.headers["x-request-id"] == request_id
            assert r.headers["access-control-allow-origin"] == ORIGIN
            return r.status_code, r.json()

        for concept, confirmation, route, code in DEVICES:
            korean = any("\uac00" <= ch <= "\ud7a3" for ch in concept)
            refine = "IEC 62443-4-1 추가" if korean else "add IEC 62443-4-1"
            flow = await run_flow(post, concept, confirmation, refine)
            check_flow(flow, route, code)
            pid = flow.standards["plans"][1]["id"]
            stored = (await client.get(f"/api/plans/{pid}")).json()
            assert stored["version"] == 2
            assert stored["device"]["name"] == flow.classification["category"]
