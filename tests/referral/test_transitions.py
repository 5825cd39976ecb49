"""The referral state machine: every forbidden transition, role and organisation
boundaries, reasons and outcomes, consent and approval, re-routing, concurrency, and the
append-only audit trail."""

from __future__ import annotations

import asyncio
import uuid
from typing import Any

import httpx
import pytest
from sqlalchemy import select, text
from sqlalchemy.exc import DBAPIError
from sqlalchemy.ext.asyncio import AsyncSession

from selaras_referral.codes import ReferralStatus as S
from selaras_referral.models import OutboxEvent
from selaras_referral.service.transitions import TRANSITIONS, Side, allowed_targets, rule_for
from tests.referral.flow import (
    ADMIN,
    API,
    BAZNAS,
    DINSOS,
    FO,
    MANAGER,
    OUTCOME,
    case_body,
    drive,
    move,
    new_case,
    referral,
)
from tests.referral.upstreams import MODAL, PANGAN, ZAKAT, Upstreams
from tests.support import bearer

#: A path from draft to each state, the receiver being dinsos-7303.
PATHS: dict[S, list[str]] = {
    S.draft: [],
    S.requested: ["requested"],
    S.accepted: ["requested", "accepted"],
    S.rejected: ["requested", "rejected"],
    S.cancelled: ["requested", "cancelled"],
    S.in_progress: ["requested", "accepted", "in_progress"],
    S.on_hold: ["requested", "accepted", "in_progress", "on_hold"],
    S.completed: ["requested", "accepted", "in_progress", "completed"],
    S.failed: ["requested", "accepted", "in_progress", "failed"],
    S.closed: ["requested", "accepted", "in_progress", "completed", "closed"],
    S.entered_in_error: ["entered_in_error"],
}
EVERYONE = frozenset(Side)
FORBIDDEN = [(source, target) for source in S for target in S if rule_for(source, target) is None]


def test_the_table_is_design_section_7() -> None:
    allowed = {(s, rule.target) for rule in TRANSITIONS for s in rule.sources}
    assert allowed == {
        (S.draft, S.requested),
        (S.requested, S.accepted),
        (S.requested, S.rejected),
        (S.requested, S.cancelled),
        (S.accepted, S.cancelled),
        (S.accepted, S.in_progress),
        (S.in_progress, S.on_hold),
        (S.on_hold, S.in_progress),
        (S.in_progress, S.completed),
        (S.on_hold, S.completed),
        (S.in_progress, S.failed),
        (S.on_hold, S.failed),
        (S.completed, S.closed),
        (S.failed, S.closed),
        (S.draft, S.entered_in_error),
    }


async def _at(client: httpx.AsyncClient, upstreams: Upstreams, state: S) -> dict[str, Any]:
    case = await new_case(client, upstreams)
    made = await referral(client, case)
    return await drive(client, made["id"], PATHS[state], DINSOS) if PATHS[state] else made


@pytest.mark.parametrize("source", list(S))
async def test_every_forbidden_transition_is_409_with_the_allowed_ones(
    client: httpx.AsyncClient, upstreams: Upstreams, source: S
) -> None:
    found = await _at(client, upstreams, source)
    assert found["status"] == source
    for target in [t for s, t in FORBIDDEN if s == source]:
        for headers, sides in (
            (FO, {Side.referrer, Side.owner}),
            (DINSOS, {Side.receiver}),
            (ADMIN, {Side.admin}),
        ):
            body: dict[str, Any] = {"reason": "x"}
            if target == S.completed:
                body = {"outcome": OUTCOME}
            answer = await move(client, found["id"], target, headers, **body)
            assert answer.status_code == 409, (source, target, answer.text)
            problem = answer.json()
            assert problem["type"].endswith("invalid-transition")
            assert problem["allowed"] == allowed_targets(source, frozenset(sides))
            assert problem["current_status"] == source


