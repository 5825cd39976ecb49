"""Note routes on cases and referrals (append-only: no changes, no deletions)."""

from __future__ import annotations

import uuid

from fastapi import APIRouter, status

from selaras_referral.api.params import Cursor, Limit
from selaras_referral.deps import Cases, Referrals, Session
from selaras_referral.models import Note
from selaras_referral.schemas.notes import NoteCreate, NoteRead
from selaras_referral.service.notes import NoteService
from selaras_shared.pagination import DEFAULT_LIMIT, Page

router = APIRouter(tags=["notes"])


def _page(rows: tuple[object, str | None]) -> Page[NoteRead]:
    notes, next_cursor = rows
    return Page[NoteRead](
        items=[NoteRead.model_validate(n.model_dump()) for n in notes],  # type: ignore[attr-defined]
        next_cursor=next_cursor,
    )


def _read(note: Note) -> NoteRead:
    return NoteRead.model_validate(note.model_dump())


@router.post("/cases/{case_id}/notes", status_code=status.HTTP_201_CREATED)
async def add_case_note(
    case_id: uuid.UUID, body: NoteCreate, session: Session, cases: Cases, referrals: Referrals
) -> NoteRead:
    """Add a note to the case."""
    return _read(await NoteService(session, cases, referrals).add_to_case(case_id, body.text))


@router.get("/cases/{case_id}/notes")
async def case_notes(
    case_id: uuid.UUID,
    session: Session,
    cases: Cases,
    referrals: Referrals,
    limit: Limit = DEFAULT_LIMIT,
    cursor: Cursor = None,
) -> Page[NoteRead]:
    """The case's notes, newest first."""
    service = NoteService(session, cases, referrals)
    return _page(await service.of_case(case_id, limit=limit, cursor=cursor))


@router.post("/referrals/{referral_id}/notes", status_code=status.HTTP_201_CREATED)
async def add_referral_note(
    referral_id: uuid.UUID, body: NoteCreate, session: Session, cases: Cases, referrals: Referrals
) -> NoteRead:
    """Add a note to the referral (announced to its receiver as `referral.note_added`)."""
    service = NoteService(session, cases, referrals)
    return _read(await service.add_to_referral(referral_id, body.text))


@router.get("/referrals/{referral_id}/notes")
async def referral_notes(
    referral_id: uuid.UUID,
    session: Session,
    cases: Cases,
    referrals: Referrals,
    limit: Limit = DEFAULT_LIMIT,
    cursor: Cursor = None,
) -> Page[NoteRead]:
    """The referral's notes, newest first."""
    service = NoteService(session, cases, referrals)
    return _page(await service.of_referral(referral_id, limit=limit, cursor=cursor))
