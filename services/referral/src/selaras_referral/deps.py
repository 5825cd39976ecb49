"""Dependencies of the referral routes."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from fastapi import Depends, Request
from sqlalchemy.ext.asyncio import AsyncSession

from selaras_referral.clock import Clock
from selaras_referral.service.cases import CaseService
from selaras_referral.service.referrals import ReferralService
from selaras_referral.service.upstream import Caller, Upstream
from selaras_referral.settings import ReferralSettings
from selaras_shared.auth import CurrentPrincipal
from selaras_shared.db import get_session
from selaras_shared.i18n import negotiate_language
from selaras_shared.requestctx import current_request_id

# Every dependency is `async def`: FastAPI runs a plain `def` one in a worker thread, a
# hop that costs more than what these do (tests/test_routes.py checks there is none).
# scope="function": the commit happens before the response is sent.
Session = Annotated[AsyncSession, Depends(get_session, scope="function")]


async def get_upstream(request: Request) -> Upstream:
    """The app's registry and eligibility clients (created in the lifespan)."""
    upstream: Upstream = request.app.state.upstream
    return upstream


async def get_caller(request: Request) -> Caller:
    """This request as the caller of other services: its token, request id and language."""
    return Caller(
        authorization=request.headers.get("authorization", ""),
        request_id=current_request_id() or request.headers.get("x-request-id"),
        lang=negotiate_language(request.headers.get("accept-language")),
    )


UpstreamDep = Annotated[Upstream, Depends(get_upstream)]
CallerDep = Annotated[Caller, Depends(get_caller)]


async def get_now(request: Request) -> datetime:
    """The time of this request, from the app's clock (moved by tests, never slept)."""
    clock: Clock = request.app.state.clock
    return clock()


async def get_settings(request: Request) -> ReferralSettings:
    """The app's settings."""
    settings: ReferralSettings = request.app.state.settings
    return settings


async def get_cases(
    session: Session, principal: CurrentPrincipal, now: Annotated[datetime, Depends(get_now)]
) -> CaseService:
    """The case service for this request."""
    return CaseService(session, principal, now)


async def get_referrals(
    session: Session,
    settings: Annotated[ReferralSettings, Depends(get_settings)],
    now: Annotated[datetime, Depends(get_now)],
) -> ReferralService:
    """The referral service for this request."""
    return ReferralService(session, settings, now)


Now = Annotated[datetime, Depends(get_now)]
SettingsDep = Annotated[ReferralSettings, Depends(get_settings)]
Cases = Annotated[CaseService, Depends(get_cases)]
Referrals = Annotated[ReferralService, Depends(get_referrals)]
