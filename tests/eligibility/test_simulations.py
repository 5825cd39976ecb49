"""What-if simulations against a real registry (in-process): gains, losses, villages and
budget for a stored draft and an inline document, from a fresh snapshot or the last
screening's state; nothing is published; bad input and jurisdiction."""

from __future__ import annotations

import asyncio
import uuid
from typing import Any

import httpx
from fastapi import FastAPI

from selaras_eligibility.screening.runner import ScreeningRunner
from tests.eligibility.conftest import Tokens
from tests.eligibility.screening_support import (
    API,
    ON,
    app,
    catalogue,
    fresh_village,
    new_household,
    poor_rules,
    registry,
    registry_app,
    registry_engine,
)

__all__ = ["app", "registry", "registry_app", "registry_engine"]

SIMULATIONS = f"{API}/simulations"


async def draft(client: httpx.AsyncClient, tokens: Tokens, pid: str, max_decile: int) -> int:
    doc = poor_rules("KUBE", max_decile)
    doc["effective_from"] = "2025-03-01"
    added = await client.post(f"{API}/programs/{pid}/rules", json=doc, headers=tokens())
    assert added.status_code == 201, added.text
    return int(added.json()["version"])


async def snapshot_of_catalogue(client: httpx.AsyncClient, tokens: Tokens, pid: str) -> Any:
    program = (await client.get(f"{API}/programs/{pid}", headers=tokens())).json()
    versions = (await client.get(f"{API}/programs/{pid}/rules", headers=tokens())).json()
    return program, versions


async def test_draft_gains_losses_villages_and_budget_without_publishing(
    app: FastAPI, client: httpx.AsyncClient, registry: httpx.AsyncClient, tokens: Tokens
) -> None:
    ids = await catalogue(client, tokens)
    north, south = fresh_village(), fresh_village()
    households = {
        (village, desil): await new_household(
            registry, tokens, village_code=village, desil=desil, programs_received=[]
        )
        for village in (north, south)
        for desil in (2, 5, 7)
    }
    # KUBE is in force with desil <= 5; the draft narrows it to desil <= 2... and is
    # tried on the sub-district holding both villages.
    version = await draft(client, tokens, ids["KUBE"], 2)
    before = await snapshot_of_catalogue(client, tokens, ids["KUBE"])
    headers = tokens(role="manager", jurisdiction="7303")
    response = await client.post(
        SIMULATIONS,
        json={"program": "KUBE", "version": version, "region": north[:6], "on": ON, "fresh": True},
        headers=headers,
    )
    assert response.status_code == 200, response.text
    report = response.json()
    assert report["published"] is False
    assert report["data"]["source"] == "snapshot"
    assert report["in_force"]["version"] == 1 and report["in_force"]["status"] == "published"
    assert report["draft"]["version"] == version and report["draft"]["status"] == "draft"
    ours = {h for h in households.values()}
    lost = {h["household_id"] for h in report["lost"]}
    assert lost == {households[(north, 5)], households[(south, 5)]}
    assert all(h["before"] == "eligible" and h["after"] == "not_eligible" for h in report["lost"])
    assert report["gains"] == 0 and report["gained"] == []
    assert report["losses"] >= 2 and lost <= ours
    villages = {v["village_code"]: v for v in report["villages"]}
    assert villages[north] == {
        "village_code": north,
        "eligible_before": 2,
        "eligible_after": 1,
        "gains": 0,
        "losses": 1,
    }
    budget = report["budget"]
    # 2,000,000 rupiah once per household, no quota: every eligible household is funded.
    assert budget["amount_rupiah"] == 2_000_000 and budget["payments_per_year"] == 1
    assert budget["quota_applied"] is None  # KUBE has no quota
    assert budget["yearly_change"] == -2_000_000 * report["losses"]
    assert budget["yearly_after"] - budget["yearly_before"] == budget["yearly_change"]
    # Nothing was published or changed.
    assert await snapshot_of_catalogue(client, tokens, ids["KUBE"]) == before


