"""Notes on cases and referrals (who writes and reads them), and dashboard statistics."""

from __future__ import annotations

import httpx
from fastapi import FastAPI
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from selaras_referral.models import OutboxEvent
from tests.referral.flow import ADMIN, API, BAZNAS, DINSOS, FO, MANAGER, drive, new_case, referral
from tests.referral.test_sla import Clock
from tests.referral.upstreams import PANGAN, ZAKAT, Upstreams
from tests.support import bearer


async def test_notes_on_cases_and_referrals(
    client: httpx.AsyncClient, upstreams: Upstreams, session: AsyncSession
) -> None:
    case = await new_case(client, upstreams)
    made = await referral(client, case)
    written = await client.post(
        f"{API}/cases/{case['id']}/notes", json={"text": "Kunjungan rumah"}, headers=FO
    )
    assert written.status_code == 201
    assert (written.json()["author"], written.json()["role"]) == ("fo-7303", "front_office")
    on_referral = await client.post(
        f"{API}/referrals/{made['id']}/notes", json={"text": "Dokumen lengkap"}, headers=DINSOS
    )
    assert on_referral.status_code == 201 and on_referral.json()["organization"] == "dinsos-7303"
    case_notes = (await client.get(f"{API}/cases/{case['id']}/notes", headers=FO)).json()
    assert [n["text"] for n in case_notes["items"]] == ["Kunjungan rumah"]
    referral_notes = (await client.get(f"{API}/referrals/{made['id']}/notes", headers=FO)).json()
    assert [n["text"] for n in referral_notes["items"]] == ["Dokumen lengkap"]
    # Partners: their referrals' notes only, never the case's.
    assert (await client.get(f"{API}/cases/{case['id']}/notes", headers=DINSOS)).status_code == 404
    assert (
        await client.get(f"{API}/referrals/{made['id']}/notes", headers=BAZNAS)
    ).status_code == 404
    assert (
        await client.post(f"{API}/referrals/{made['id']}/notes", json={"text": "x"}, headers=BAZNAS)
    ).status_code == 404
    assert (
        await client.post(f"{API}/referrals/{made['id']}/notes", json={"text": ""}, headers=FO)
    ).status_code == 422
    assert (
        await client.post(f"{API}/referrals/{made['id']}/notes", json={"text": "x"}, headers=ADMIN)
    ).status_code == 409
    events = (
        await session.scalars(select(OutboxEvent).where(OutboxEvent.type == "referral.note_added"))
    ).all()
    assert [(e.organization, e.data["note"]["text"]) for e in events] == [
        ("dinsos-7303", "Dokumen lengkap")
    ]


async def test_sensitive_case_notes_follow_the_case(
    client: httpx.AsyncClient, upstreams: Upstreams
) -> None:
    case = await new_case(client, upstreams, sensitive=True)
    assert (
        await client.post(f"{API}/cases/{case['id']}/notes", json={"text": "x"}, headers=MANAGER)
    ).status_code == 201
    other_fo = bearer("front_office", "7303", "another-fo", None)
    assert (
        await client.get(f"{API}/cases/{case['id']}/notes", headers=other_fo)
    ).status_code == 404
    assert (
        await client.post(f"{API}/cases/{case['id']}/notes", json={"text": "x"}, headers=other_fo)
    ).status_code == 404


async def test_stats_figures(app: FastAPI, client: httpx.AsyncClient, upstreams: Upstreams) -> None:
    clock = Clock()
    app.state.clock = clock
    case = await new_case(client, upstreams)
    first = await referral(client, case)
    second = await referral(client, case)
    rejected = await referral(client, case)
    await drive(client, first["id"], ["requested"], DINSOS)
    clock.advance(hours=2)
    await drive(client, first["id"], ["accepted", "in_progress"], DINSOS)
    clock.advance(hours=10)
    await drive(client, first["id"], ["completed", "closed"], DINSOS)
    await drive(client, second["id"], ["requested"], DINSOS)
    clock.advance(hours=4)
    await drive(client, second["id"], ["accepted"], DINSOS)
    await drive(client, rejected["id"], ["requested"], DINSOS)
    clock.advance(days=5)  # past the 3-day response due date of a normal referral
    await drive(client, rejected["id"], ["rejected"], DINSOS)
    zakat = await referral(client, case, ZAKAT)

    answer = await client.get(f"{API}/stats", headers=FO)
    assert answer.status_code == 200, answer.text
    figures = answer.json()
    village = {(c["status"], c["count"]) for c in figures["by_village"]}
    assert village == {("closed", 1), ("accepted", 1), ("rejected", 1), ("draft", 1)}
    assert {(c["key"], c["count"]) for c in figures["by_regency"]} >= {("7303", 1)}
    assert {(c["key"], c["status"], c["count"]) for c in figures["by_program"]} >= {
        (PANGAN, "closed", 1),
        (ZAKAT, "draft", 1),
    }
    assert {c["key"] for c in figures["by_organization"]} == {"dinsos-7303", "baznas-7303"}
    # Accepted after 2 h and 4 h; completed after 12 h.
    assert figures["median_hours_to_accept"] == 3.0
    assert figures["median_hours_to_complete"] == 12.0
    # Three referrals were requested; one answered late (rejected after 5 days).
    assert (figures["with_due_date"], figures["breached"]) == (3, 1)
    assert figures["breach_rate"] == 1 / 3
    assert figures["outcomes"] == [
        {
            "program": PANGAN,
            "source_level": "regency",
            "completed": 1,
            "people": 4,
            "amount_rupiah": 600_000,
        }
    ]
    # A partner sees its organisation only; another regency sees nothing of this.
    partner = (await client.get(f"{API}/stats", headers=BAZNAS)).json()
    assert [(c["key"], c["status"]) for c in partner["by_organization"]] == [
        ("baznas-7303", "draft")
    ]
    elsewhere = (
        await client.get(f"{API}/stats", headers=bearer("manager", "7371", "m", None))
    ).json()
    assert elsewhere["by_village"] == [] and elsewhere["breach_rate"] is None
    assert zakat["status"] == "draft"
