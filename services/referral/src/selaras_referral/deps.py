"""Dependencies of the referral routes."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends
from sqlalchemy.ext.asyncio import AsyncSession

from selaras_shared.db import get_session

# scope="function": the commit happens before the response is sent.
Session = Annotated[AsyncSession, Depends(get_session, scope="function")]
