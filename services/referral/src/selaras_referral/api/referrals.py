"""Referral routes: creation by hand and re-routing, lists, approval, transitions and the
audit trail (read-only: no route changes or deletes it)."""

from __future__ import annotations

import uuid
from typing import Annotated

from fastapi import APIRouter, Query, Response, status

from selaras_referral.api.params import Cursor, IfMatch, Limit
from selaras_referral.codes import ReferralStatus
from selaras_referral.deps import CallerDep, Cases, Now, Referrals, SettingsDep, UpstreamDep
from selaras_referral.models import Referral
from selaras_referral.repository.referrals import ReferralFilter
from selaras_referral.schemas.common import OrganizationCode, ProgramCode
from selaras_referral.schemas.referrals import (
    AllowedTransitions,
    ApprovalRequest,
    ReferralCreate,
    ReferralRead,
    Reroute,
    TrailEntryRead,
    TransitionRequest,
)
from selaras_referral.service.suggestions import target_for
from selaras_referral.service.views import referral_read
from selaras_referral.settings import ReferralSettings
from selaras_shared.etag import etag_for, expected_version
from selaras_shared.pagination import DEFAULT_LIMIT, Page

router = APIRouter(tags=["referrals"])


def _serve(
    response: Response, referral: Referral, now: object, settings: ReferralSettings
) -> ReferralRead:
    response.headers["ETag"] = etag_for(referral.version)
    return referral_read(referral, now, settings.sla_at_risk_ratio)  # type: ignore[arg-type]


@router.post("/referrals", status_code=status.HTTP_201_CREATED)
async def create_referral(
    body: ReferralCreate,
    cases: Cases,
    referrals: Referrals,
    upstream: UpstreamDep,
    caller: CallerDep,
    settings: SettingsDep,
    now: Now,
    response: Response,
) -> ReferralRead:
    """Refer a case to one programme by hand (to its owner unless `organization` says
    else); with `parent_referral_id` this re-routes a rejected or failed referral."""
    case = await cases.get(body.case_id)
    referrals.require_referrer(cases.principal, case)
    parent = None
    if body.parent_referral_id is not None:
        parent, _ = await referrals.get(cases.principal, body.parent_referral_id)
    target = await target_for(
        upstream, caller, referrals.referrals, body.program, body.organization
    )
    referral = await referrals.create(
        cases.principal, case, target, priority=body.priority, parent=parent
    )
    response.headers["Location"] = f"/api/v1/referrals/{referral.id}"
    return _serve(response, referral, now, settings)


@router.get("/referrals")
async def list_referrals(
    cases: Cases,
    referrals: Referrals,
    settings: SettingsDep,
    now: Now,
    referral_status: Annotated[ReferralStatus | None, Query(alias="status")] = None,
    organization: Annotated[OrganizationCode | None, Query()] = None,
    program: Annotated[ProgramCode | None, Query()] = None,
    region: Annotated[str | None, Query(pattern=r"^(\d{2}|\d{4}|\d{6}|\d{10})$")] = None,
    overdue: bool = False,
    limit: Limit = DEFAULT_LIMIT,
    cursor: Cursor = None,
) -> Page[ReferralRead]:
    """The referrals the caller may read (partners: those addressed to their
    organisation), newest first, filtered by status, organisation, programme, region prefix
    and whether they are overdue."""
    criteria = ReferralFilter(
        status=referral_status.value if referral_status else None,
        organization=organization,
        program=program,
        region=region,
        overdue_at=now if overdue else None,
    )
    rows, next_cursor = await referrals.page(cases.principal, criteria, limit=limit, cursor=cursor)
    return Page[ReferralRead](
        items=[referral_read(r, now, settings.sla_at_risk_ratio) for r in rows],
        next_cursor=next_cursor,
    )


@router.get("/referrals/{referral_id}")
async def get_referral(
    referral_id: uuid.UUID,
    cases: Cases,
    referrals: Referrals,
    settings: SettingsDep,
    now: Now,
    response: Response,
) -> ReferralRead:
    """One referral (404 when it does not exist or the caller may not see it)."""
    referral, _ = await referrals.get(cases.principal, referral_id)
    return _serve(response, referral, now, settings)


@router.get("/referrals/{referral_id}/allowed-transitions")
async def allowed_transitions(
    referral_id: uuid.UUID, cases: Cases, referrals: Referrals
) -> AllowedTransitions:
    """The states the caller may move the referral to now."""
    referral, _ = await referrals.get(cases.principal, referral_id)
    allowed = await referrals.allowed(cases.principal, referral_id)
    return AllowedTransitions(status=ReferralStatus(referral.status), allowed=allowed)


@router.post("/referrals/{referral_id}/transitions")
async def transition_referral(
    referral_id: uuid.UUID,
    body: TransitionRequest,
    cases: Cases,
    referrals: Referrals,
    settings: SettingsDep,
    now: Now,
    response: Response,
    if_match: IfMatch = None,
) -> ReferralRead:
    """Move the referral along its state machine (409 listing the allowed moves when this
    one is not; 412 when If-Match is stale)."""
    expected = expected_version(if_match, required=False)
    referral = await referrals.transition_as(
        cases.principal, referral_id, body, expected=expected, if_match=if_match or ""
    )
    return _serve(response, referral, now, settings)


@router.get("/referrals/{referral_id}/transitions")
async def referral_trail(
    referral_id: uuid.UUID, cases: Cases, referrals: Referrals
) -> list[TrailEntryRead]:
    """The referral's audit trail, oldest first: every transition, approval and escalation."""
    entries = await referrals.trail(cases.principal, referral_id)
    return [TrailEntryRead.model_validate(e.model_dump()) for e in entries]


@router.post("/referrals/{referral_id}/approval")
async def approve_referral(
    referral_id: uuid.UUID,
    body: ApprovalRequest,
    cases: Cases,
    referrals: Referrals,
    settings: SettingsDep,
    now: Now,
    response: Response,
) -> ReferralRead:
    """A manager in jurisdiction approves a draft referral to a programme requiring it."""
    referral = await referrals.approve(cases.principal, referral_id, body.note)
    return _serve(response, referral, now, settings)


@router.post("/referrals/{referral_id}/reroute", status_code=status.HTTP_201_CREATED)
async def reroute_referral(
    referral_id: uuid.UUID,
    body: Reroute,
    cases: Cases,
    referrals: Referrals,
    upstream: UpstreamDep,
    caller: CallerDep,
    settings: SettingsDep,
    now: Now,
    response: Response,
) -> ReferralRead:
    """Re-route a rejected or failed referral: a new draft referral, its child."""
    parent, case = await referrals.get(cases.principal, referral_id)
    referrals.require_referrer(cases.principal, case)
    target = await target_for(
        upstream, caller, referrals.referrals, body.program or parent.program, body.organization
    )
    referral = await referrals.create(
        cases.principal, case, target, priority=body.priority, parent=parent
    )
    response.headers["Location"] = f"/api/v1/referrals/{referral.id}"
    return _serve(response, referral, now, settings)
