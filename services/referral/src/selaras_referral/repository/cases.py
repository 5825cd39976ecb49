"""Case and note queries."""

from __future__ import annotations

import uuid
from collections.abc import Sequence

from sqlalchemy import ColumnElement, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from selaras_referral.models import IntakeCase, Note
from selaras_referral.repository.pages import newest_first


class CaseRepository:
    """Queries on intake cases."""

    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def get(self, case_id: uuid.UUID, *, for_update: bool = False) -> IntakeCase | None:
        """The case, fresh from the database (row-locked until commit with `for_update`, so
        that two concurrent changes of one version cannot both pass the If-Match check)."""
        return await self.session.get(
            IntakeCase, case_id, populate_existing=True, with_for_update=for_update or None
        )

    async def add(self, case: IntakeCase) -> None:
        """Insert a case."""
        self.session.add(case)
        await self.session.flush()

    async def page(
        self, visible: ColumnElement[bool], *, limit: int, cursor: str | None
    ) -> tuple[Sequence[IntakeCase], str | None]:
        """One page of the cases matching `visible`, newest first."""
        statement = select(IntakeCase).where(visible)
        return await newest_first(
            self.session,
            statement,
            IntakeCase.created_at,  # type: ignore[arg-type]
            IntakeCase.id,  # type: ignore[arg-type]
            limit=limit,
            cursor=cursor,
        )


class NoteRepository:
    """Queries on notes."""

    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def add(self, note: Note) -> None:
        """Insert a note."""
        self.session.add(note)
        await self.session.flush()

    async def page(
        self,
        case_id: uuid.UUID,
        referral_id: uuid.UUID | None,
        *,
        limit: int,
        cursor: str | None,
    ) -> tuple[Sequence[Note], str | None]:
        """The notes of a case (referral_id None) or of one of its referrals, newest first."""
        statement = select(Note).where(col(Note.case_id) == case_id)
        if referral_id is None:
            statement = statement.where(col(Note.referral_id).is_(None))
        else:
            statement = statement.where(col(Note.referral_id) == referral_id)
        return await newest_first(
            self.session,
            statement,
            Note.created_at,  # type: ignore[arg-type]
            Note.id,  # type: ignore[arg-type]
            limit=limit,
            cursor=cursor,
        )
