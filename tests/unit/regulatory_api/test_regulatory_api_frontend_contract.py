"""The real frontend's exact request shapes, in-process (the fast variant of the suite in
tests/integration/regulatory_api/test_regulatory_api_frontend_contract.py)."""

from __future__ import annotations

from typing import Any

import httpx
import pytest
from fastapi import FastAPI

from tests.support.frontend_contract import DEVICES, check_flow, placeholder_category, run_flow

pytestmark = pytest.mark.unit

Reg = tuple[FastAPI, httpx.AsyncClient]


def _poster(client: httpx.AsyncClient) -> Any:
    async def post(path: str, body: dict[str, Any]) -> tuple[int, Any]:
        r = await client.post(path, json=body, headers={"X-Request-ID": "req_1733350000000_1"})
        return r.status_code, r.json()

    return post


@pytest.mark.parametrize(("concept", "confirmation", "route", "code"), DEVICES)
async def test_frontend_flow_plans_for_the_classified_device(
    reg: Reg, concept: str, confirmation: str, route: str, code: str | None
) -> None:
    _app, client = reg
    refine = (
        "IEC 62443-4-1 추가"
        if any("\uac00" <= ch <= "\ud7a3" for ch in concept)
        else ("add IEC 62443-4-1")
    )
    flow = await run_flow(_poster(client), concept, confirmation, refine)
    check_flow(flow, route, code)
    # stored state: the plan and its refined version keep the device
    pid = flow.standards["plans"][1]["id"]
    history = (await client.get(f"/api/plans/{pid}/history")).json()["versions"]
    assert [v["version"] for v in history] == [1, 2]
    assert {v["plan"]["device"]["name"] for v in history} == {flow.classification["category"]}


async def test_regenerate_repeats_the_same_call_with_the_same_device(reg: Reg) -> None:
    _app, client = reg
    cls = (await client.post("/api/classify", json={"concept": "인슐린 펌프"})).json()[
        "classification"
    ]
    body = {
        "classification": cls,
        "category": placeholder_category(cls),
        "purposeMechanism": {"intendedUse": "x"},
    }
    first = (await client.post("/api/standards", json=body)).json()
    again = (await client.post("/api/standards", json=body)).json()
    assert first["device"] == again["device"] and first["device"]["code"] == "HW-INSULIN-PUMP"
    assert {p["id"] for p in first["plans"]}.isdisjoint({p["id"] for p in again["plans"]})


async def test_unknown_modification_stores_no_version(reg: Reg) -> None:
    _app, client = reg
    cls = (await client.post("/api/classify", json={"concept": "coronary stent"})).json()[
        "classification"
    ]
    body = {"classification": cls, "category": placeholder_category(cls)}
    pid = (await client.post("/api/standards", json=body)).json()["plans"][0]["id"]
    r = await client.post(
        "/api/refine", json={"planId": pid, "modifications": "make the logo purple"}
    )
    assert r.status_code == 200
    answer = r.json()
    assert answer["changed"] is False and answer["understood"] == []
    assert answer["plan"]["version"] == 1 and "nothing was changed" in answer["reasons"][0]
    history = (await client.get(f"/api/plans/{pid}/history")).json()["versions"]
    assert [v["version"] for v in history] == [1]


async def test_missing_classification_is_reclassified_and_said(reg: Reg) -> None:
    _app, client = reg
    body = {
        "category": {
            "code": "A41010.01",
            "name": "digital blood pressure monitor",
            "description": "의료기기 품목",
            "regulatoryPath": "인허가 필요",
        },
        "purposeMechanism": {"intendedUse": "measures blood pressure"},
    }
    r = await client.post("/api/standards", json=body)
    assert r.status_code == 200, r.text
    answer = r.json()
    assert answer["classificationSource"] == "reclassified"
    assert answer["device"]["code"] == "HW-BP-MONITOR" and answer["classificationReason"]
    stored = (await client.get(f"/api/plans/{answer['plans'][0]['id']}")).json()
    assert stored["classificationSource"] == "reclassified"
