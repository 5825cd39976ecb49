"""Dependencies of the eligibility routes: session and the catalogue service."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends
from sqlalchemy.ext.asyncio import AsyncSession

from selaras_eligibility.service import CatalogueService
from selaras_shared.auth import CurrentPrincipal
from selaras_shared.db import get_session

# scope="function": the commit happens before the response is sent.
Session = Annotated[AsyncSession, Depends(get_session, scope="function")]


async def get_service(session: Session, principal: CurrentPrincipal) -> CatalogueService:
    """The catalogue service for this request's principal."""
    return CatalogueService(session, principal)


Service = Annotated[CatalogueService, Depends(get_service)]
