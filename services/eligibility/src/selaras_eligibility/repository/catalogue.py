"""Queries of the eligibility catalogue: organisations, programmes and rule-set versions."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date

from sqlalchemy import delete, func, or_, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from selaras_eligibility.models import Organization, Program, ProgramArea, RuleSet


def covering_prefixes(region_code: str) -> list[str]:
    """Every area prefix that covers `region_code`: national, province, regency, ..."""
    return [""] + [region_code[:n] for n in (2, 4, 6, 10) if n <= len(region_code)]


@dataclass(frozen=True)
class ProgramFilter:
    """What a programme list is narrowed to."""

    source_level: str | None = None
    region: str | None = None
    active_on: date | None = None
    owner_id: uuid.UUID | None = None


class CatalogueRepository:
    """Reads and writes of organisations, programmes and rule sets; flushes, never commits."""

    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def organization(self, organization_id: uuid.UUID) -> Organization | None:
        """One organisation by id."""
        return await self.session.get(Organization, organization_id)

    async def organization_by_code(self, code: str) -> Organization | None:
        """One organisation by code."""
        result = await self.session.scalars(
            select(Organization).where(col(Organization.code) == code)
        )
        return result.first()

    async def organizations(
        self, *, after: str | None, limit: int, kind: str | None = None
    ) -> Sequence[Organization]:
        """A page of organisations in code order, after the code `after`."""
        query = select(Organization).order_by(col(Organization.code)).limit(limit)
        if after is not None:
            query = query.where(col(Organization.code) > after)
        if kind is not None:
            query = query.where(col(Organization.kind) == kind)
        return (await self.session.scalars(query)).all()

    async def organizations_by_id(self, ids: set[uuid.UUID]) -> dict[uuid.UUID, Organization]:
        """Organisations by id, for serving programmes with their owner's code."""
        if not ids:
            return {}
        rows = await self.session.scalars(select(Organization).where(col(Organization.id).in_(ids)))
        return {row.id: row for row in rows}

    async def program(self, program_id: uuid.UUID) -> Program | None:
        """One programme by id."""
        return await self.session.get(Program, program_id)

    async def program_by_code(self, code: str) -> Program | None:
        """One programme by code."""
        result = await self.session.scalars(select(Program).where(col(Program.code) == code))
        return result.first()

    async def existing_codes(self, codes: Sequence[str]) -> set[str]:
        """Which of `codes` name programmes."""
        if not codes:
            return set()
        rows = await self.session.scalars(
            select(col(Program.code)).where(col(Program.code).in_(codes))
        )
        return set(rows)

    async def programs(
        self, where: ProgramFilter, *, after: str | None, limit: int
    ) -> Sequence[Program]:
        """A page of programmes in code order, after the code `after`."""
        query = select(Program).order_by(col(Program.code)).limit(limit)
        if after is not None:
            query = query.where(col(Program.code) > after)
        if where.source_level is not None:
            query = query.where(col(Program.source_level) == where.source_level)
        if where.owner_id is not None:
            query = query.where(col(Program.owner_id) == where.owner_id)
        if where.active_on is not None:
            query = query.where(
                col(Program.active_from) <= where.active_on,
                or_(col(Program.active_to).is_(None), col(Program.active_to) >= where.active_on),
            )
        if where.region is not None:
            covering = select(col(ProgramArea.program_id)).where(
                col(ProgramArea.prefix).in_(covering_prefixes(where.region))
            )
            query = query.where(col(Program.id).in_(covering))
        return (await self.session.scalars(query)).all()

    async def areas(self, program_ids: Sequence[uuid.UUID]) -> dict[uuid.UUID, list[str]]:
        """The area prefixes of each programme, sorted."""
        found: dict[uuid.UUID, list[str]] = {pid: [] for pid in program_ids}
        if not program_ids:
            return found
        rows = await self.session.execute(
            select(col(ProgramArea.program_id), col(ProgramArea.prefix))
            .where(col(ProgramArea.program_id).in_(program_ids))
            .order_by(col(ProgramArea.prefix))
        )
        for program_id, prefix in rows:
            found[program_id].append(prefix)
        return found

    async def set_areas(self, program_id: uuid.UUID, prefixes: Sequence[str]) -> None:
        """Replace the area prefixes of a programme."""
        await self.session.execute(
            delete(ProgramArea).where(col(ProgramArea.program_id) == program_id)
        )
        self.session.add_all(ProgramArea(program_id=program_id, prefix=p) for p in prefixes)
        await self.session.flush()

    async def rule_set(self, program_id: uuid.UUID, version: int) -> RuleSet | None:
        """One rule-set version of a programme."""
        result = await self.session.scalars(
            select(RuleSet).where(
                col(RuleSet.program_id) == program_id, col(RuleSet.version) == version
            )
        )
        return result.first()

    async def rule_sets(self, program_id: uuid.UUID) -> Sequence[RuleSet]:
        """Every rule-set version of a programme, newest first."""
        result = await self.session.scalars(
            select(RuleSet)
            .where(col(RuleSet.program_id) == program_id)
            .order_by(col(RuleSet.version).desc())
        )
        return result.all()

    async def rule_set_by_hash(self, program_id: uuid.UUID, sha256: str) -> RuleSet | None:
        """A version of the programme with exactly this content, if any."""
        result = await self.session.scalars(
            select(RuleSet).where(
                col(RuleSet.program_id) == program_id, col(RuleSet.content_sha256) == sha256
            )
        )
        return result.first()

    async def next_rule_set_version(self, program_id: uuid.UUID) -> int:
        """The number the next rule-set version of a programme gets."""
        current = await self.session.scalar(
            select(func.max(col(RuleSet.version))).where(col(RuleSet.program_id) == program_id)
        )
        return int(current or 0) + 1

    async def published_on(self, program_id: uuid.UUID, effective_from: date) -> Sequence[RuleSet]:
        """Published versions of a programme taking effect on exactly `effective_from`."""
        result = await self.session.scalars(
            select(RuleSet).where(
                col(RuleSet.program_id) == program_id,
                col(RuleSet.status) == "published",
                col(RuleSet.effective_from) == effective_from,
            )
        )
        return result.all()

    async def rule_sets_in_force(
        self, program_ids: Sequence[uuid.UUID], on: date
    ) -> dict[uuid.UUID, RuleSet]:
        """For each programme, the published rule set in force on `on` (the one that took
        effect last, the newest version if two did on the same day); absent when none."""
        if not program_ids:
            return {}
        rows = await self.session.scalars(
            select(RuleSet)
            .where(
                col(RuleSet.program_id).in_(program_ids),
                col(RuleSet.status) == "published",
                col(RuleSet.effective_from) <= on,
                or_(col(RuleSet.effective_to).is_(None), col(RuleSet.effective_to) > on),
            )
            .order_by(col(RuleSet.effective_from).desc(), col(RuleSet.version).desc())
        )
        found: dict[uuid.UUID, RuleSet] = {}
        for row in rows:
            found.setdefault(row.program_id, row)
        return found
