"""Dependencies of the referral routes."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Request
from sqlalchemy.ext.asyncio import AsyncSession

from selaras_referral.service.upstream import Caller, Upstream
from selaras_shared.db import get_session
from selaras_shared.i18n import negotiate_language
from selaras_shared.requestctx import current_request_id

# scope="function": the commit happens before the response is sent.
Session = Annotated[AsyncSession, Depends(get_session, scope="function")]


def get_upstream(request: Request) -> Upstream:
    """The app's registry and eligibility clients (created in the lifespan)."""
    upstream: Upstream = request.app.state.upstream
    return upstream


def get_caller(request: Request) -> Caller:
    """This request as the caller of other services: its token, request id and language."""
    return Caller(
        authorization=request.headers.get("authorization", ""),
        request_id=current_request_id() or request.headers.get("x-request-id"),
        lang=negotiate_language(request.headers.get("accept-language")),
    )


UpstreamDep = Annotated[Upstream, Depends(get_upstream)]
CallerDep = Annotated[Caller, Depends(get_caller)]