@pytest.mark.parametrize(
    ("source", "target", "wrong"),
    [
        (S.draft, S.requested, DINSOS),
        (S.requested, S.accepted, FO),
        (S.requested, S.rejected, MANAGER),
        (S.accepted, S.in_progress, FO),
        (S.in_progress, S.completed, FO),
        (S.completed, S.closed, DINSOS),
        (S.draft, S.entered_in_error, FO),
        (S.requested, S.cancelled, DINSOS),
    ],
)
async def test_the_wrong_side_gets_409(
    client: httpx.AsyncClient, upstreams: Upstreams, source: S, target: S, wrong: dict[str, str]
) -> None:
    found = await _at(client, upstreams, source)
    body = {"outcome": OUTCOME} if target == S.completed else {"reason": "x"}
    answer = await move(client, found["id"], target, wrong, **body)
    assert answer.status_code == 409
    assert target not in answer.json()["allowed"]


async def test_other_organisations_and_villages_do_not_see_the_referral(
    client: httpx.AsyncClient, upstreams: Upstreams
) -> None:
    found = await _at(client, upstreams, S.requested)
    strangers = [
        BAZNAS,  # a partner of another organisation
        bearer("front_office", "7303011001", "fo-other-village", None),
        bearer("manager", "7371", "mgr-palopo", None),
        bearer("partner", "7303", "no-org", None),
    ]
    for headers in strangers:
        assert (
            await client.get(f"{API}/referrals/{found['id']}", headers=headers)
        ).status_code == 404
        assert (await move(client, found["id"], "accepted", headers)).status_code == 404
        listed = await client.get(f"{API}/referrals", headers=headers)
        assert found["id"] not in [r["id"] for r in listed.json()["items"]]
    listed = await client.get(f"{API}/referrals", headers=DINSOS)
    assert found["id"] in [r["id"] for r in listed.json()["items"]]
    # Partners never read the case itself.
    assert (await client.get(f"{API}/cases/{found['case_id']}", headers=DINSOS)).status_code == 404


async def test_reasons_and_outcomes_are_required_and_checked(
    client: httpx.AsyncClient, upstreams: Upstreams
) -> None:
    requested = await _at(client, upstreams, S.requested)
    for to in ("rejected", "cancelled"):
        who = DINSOS if to == "rejected" else FO
        answer = await move(client, requested["id"], to, who)
        assert answer.status_code == 422 and answer.json()["errors"][0]["field"] == "reason"
    working = await _at(client, upstreams, S.in_progress)
    for to in ("on_hold", "failed"):
        answer = await move(client, working["id"], to, DINSOS)
        assert answer.status_code == 422 and answer.json()["errors"][0]["field"] == "reason"
    missing = await move(client, working["id"], "completed", DINSOS)
    assert missing.status_code == 422 and missing.json()["errors"][0]["field"] == "outcome"
    for outcome, field in (
        ({"service_delivered": "x"}, "outcome"),
        ({"service_delivered": "x", "amount_rupiah": 1.5}, "outcome.amount_rupiah"),
        ({"service_delivered": "x", "amount_rupiah": -1}, "outcome.amount_rupiah"),
    ):
        answer = await move(client, working["id"], "completed", DINSOS, outcome=outcome)
        assert answer.status_code == 422 and answer.json()["errors"][0]["field"] == field
    stray = await move(client, working["id"], "on_hold", DINSOS, reason="x", outcome=OUTCOME)
    assert stray.status_code == 422 and stray.json()["errors"][0]["field"] == "outcome"
    in_kind = await move(
        client,
        working["id"],
        "completed",
        DINSOS,
        outcome={
            "service_delivered": "Sembako",
            "in_kind": "beras 10 kg",
            "enrolment_number": "K1",
        },
    )
    assert in_kind.status_code == 200 and in_kind.json()["outcome"]["in_kind"] == "beras 10 kg"
    # An enrolment alone is an outcome (health insurance pays nothing to the family).
    enrolled = await _at(client, upstreams, S.in_progress)
    insured = await move(
        client,
        enrolled["id"],
        "completed",
        DINSOS,
        outcome={"service_delivered": "PBI-JKN", "enrolment_number": "0001234567890"},
    )
    assert insured.status_code == 200, insured.text
    assert insured.json()["outcome"]["enrolment_number"] == "0001234567890"


