"""Case routes: intake, reading, changes under If-Match, closing, suggestions and referrals
created from them."""

from __future__ import annotations

import uuid

from fastapi import APIRouter, Response, status
from fastapi.responses import JSONResponse

from selaras_referral.api.params import Cursor, IdempotencyKey, IfMatch, Limit
from selaras_referral.deps import CallerDep, Cases, Now, Referrals, SettingsDep, UpstreamDep
from selaras_referral.repository.referrals import ReferralFilter
from selaras_referral.schemas.cases import CaseCreate, CaseRead, CaseUpdate
from selaras_referral.schemas.referrals import (
    CreatedReferrals,
    ReferralRead,
    ReferralsFromSuggestions,
    SuggestionsRead,
)
from selaras_referral.service.suggestions import targets_from
from selaras_referral.service.views import case_read, problem_json, referral_read
from selaras_shared.etag import etag_for, expected_version
from selaras_shared.idempotency import REPLAYED_HEADER, idempotency_key
from selaras_shared.pagination import DEFAULT_LIMIT, Page

router = APIRouter(tags=["cases"])


def _serve(response: Response, case: CaseRead) -> CaseRead:
    response.headers["ETag"] = etag_for(case.version)
    return case


@router.post(
    "/cases",
    status_code=status.HTTP_201_CREATED,
    response_model=CaseRead,
    responses={201: {"headers": {REPLAYED_HEADER: {"description": "`true` on a replay"}}}},
)
async def create_case(
    body: CaseCreate,
    cases: Cases,
    upstream: UpstreamDep,
    caller: CallerDep,
    key: IdempotencyKey = None,
) -> JSONResponse:
    """Register a case; the household (and member) are checked in the registry.

    When the registry cannot be asked the case is still recorded, with
    `registry_check: unchecked` and the reason. An offline client sends its own `id` and an
    `Idempotency-Key`: a retry with the same key and body replays the first answer.
    """
    checked_key = idempotency_key(key) if key is not None else None
    cases.authorize_create(body)
    check = await upstream.check_household(caller, body.household_id, body.member_id)
    answer = await cases.create(body, check, checked_key)
    headers = {
        "ETag": etag_for(int(answer.body["version"])),
        "Location": f"/api/v1/cases/{answer.body['id']}",
    }
    if answer.replayed:
        headers[REPLAYED_HEADER] = "true"
    return JSONResponse(answer.body, status_code=answer.status_code, headers=headers)


@router.get("/cases")
async def list_cases(
    cases: Cases, limit: Limit = DEFAULT_LIMIT, cursor: Cursor = None
) -> Page[CaseRead]:
    """The cases the caller may read, newest first."""
    rows, next_cursor = await cases.page(limit=limit, cursor=cursor)
    return Page[CaseRead](items=[case_read(c) for c in rows], next_cursor=next_cursor)


@router.get("/cases/{case_id}")
async def get_case(case_id: uuid.UUID, cases: Cases, response: Response) -> CaseRead:
    """One case (404 when it does not exist or the caller may not see it)."""
    return _serve(response, case_read(await cases.get(case_id)))


@router.patch("/cases/{case_id}")
async def update_case(
    case_id: uuid.UUID, body: CaseUpdate, cases: Cases, response: Response, if_match: IfMatch = None
) -> CaseRead:
    """Change an open case; If-Match with the ETag last read is required."""
    expected = expected_version(if_match, required=True)
    case = await cases.update(case_id, body, expected, if_match or "")
    return _serve(response, case_read(case))


@router.post("/cases/{case_id}/close")
async def close_case(case_id: uuid.UUID, cases: Cases, response: Response) -> CaseRead:
    """Close the case after follow-up with the family (every referral final)."""
    return _serve(response, case_read(await cases.close(case_id)))


@router.get("/cases/{case_id}/referrals")
async def list_case_referrals(
    case_id: uuid.UUID,
    cases: Cases,
    referrals: Referrals,
    settings: SettingsDep,
    now: Now,
    limit: Limit = DEFAULT_LIMIT,
    cursor: Cursor = None,
) -> Page[ReferralRead]:
    """The case's referrals, newest first."""
    await cases.get(case_id)
    rows, next_cursor = await referrals.page(
        cases.principal, ReferralFilter(case_id=case_id), limit=limit, cursor=cursor
    )
    return Page[ReferralRead](
        items=[referral_read(r, now, settings.sla_at_risk_ratio) for r in rows],
        next_cursor=next_cursor,
    )


@router.get("/cases/{case_id}/suggestions")
async def case_suggestions(
    case_id: uuid.UUID, cases: Cases, upstream: UpstreamDep, caller: CallerDep
) -> SuggestionsRead:
    """Which programmes the household qualifies for and why (`checked: false` with the
    problem when the eligibility service cannot be asked in time)."""
    case = await cases.get(case_id)
    found = await upstream.suggest(caller, case.household_id)
    return SuggestionsRead.model_validate(
        {
            "checked": found.checked,
            "evaluated_on": found.evaluated_on,
            "programs": [vars(p) for p in found.programs],
            "problem": problem_json(found.problem),
        }
    )


@router.post("/cases/{case_id}/referrals", status_code=status.HTTP_201_CREATED)
async def refer_from_suggestions(
    case_id: uuid.UUID,
    body: ReferralsFromSuggestions,
    cases: Cases,
    referrals: Referrals,
    upstream: UpstreamDep,
    caller: CallerDep,
    settings: SettingsDep,
    now: Now,
) -> CreatedReferrals:
    """Create one draft referral per programme code, each to the programme's owner, with
    the approval flag from the eligibility service; when it is down they are created
    unchecked and the answer says why."""
    case = await cases.get(case_id)
    referrals.require_referrer(cases.principal, case)
    found = await upstream.suggest(caller, case.household_id)
    targets = await targets_from(found, referrals.referrals, body.programs, body.organizations)
    created = [
        await referrals.create(cases.principal, case, target, priority=body.priority)
        for target in targets
    ]
    return CreatedReferrals(
        referrals=[referral_read(r, now, settings.sla_at_risk_ratio) for r in created],
        eligibility_checked=found.checked,
        problem=problem_json(found.problem),
    )
