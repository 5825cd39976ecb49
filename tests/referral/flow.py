"""Helpers of the referral tests: a case for a real registry household, referrals driven
through their states."""

from __future__ import annotations

import uuid
from typing import Any

import httpx

from tests.referral.upstreams import PANGAN, Upstreams
from tests.support import bearer

API = "/api/v1"
FO = bearer("front_office", "7303", "fo-7303", None)
MANAGER = bearer("manager", "7303", "mgr-7303", None)
BAZNAS = bearer("partner", "7303", "baznas-officer", "baznas-7303")
DINSOS = bearer("partner", "7303", "dinsos-officer", "dinsos-7303")
ADMIN = bearer("admin", "7303", "admin-7303", None)
OUTCOME = {"service_delivered": "Bantuan pangan", "amount_rupiah": 600_000, "people": 4}


def case_body(household: dict[str, Any], **overrides: Any) -> dict[str, Any]:
    """A valid case for a registry household."""
    return {
        "household_id": household["id"],
        "member_id": household["members"][0]["id"],
        "village_code": household["village_code"],
        "channel": "puskesos_walk_in",
        "type": "service_request",
        "sector": "social",
        "ppks": ["fakir_miskin"],
        "description": "Keluarga membutuhkan bantuan pangan",
        "priority": "normal",
        "consent": {
            "scope": ["registry_check", "referral"],
            "given_at": "2026-11-20",
            "given_by": "Kepala keluarga",
        },
        **overrides,
    }


async def new_case(
    client: httpx.AsyncClient,
    upstreams: Upstreams,
    headers: dict[str, str] = FO,
    **overrides: Any,
) -> dict[str, Any]:
    """A case registered by `headers` for a new registry household."""
    household = await upstreams.household()
    created = await client.post(
        f"{API}/cases", json=case_body(household, **overrides), headers=headers
    )
    assert created.status_code == 201, created.text
    case: dict[str, Any] = created.json()
    return case


async def referral(
    client: httpx.AsyncClient,
    case: dict[str, Any],
    program: str = PANGAN,
    headers: dict[str, str] = FO,
    **body: Any,
) -> dict[str, Any]:
    """A draft referral of the case to `program`, made by hand."""
    created = await client.post(
        f"{API}/referrals",
        json={"case_id": case["id"], "program": program, **body},
        headers=headers,
    )
    assert created.status_code == 201, created.text
    found: dict[str, Any] = created.json()
    return found


async def move(
    client: httpx.AsyncClient,
    referral_id: str | uuid.UUID,
    to: str,
    headers: dict[str, str],
    **body: Any,
) -> httpx.Response:
    """Ask for a transition."""
    return await client.post(
        f"{API}/referrals/{referral_id}/transitions", json={"to": to, **body}, headers=headers
    )


async def drive(
    client: httpx.AsyncClient, referral_id: str, path: list[str], receiver: dict[str, str]
) -> dict[str, Any]:
    """Move the referral along `path`, each step by the side allowed to take it."""
    last: dict[str, Any] = {}
    for to in path:
        headers = FO if to in ("requested", "cancelled", "closed") else receiver
        if to == "entered_in_error":
            headers = ADMIN
        body: dict[str, Any] = {}
        if to in ("rejected", "cancelled", "on_hold", "failed"):
            body["reason"] = f"reason for {to}"
        if to == "completed":
            body["outcome"] = OUTCOME
        moved = await move(client, referral_id, to, headers, **body)
        assert moved.status_code == 200, moved.text
        last = moved.json()
    return last