async def test_consent_must_cover_referral(client: httpx.AsyncClient, upstreams: Upstreams) -> None:
    consent = {"scope": ["registry_check"], "given_at": "2026-11-20", "given_by": "Ibu"}
    case = await new_case(client, upstreams, consent=consent)
    draft = await referral(client, case)
    refused = await move(client, draft["id"], "requested", FO)
    assert refused.status_code == 409 and refused.json()["errors"][0]["field"] == "consent"
    updated = await client.patch(
        f"{API}/cases/{case['id']}",
        json={"consent": {**consent, "scope": ["registry_check", "referral"]}},
        headers={**FO, "If-Match": '"1"'},
    )
    assert updated.status_code == 200
    assert (await move(client, draft["id"], "requested", FO)).status_code == 200


async def test_manager_approval_before_sending_where_required(
    client: httpx.AsyncClient, upstreams: Upstreams
) -> None:
    case = await new_case(client, upstreams)
    draft = await referral(client, case, ZAKAT)
    assert draft["requires_approval"] is True and draft["organization"] == "baznas-7303"
    refused = await move(client, draft["id"], "requested", FO)
    assert refused.status_code == 409 and refused.json()["errors"][0]["field"] == "approval"
    not_manager = await client.post(f"{API}/referrals/{draft['id']}/approval", json={}, headers=FO)
    assert not_manager.status_code == 409
    other_regency = await client.post(
        f"{API}/referrals/{draft['id']}/approval",
        json={},
        headers=bearer("manager", "7371", "mgr-7371", None),
    )
    assert other_regency.status_code == 404
    approved = await client.post(
        f"{API}/referrals/{draft['id']}/approval", json={"note": "layak"}, headers=MANAGER
    )
    assert approved.status_code == 200 and approved.json()["approved_by"] == "mgr-7303"
    again = await client.post(f"{API}/referrals/{draft['id']}/approval", json={}, headers=MANAGER)
    assert again.status_code == 409
    assert (await move(client, draft["id"], "requested", FO)).status_code == 200
    trail = (await client.get(f"{API}/referrals/{draft['id']}/transitions", headers=FO)).json()
    assert [(e["kind"], e["to_status"]) for e in trail] == [
        ("transition", "draft"),
        ("approval", "draft"),
        ("transition", "requested"),
    ]


async def test_rerouting_only_from_rejected_or_failed(
    client: httpx.AsyncClient, upstreams: Upstreams
) -> None:
    accepted = await _at(client, upstreams, S.accepted)
    early = await client.post(f"{API}/referrals/{accepted['id']}/reroute", json={}, headers=FO)
    assert early.status_code == 409
    rejected = await _at(client, upstreams, S.rejected)
    child = await client.post(
        f"{API}/referrals/{rejected['id']}/reroute", json={"program": MODAL}, headers=FO
    )
    assert child.status_code == 201, child.text
    assert child.json()["parent_referral_id"] == rejected["id"]
    assert child.json()["organization"] == "bank-sulselbar"
    twice = await client.post(
        f"{API}/referrals",
        json={
            "case_id": rejected["case_id"],
            "program": MODAL,
            "parent_referral_id": rejected["id"],
        },
        headers=FO,
    )
    assert twice.status_code == 409
    failed = await _at(client, upstreams, S.failed)
    by_create = await client.post(
        f"{API}/referrals",
        json={"case_id": failed["case_id"], "program": MODAL, "parent_referral_id": failed["id"]},
        headers=FO,
    )
    assert by_create.status_code == 201 and by_create.json()["parent_referral_id"] == failed["id"]


