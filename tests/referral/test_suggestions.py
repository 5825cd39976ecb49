"""Suggestions from the eligibility service, and referrals created from them in one step,
with the eligibility service up, down and slow."""

from __future__ import annotations

import httpx
import pytest

from tests.referral.flow import API, FO, MANAGER, new_case, referral
from tests.referral.upstreams import MODAL, PANGAN, ZAKAT, Upstreams
from tests.support import bearer


async def test_suggestions_say_who_qualifies_and_why(
    client: httpx.AsyncClient, upstreams: Upstreams
) -> None:
    case = await new_case(client, upstreams)
    answer = await client.get(f"{API}/cases/{case['id']}/suggestions", headers=FO)
    assert answer.status_code == 200, answer.text
    body = answer.json()
    assert body["checked"] is True and body["problem"] is None
    by_code = {p["program"]: p for p in body["programs"]}
    assert by_code[ZAKAT]["status"] == "eligible" and by_code[ZAKAT]["requires_manager_approval"]
    assert by_code[ZAKAT]["owner"] == "baznas-7303"
    assert by_code[MODAL]["status"] == "unknown"
    other = bearer("front_office", "7303011001", "fo-other", None)
    assert (
        await client.get(f"{API}/cases/{case['id']}/suggestions", headers=other)
    ).status_code == 404


async def test_referrals_from_suggestions_in_one_step(
    client: httpx.AsyncClient, upstreams: Upstreams
) -> None:
    case = await new_case(client, upstreams)
    answer = await client.post(
        f"{API}/cases/{case['id']}/referrals", json={"programs": [ZAKAT, PANGAN]}, headers=FO
    )
    assert answer.status_code == 201, answer.text
    body = answer.json()
    assert body["eligibility_checked"] is True and body["problem"] is None
    made = {r["program"]: r for r in body["referrals"]}
    assert made[ZAKAT]["organization"] == "baznas-7303" and made[ZAKAT]["requires_approval"]
    assert made[PANGAN]["organization"] == "dinsos-7303" and not made[PANGAN]["requires_approval"]
    assert made[ZAKAT]["eligibility_status"] == "eligible" and made[ZAKAT]["status"] == "draft"
    listed = await client.get(f"{API}/cases/{case['id']}/referrals", headers=FO)
    assert {r["id"] for r in listed.json()["items"]} == {r["id"] for r in body["referrals"]}
    for bad, field in (
        ({"programs": []}, "programs"),
        ({"programs": [PANGAN, PANGAN]}, "programs"),
    ):
        refused = await client.post(f"{API}/cases/{case['id']}/referrals", json=bad, headers=FO)
        assert refused.status_code == 422 and refused.json()["errors"][0]["field"] == field
    not_offered = await client.post(
        f"{API}/cases/{case['id']}/referrals", json={"programs": ["NOPE_1"]}, headers=FO
    )
    assert not_offered.status_code == 422
    assert not_offered.json()["errors"][0]["field"] == "programs.0"
    partner = bearer("partner", "7303", "baznas-officer", "baznas-7303")
    assert (
        await client.post(
            f"{API}/cases/{case['id']}/referrals", json={"programs": [PANGAN]}, headers=partner
        )
    ).status_code == 404


@pytest.mark.parametrize("state", ["down", "slow"])
async def test_eligibility_outage_still_creates_referrals_unchecked(
    client: httpx.AsyncClient, upstreams: Upstreams, state: str
) -> None:
    case = await new_case(client, upstreams)
    # One checked referral to PANGAN earlier: its receiver is remembered.
    await referral(client, case, PANGAN)
    getattr(upstreams, state)("eligibility")
    suggestions = await client.get(
        f"{API}/cases/{case['id']}/suggestions", headers={**FO, "Accept-Language": "en"}
    )
    assert suggestions.status_code == 200
    assert suggestions.json()["checked"] is False and suggestions.json()["problem"]["en"]
    nameless = await client.post(
        f"{API}/cases/{case['id']}/referrals", json={"programs": [MODAL]}, headers=FO
    )
    assert nameless.status_code == 422
    assert nameless.json()["errors"][0]["field"] == f"organizations.{MODAL}"
    answer = await client.post(
        f"{API}/cases/{case['id']}/referrals",
        json={"programs": [PANGAN, MODAL], "organizations": {MODAL: "bank-sulselbar"}},
        headers=FO,
    )
    assert answer.status_code == 201, answer.text
    body = answer.json()
    assert body["eligibility_checked"] is False and body["problem"]["id"]
    made = {r["program"]: r for r in body["referrals"]}
    assert made[PANGAN]["organization"] == "dinsos-7303"
    assert made[MODAL]["organization"] == "bank-sulselbar"
    for created in made.values():
        assert created["eligibility_checked"] is False
        assert created["check_problems"]["eligibility"]["en"]
        # Nobody could say whether approval is needed: a manager must approve first.
        assert created["requires_approval"] is True
    approved = await client.post(
        f"{API}/referrals/{made[MODAL]['id']}/approval", json={}, headers=MANAGER
    )
    assert approved.status_code == 200


async def test_a_referral_by_hand_names_a_known_programme(
    client: httpx.AsyncClient, upstreams: Upstreams
) -> None:
    case = await new_case(client, upstreams)
    unknown = await client.post(
        f"{API}/referrals", json={"case_id": case["id"], "program": "NOPE_2"}, headers=FO
    )
    assert unknown.status_code == 422 and unknown.json()["errors"][0]["field"] == "program"
    facilitator = bearer("facilitator", "7303", "tksk", None)
    refused = await client.post(
        f"{API}/referrals", json={"case_id": case["id"], "program": PANGAN}, headers=facilitator
    )
    assert refused.status_code == 409