async def test_budget_of_a_quota_wider_than_the_region(
    app: FastAPI, client: httpx.AsyncClient, registry: httpx.AsyncClient, tokens: Tokens
) -> None:
    """BAZNAS_MODAL's quota of 2 is for the regency: tried on one village, its eligible
    households are not ranked against it, and all of them count in the budget."""
    ids = await catalogue(client, tokens, quota_area="7303")
    village = fresh_village()
    for desil in (1, 2, 3, 7):
        await new_household(registry, tokens, village_code=village, desil=desil)
    added = await client.post(
        f"{API}/programs/{ids['BAZNAS_MODAL']}/rules",
        json={**poor_rules("BAZNAS_MODAL", 7), "effective_from": "2025-03-01"},
        headers=tokens(),
    )
    assert added.status_code == 201, added.text
    response = await client.post(
        SIMULATIONS,
        json={
            "program": "BAZNAS_MODAL",
            "version": added.json()["version"],
            "region": village,
            "on": ON,
        },
        headers=tokens(role="manager", jurisdiction="7303"),
    )
    assert response.status_code == 200, response.text
    report = response.json()
    assert report["gains"] == 1
    assert report["gained"][0]["after"] == "eligible_quota_not_applied"
    budget = report["budget"]
    assert budget["quota_applied"] is False
    assert (budget["funded_before"], budget["funded_after"]) == (3, 4)
    assert budget["yearly_change"] == 2_000_000


async def test_inline_document_from_the_last_screening_state(
    app: FastAPI, client: httpx.AsyncClient, registry: httpx.AsyncClient, tokens: Tokens
) -> None:
    await catalogue(client, tokens)
    village = fresh_village()
    low = await new_household(registry, tokens, village_code=village, desil=6, programs_received=[])
    await new_household(registry, tokens, village_code=village, desil=9, programs_received=[])
    headers = tokens(role="manager", jurisdiction="7303")
    submitted = await client.post(
        f"{API}/screenings", json={"region": village, "on": ON}, headers=headers
    )
    runner: ScreeningRunner = app.state.screening_runner
    await asyncio.wait_for(runner.ended(uuid.UUID(submitted.json()["id"])).wait(), 30)
    document = poor_rules("KUBE", 6)
    response = await client.post(
        SIMULATIONS,
        json={"program": "KUBE", "document": document, "region": village, "on": ON, "limit": 1},
        headers=headers,
    )
    assert response.status_code == 200, response.text
    report = response.json()
    assert report["data"]["source"] == "screening"
    assert report["draft"]["version"] is None and len(report["draft"]["content_sha256"]) == 64
    assert report["gains"] == 1
    assert report["gained"] == [
        {
            "household_id": low,
            "village_code": village,
            "before": "not_eligible",
            "after": "eligible",
        }
    ]
    assert report["budget"]["yearly_change"] == 2_000_000


async def test_bad_simulations_are_problems(
    client: httpx.AsyncClient, registry: httpx.AsyncClient, tokens: Tokens
) -> None:
    ids = await catalogue(client, tokens)
    version = await draft(client, tokens, ids["KUBE"], 3)
    headers = {**tokens(role="manager", jurisdiction="7303"), "Accept-Language": "en"}
    base = {"program": "KUBE", "region": "730301", "on": ON}
    cases = [
        ({**base, "program": "NOPE", "version": 1}, "program"),
        (base, "version"),
        ({**base, "version": version, "document": poor_rules("KUBE")}, "document"),
        ({**base, "version": 1}, "version"),  # published, not a draft
        ({**base, "version": 99}, "version"),
        ({**base, "version": version, "on": "2025-02-01"}, "on"),  # draft starts in March
        ({**base, "document": poor_rules("ZAKAT")}, "document.program"),
        ({**base, "document": {"program": "KUBE", "criteria": "x"}}, "document.effective_from"),
        ({**base, "version": version, "region": "7"}, "region"),
        ({**base, "version": version, "limit": 5000}, "limit"),
    ]
    for body, field in cases:
        response = await client.post(SIMULATIONS, json=body, headers=headers)
        assert response.status_code == 422, (body, response.text)
        assert response.headers["content-type"] == "application/problem+json"
        assert field in [e["field"] for e in response.json()["errors"]], (field, response.json())
    outside = await client.post(
        SIMULATIONS,
        json={**base, "version": version},
        headers=tokens(role="manager", jurisdiction="7373"),
    )
    assert outside.status_code == 403
    clerk = await client.post(
        SIMULATIONS, json={**base, "version": version}, headers=tokens(role="front_office")
    )
    assert clerk.status_code == 403
