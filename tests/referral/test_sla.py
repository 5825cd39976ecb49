"""SLAs with a moved clock (never a sleep): due dates from priority and programme,
at-risk and overdue, escalation once per breach, expiry of unanswered requests."""

from __future__ import annotations

import uuid
from datetime import datetime, timedelta

import httpx
from fastapi import FastAPI
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from selaras_referral.models import OutboxEvent
from selaras_referral.service.sla import sweep
from selaras_referral.settings import ReferralSettings, SlaTerms
from selaras_shared.db import utcnow
from tests.referral.flow import API, DINSOS, FO, move, new_case, referral
from tests.referral.upstreams import PANGAN, Upstreams
from tests.support import bearer


class Clock:
    """A clock the test moves."""

    def __init__(self) -> None:
        self.now = utcnow()

    def __call__(self) -> datetime:
        return self.now

    def advance(self, **delta: float) -> None:
        self.now += timedelta(**delta)


def _clock(app: FastAPI) -> Clock:
    clock = Clock()
    app.state.clock = clock
    return clock


async def _status(client: httpx.AsyncClient, referral_id: str) -> dict[str, object]:
    answer = await client.get(f"{API}/referrals/{referral_id}", headers=FO)
    assert answer.status_code == 200
    found: dict[str, object] = answer.json()
    return found


async def _escalations(session: AsyncSession, referral_id: str) -> list[OutboxEvent]:
    return list(
        (
            await session.scalars(
                select(OutboxEvent).where(
                    OutboxEvent.subject_id == uuid.UUID(referral_id),
                    OutboxEvent.type == "referral.escalated",
                )
            )
        ).all()
    )


async def test_due_dates_at_risk_overdue_and_one_escalation_per_breach(
    app: FastAPI, client: httpx.AsyncClient, upstreams: Upstreams, session: AsyncSession
) -> None:
    clock = _clock(app)
    settings: ReferralSettings = app.state.settings
    case = await new_case(client, upstreams, priority="urgent")
    draft = await referral(client, case)
    assert (await move(client, draft["id"], "requested", FO)).status_code == 200
    found = await _status(client, draft["id"])
    assert datetime.fromisoformat(str(found["response_due_at"])) == clock.now + timedelta(days=1)
    assert found["sla_status"] == "on_track"
    clock.advance(hours=20)  # 83% of the day used
    assert (await _status(client, draft["id"]))["sla_status"] == "at_risk"
    clock.advance(hours=5)
    assert (await _status(client, draft["id"]))["sla_status"] == "overdue"
    overdue = await client.get(f"{API}/referrals", params={"overdue": "true"}, headers=FO)
    assert draft["id"] in [r["id"] for r in overdue.json()["items"]]

    for _ in range(2):
        await sweep(session, settings, clock.now)
    escalated = await _status(client, draft["id"])
    assert escalated["escalated_to"] == "730301" and escalated["escalated_at"] is not None
    assert len(await _escalations(session, draft["id"])) == 1
    supervisor = bearer("supervisor", "730301", "spv-730301", None)
    seen = await client.get(f"{API}/referrals", params={"overdue": "true"}, headers=supervisor)
    assert draft["id"] in [r["id"] for r in seen.json()["items"]]

    # Accepted late: the resolution clock starts; its breach is escalated once more.
    assert (await move(client, draft["id"], "accepted", DINSOS)).status_code == 200
    accepted = await _status(client, draft["id"])
    assert accepted["sla_status"] == "on_track"
    assert datetime.fromisoformat(str(accepted["resolution_due_at"])) == clock.now + timedelta(
        days=3
    )
    clock.advance(days=4)
    for _ in range(2):
        await sweep(session, settings, clock.now)
    assert len(await _escalations(session, draft["id"])) == 2
    trail = (await client.get(f"{API}/referrals/{draft['id']}/transitions", headers=FO)).json()
    assert [e["kind"] for e in trail].count("escalation") == 2


async def test_an_unanswered_request_expires_as_the_system(
    app: FastAPI, client: httpx.AsyncClient, upstreams: Upstreams, session: AsyncSession
) -> None:
    clock = _clock(app)
    settings: ReferralSettings = app.state.settings
    case = await new_case(client, upstreams, priority="normal")
    draft = await referral(client, case)
    answered = await referral(client, case, PANGAN)
    for made in (draft, answered):
        assert (await move(client, made["id"], "requested", FO)).status_code == 200
    assert (await move(client, answered["id"], "accepted", DINSOS)).status_code == 200
    clock.advance(days=3 + settings.expiry_grace_days - 0.5)
    await sweep(session, settings, clock.now)
    assert (await _status(client, draft["id"]))[
        "status"
    ] == "requested"  # escalated, not yet expired
    clock.advance(days=1)
    report = await sweep(session, settings, clock.now)
    assert report.expired == 1
    expired = await _status(client, draft["id"])
    assert expired["status"] == "cancelled" and expired["reason"] == "expired"
    assert (await _status(client, answered["id"]))["status"] == "accepted"
    trail = (await client.get(f"{API}/referrals/{draft['id']}/transitions", headers=FO)).json()
    assert (trail[-1]["actor"], trail[-1]["to_status"], trail[-1]["reason"]) == (
        "system",
        "cancelled",
        "expired",
    )
    # Nobody can act as the system.
    again = await move(client, answered["id"], "cancelled", DINSOS, reason="expired")
    assert again.status_code == 409


async def test_sla_terms_by_programme_override_the_defaults() -> None:
    settings = ReferralSettings(
        sla_by_program={PANGAN: {"normal": SlaTerms(response_days=0.5, resolution_days=2)}}
    )
    assert settings.sla_terms(PANGAN, "normal") == (timedelta(hours=12), timedelta(days=2))  # type: ignore[arg-type]
    assert settings.sla_terms("OTHER", "normal") == (timedelta(days=3), timedelta(days=14))  # type: ignore[arg-type]
    assert settings.sla_terms(PANGAN, "low") == (timedelta(days=5), timedelta(days=30))  # type: ignore[arg-type]
