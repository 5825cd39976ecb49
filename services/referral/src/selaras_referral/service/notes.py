"""Notes on a case and on a referral: written by who may read them, append-only.

Case notes follow the case's visibility (sensitive cases included); referral notes are
read and written by whoever may read the referral, partners on their own referrals.
Administrators and the `service` role do not write notes.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence

from sqlalchemy.ext.asyncio import AsyncSession

from selaras_referral import errors
from selaras_referral.models import Note
from selaras_referral.repository.cases import NoteRepository
from selaras_referral.schemas.notes import NoteRead
from selaras_referral.service.cases import CaseService
from selaras_referral.service.referrals import ReferralService
from selaras_shared.auth import Principal, Role
from selaras_shared.i18n import Text

_NOT_WRITERS = frozenset({Role.admin, Role.service})


class NoteService:
    """Notes for one principal over one session."""

    def __init__(self, session: AsyncSession, cases: CaseService, referrals: ReferralService):
        self.session = session
        self.cases = cases
        self.referrals = referrals
        self.notes = NoteRepository(session)

    @property
    def principal(self) -> Principal:
        """Who is asking."""
        return self.cases.principal

    async def add_to_case(self, case_id: uuid.UUID, text: str) -> Note:
        """A note on the case."""
        case = await self.cases.get(case_id)
        return await self._add(case.id, None, text)

    async def add_to_referral(self, referral_id: uuid.UUID, text: str) -> Note:
        """A note on the referral, announced to its receiver."""
        referral, case = await self.referrals.get(self.principal, referral_id)
        note = await self._add(case.id, referral.id, text)
        await self.referrals.announce(
            referral,
            {
                "to": "note_added",
                "note": NoteRead.model_validate(note.model_dump()).model_dump(mode="json"),
            },
        )
        return note

    async def of_case(
        self, case_id: uuid.UUID, *, limit: int, cursor: str | None
    ) -> tuple[Sequence[Note], str | None]:
        """The case's own notes, newest first."""
        case = await self.cases.get(case_id)
        return await self.notes.page(case.id, None, limit=limit, cursor=cursor)

    async def of_referral(
        self, referral_id: uuid.UUID, *, limit: int, cursor: str | None
    ) -> tuple[Sequence[Note], str | None]:
        """The referral's notes, newest first."""
        referral, case = await self.referrals.get(self.principal, referral_id)
        return await self.notes.page(case.id, referral.id, limit=limit, cursor=cursor)

    async def _add(self, case_id: uuid.UUID, referral_id: uuid.UUID | None, text: str) -> Note:
        if self.principal.role in _NOT_WRITERS:
            raise errors.not_allowed(
                Text(
                    "Peran {role} tidak menulis catatan",
                    "Role {role} does not write notes",
                    {"role": self.principal.role.value},
                )
            )
        note = Note(
            case_id=case_id,
            referral_id=referral_id,
            author=self.principal.subject,
            role=self.principal.role.value,
            organization=self.principal.organization,
            text=text,
            created_at=self.cases.now,
        )
        await self.notes.add(note)
        return note