async def test_if_match_on_transitions(client: httpx.AsyncClient, upstreams: Upstreams) -> None:
    draft = await _at(client, upstreams, S.draft)
    stale = await client.post(
        f"{API}/referrals/{draft['id']}/transitions",
        json={"to": "requested"},
        headers={**FO, "If-Match": '"7"'},
    )
    assert stale.status_code == 412
    fresh = await client.post(
        f"{API}/referrals/{draft['id']}/transitions",
        json={"to": "requested"},
        headers={**FO, "If-Match": '"1"'},
    )
    assert fresh.status_code == 200 and fresh.headers["etag"] == '"2"'


async def test_every_transition_is_audited_and_announced(
    client: httpx.AsyncClient, upstreams: Upstreams, session: AsyncSession
) -> None:
    closed = await _at(client, upstreams, S.closed)
    trail = (await client.get(f"{API}/referrals/{closed['id']}/transitions", headers=DINSOS)).json()
    assert [(e["from_status"], e["to_status"], e["actor"]) for e in trail] == [
        (None, "draft", "fo-7303"),
        ("draft", "requested", "fo-7303"),
        ("requested", "accepted", "dinsos-officer"),
        ("accepted", "in_progress", "dinsos-officer"),
        ("in_progress", "completed", "dinsos-officer"),
        ("completed", "closed", "fo-7303"),
    ]
    assert (
        trail[2]["organization"] == "dinsos-7303"
        and trail[4]["outcome"]["amount_rupiah"] == 600_000
    )
    events = (
        await session.scalars(
            select(OutboxEvent)
            .where(OutboxEvent.subject_id == uuid.UUID(closed["id"]))
            .order_by(OutboxEvent.seq)
        )
    ).all()
    assert [e.type for e in events] == [
        "referral.draft",
        "referral.requested",
        "referral.accepted",
        "referral.in_progress",
        "referral.completed",
        "referral.closed",
    ]
    assert events[0].organization is None and events[1].organization == "dinsos-7303"
    assert events[2].data["from"] == "requested" and events[2].data["to"] == "accepted"
    assert events[2].data["id"] == closed["id"]


async def test_the_trail_cannot_be_edited(
    client: httpx.AsyncClient, upstreams: Upstreams, session: AsyncSession
) -> None:
    found = await _at(client, upstreams, S.requested)
    url = f"{API}/referrals/{found['id']}/transitions"
    for method in ("PUT", "PATCH", "DELETE"):
        assert (await client.request(method, url, headers=ADMIN)).status_code == 405
    for statement in (
        "UPDATE referral_trail SET reason = 'rewritten'",
        "DELETE FROM referral_trail",
    ):
        with pytest.raises(DBAPIError):
            async with session.begin_nested():
                await session.execute(text(statement))


async def test_concurrent_transitions_exactly_one_wins(
    committing_client: httpx.AsyncClient, upstreams: Upstreams
) -> None:
    upstreams.down("registry")
    fo = bearer("front_office", "7371", "fo-7371", None)
    body = case_body(
        {
            "id": str(uuid.uuid4()),
            "members": [{"id": str(uuid.uuid4())}],
            "village_code": "7371011001",
        },
    )
    case = (await committing_client.post(f"{API}/cases", json=body, headers=fo)).json()
    for _ in range(3):
        draft = await referral(committing_client, case, PANGAN, headers=fo)
        assert (await move(committing_client, draft["id"], "requested", fo)).status_code == 200
        # Accepting and rejecting both leave `requested` only: whichever runs second, on
        # either database, finds the referral moved and must lose.
        answers = await asyncio.gather(
            move(committing_client, draft["id"], "accepted", DINSOS),
            move(committing_client, draft["id"], "rejected", DINSOS, reason="penuh"),
            move(
                committing_client,
                draft["id"],
                "accepted",
                bearer("partner", "7303", "dinsos-officer-2", "dinsos-7303"),
            ),
        )
        assert sorted(a.status_code for a in answers) == [200, 409, 409], [a.text for a in answers]
        trail = (
            await committing_client.get(f"{API}/referrals/{draft['id']}/transitions", headers=fo)
        ).json()
        assert len(trail) == 3
        winner = next(a for a in answers if a.status_code == 200).json()["status"]
        assert trail[-1]["to_status"] == winner
