"""Dependencies of the registry routes: session, caller, services."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Header, Request
from sqlalchemy.ext.asyncio import AsyncSession

from selaras_registry.service import Caller, HouseholdReads, RegistryService
from selaras_shared.auth import CurrentPrincipal
from selaras_shared.db import get_session
from selaras_shared.requestctx import current_request_id

# scope="function": the commit happens before the response is sent.
Session = Annotated[AsyncSession, Depends(get_session, scope="function")]


async def get_caller(
    principal: CurrentPrincipal,
    x_purpose: Annotated[
        str | None,
        Header(max_length=200, description="why personal data is read (written to the access log)"),
    ] = None,
    x_change_source: Annotated[
        str | None,
        Header(max_length=50, pattern=r"^[a-z0-9_.:-]+$", description="where a change comes from"),
    ] = None,
) -> Caller:
    """The principal and what the request says about itself."""
    return Caller(
        principal=principal,
        source=x_change_source or "api",
        purpose=x_purpose,
        request_id=current_request_id(),
    )


async def get_service(
    session: Session, caller: Annotated[Caller, Depends(get_caller)]
) -> RegistryService:
    """The registry service for this request."""
    return RegistryService(session, caller)


Service = Annotated[RegistryService, Depends(get_service)]


async def get_reads(
    request: Request, caller: Annotated[Caller, Depends(get_caller)]
) -> HouseholdReads:
    """Reads of one household by id (no session of the request)."""
    return HouseholdReads(request.app.state.sessionmaker, caller)


Reads = Annotated[HouseholdReads, Depends(get_reads)]
