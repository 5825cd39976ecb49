"""Domain rules of the catalogue: who may write, codes and references, the rule-set
draft -> published -> retired workflow."""

from __future__ import annotations

import uuid
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from selaras_eligibility.errors import (
    code_taken,
    field_invalid,
    organization_not_found,
    program_not_found,
    rule_set_duplicate,
    rule_set_immutable,
    rule_set_not_found,
)
from selaras_eligibility.models import Organization, Program, RuleSet
from selaras_eligibility.repository import CatalogueRepository, ProgramFilter
from selaras_eligibility.rules.document import RuleSetDocument
from selaras_eligibility.schemas import (
    OrganizationCreate,
    OrganizationRead,
    OrganizationUpdate,
    ProgramCreate,
    ProgramRead,
    ProgramUpdate,
    RuleSetRead,
    RuleSetStatus,
    RuleSetSummary,
)
from selaras_shared.auth import Permission, Principal
from selaras_shared.db import utcnow
from selaras_shared.errors import FieldIssue, InvalidInput
from selaras_shared.etag import stale
from selaras_shared.i18n import Text


def organization_read(organization: Organization) -> OrganizationRead:
    """The served form of an organisation."""
    return OrganizationRead.model_validate(organization, from_attributes=True)


class CatalogueService:
    """Organisations, programmes and rule sets for one caller; the session is the request's."""

    def __init__(self, session: AsyncSession, principal: Principal) -> None:
        self.principal = principal
        self.repo = CatalogueRepository(session)
        self.session = session

    # --- organisations ------------------------------------------------------------------

    def _require_write(self, region: str) -> None:
        self.principal.require(Permission.catalogue)
        self.principal.require_covers(region)

    async def create_organization(self, body: OrganizationCreate) -> OrganizationRead:
        """Register an organisation in the caller's jurisdiction."""
        self._require_write(body.region)
        if await self.repo.organization_by_code(body.code) is not None:
            raise code_taken("Organisasi", "organisation", body.code)
        organization = Organization(**body.model_dump(mode="json"))
        self.session.add(organization)
        await self.session.flush()
        return organization_read(organization)

    async def organization(self, organization_id: uuid.UUID) -> OrganizationRead:
        """One organisation."""
        return organization_read(await self._organization(organization_id))

    async def _organization(self, organization_id: uuid.UUID) -> Organization:
        found = await self.repo.organization(organization_id)
        if found is None:
            raise organization_not_found(str(organization_id))
        return found

    async def organizations(
        self, *, after: str | None, limit: int, kind: str | None
    ) -> list[OrganizationRead]:
        """A page of organisations."""
        rows = await self.repo.organizations(after=after, limit=limit, kind=kind)
        return [organization_read(row) for row in rows]

    async def update_organization(
        self, organization_id: uuid.UUID, body: OrganizationUpdate, expected: int | None
    ) -> OrganizationRead:
        """Change an organisation; `expected` is the version from If-Match."""
        organization = await self._organization(organization_id)
        self._require_write(organization.region)
        if expected is not None and expected != organization.version:
            raise stale(organization.version, f'"{expected}"')
        changes = body.model_dump(mode="json", exclude_unset=True, exclude_none=True)
        if "region" in changes:
            self.principal.require_covers(changes["region"])
        if changes:
            for name, value in changes.items():
                setattr(organization, name, value)
            organization.version += 1
            organization.updated_at = utcnow()
            await self.session.flush()
        return organization_read(organization)

    # --- programmes ---------------------------------------------------------------------

    async def _owner(self, code: str) -> Organization:
        owner = await self.repo.organization_by_code(code)
        if owner is None:
            raise field_invalid(
                "owner",
                "organization_unknown",
                Text(
                    "Organisasi {code} tidak dikenal", "Unknown organisation {code}", {"code": code}
                ),
            )
        return owner

    async def _check_excludes(self, excludes: list[str]) -> None:
        known = await self.repo.existing_codes(excludes)
        issues = [
            FieldIssue(
                f"excludes.{i}",
                "program_unknown",
                Text("Program {code} tidak dikenal", "Unknown programme {code}", {"code": code}),
            )
            for i, code in enumerate(excludes)
            if code not in known
        ]
        if issues:
            raise InvalidInput(issues[0].message, errors=issues)

    async def create_program(self, body: ProgramCreate) -> ProgramRead:
        """Register a programme owned by an organisation in the caller's jurisdiction."""
        self.principal.require(Permission.catalogue)
        owner = await self._owner(body.owner)
        self.principal.require_covers(owner.region)
        if await self.repo.program_by_code(body.code) is not None:
            raise code_taken("Program", "programme", body.code)
        await self._check_excludes(body.excludes)
        fields = body.model_dump(mode="json", exclude={"owner", "areas"})
        fields["active_from"] = body.active_from
        fields["active_to"] = body.active_to
        program = Program(**fields, owner_id=owner.id)
        self.session.add(program)
        await self.session.flush()
        areas = sorted(set(body.areas))
        await self.repo.set_areas(program.id, areas)
        return _program_read(program, owner.code, areas)

    async def _program(self, program_id: uuid.UUID) -> Program:
        found = await self.repo.program(program_id)
        if found is None:
            raise program_not_found(str(program_id))
        return found

    async def program(self, program_id: uuid.UUID) -> ProgramRead:
        """One programme."""
        program = await self._program(program_id)
        return (await self._program_reads([program]))[0]

    async def programs(
        self, where: ProgramFilter, *, after: str | None, limit: int
    ) -> list[ProgramRead]:
        """A page of programmes."""
        return await self._program_reads(await self.repo.programs(where, after=after, limit=limit))

    async def _program_reads(self, programs: list[Program] | Any) -> list[ProgramRead]:
        owners = await self.repo.organizations_by_id({p.owner_id for p in programs})
        areas = await self.repo.areas([p.id for p in programs])
        return [_program_read(p, owners[p.owner_id].code, areas[p.id]) for p in programs]

    async def update_program(
        self, program_id: uuid.UUID, body: ProgramUpdate, expected: int | None
    ) -> ProgramRead:
        """Change a programme; `expected` is the version from If-Match."""
        program = await self._program(program_id)
        self.principal.require(Permission.catalogue)
        current_owner = await self.repo.organization(program.owner_id)
        assert current_owner is not None  # a foreign key
        self.principal.require_covers(current_owner.region)
        if expected is not None and expected != program.version:
            raise stale(program.version, f'"{expected}"')
        changes = body.model_dump(exclude_unset=True)
        if not changes:
            return (await self._program_reads([program]))[0]
        if "owner" in changes:
            owner = await self._owner(changes.pop("owner"))
            self.principal.require_covers(owner.region)
            program.owner_id = owner.id
        if "excludes" in changes:
            if program.code in changes["excludes"]:
                raise field_invalid(
                    "excludes",
                    "program_self_excluded",
                    Text(
                        "Program tidak dapat mengecualikan dirinya",
                        "A programme cannot exclude itself",
                    ),
                )
            await self._check_excludes(changes["excludes"])
        active_from = changes.get("active_from", program.active_from)
        active_to = changes.get("active_to", program.active_to)
        if active_to is not None and active_to < active_from:
            raise field_invalid(
                "active_to",
                "period_invalid",
                Text("active_to sebelum active_from", "active_to is before active_from"),
            )
        if "areas" in changes:
            await self.repo.set_areas(program.id, sorted(set(changes.pop("areas"))))
        dumped = body.model_dump(mode="json", include=set(changes))
        for name in changes:
            value = changes[name] if name in ("active_from", "active_to") else dumped[name]
            setattr(program, name, value)
        program.version += 1
        program.updated_at = utcnow()
        await self.session.flush()
        return (await self._program_reads([program]))[0]

    # --- rule sets ----------------------------------------------------------------------

    async def add_rule_set(
        self, program_id: uuid.UUID, checked: tuple[RuleSetDocument, str]
    ) -> RuleSetRead:
        """Store a compiled document (see `documents.checked`) as the next draft version."""
        program = await self._program(program_id)
        await self._require_program_write(program)
        header, sha256 = checked
        if header.program != program.code:
            raise _program_mismatch(header.program, program.code)
        same = await self.repo.rule_set_by_hash(program.id, sha256)
        if same is not None:
            raise rule_set_duplicate(same.version)
        rule_set = RuleSet(
            program_id=program.id,
            version=await self.repo.next_rule_set_version(program.id),
            status=RuleSetStatus.draft.value,
            effective_from=header.effective_from,
            effective_to=header.effective_to,
            document=header.model_dump(mode="json"),
            content_sha256=sha256,
            created_by=self.principal.subject,
        )
        self.session.add(rule_set)
        await self.session.flush()
        return _rule_set_read(rule_set, program.code)

    async def _require_program_write(self, program: Program) -> None:
        self.principal.require(Permission.catalogue)
        owner = await self.repo.organization(program.owner_id)
        assert owner is not None  # a foreign key
        self.principal.require_covers(owner.region)

    async def rule_sets(self, program_id: uuid.UUID) -> list[RuleSetSummary]:
        """Every version of a programme's rule set, newest first."""
        program = await self._program(program_id)
        return [
            RuleSetSummary.model_validate(_summary_fields(r, program.code))
            for r in await self.repo.rule_sets(program.id)
        ]

    async def rule_set(self, program_id: uuid.UUID, version: int) -> RuleSetRead:
        """One version of a programme's rule set, with its document."""
        program = await self._program(program_id)
        return _rule_set_read(await self._rule_set(program, version), program.code)

    async def _rule_set(self, program: Program, version: int) -> RuleSet:
        found = await self.repo.rule_set(program.id, version)
        if found is None:
            raise rule_set_not_found(program.code, version)
        return found

    async def replace_draft(
        self, program_id: uuid.UUID, version: int, checked: tuple[RuleSetDocument, str]
    ) -> RuleSetRead:
        """Replace the document of a draft; published and retired versions never change."""
        program = await self._program(program_id)
        await self._require_program_write(program)
        rule_set = await self._rule_set(program, version)
        if rule_set.status != RuleSetStatus.draft:
            raise rule_set_immutable(version, rule_set.status)
        header, sha256 = checked
        if header.program != program.code:
            raise _program_mismatch(header.program, program.code)
        same = await self.repo.rule_set_by_hash(program.id, sha256)
        if same is not None and same.id != rule_set.id:
            raise rule_set_duplicate(same.version)
        rule_set.document = header.model_dump(mode="json")
        rule_set.content_sha256 = sha256
        rule_set.effective_from = header.effective_from
        rule_set.effective_to = header.effective_to
        await self.session.flush()
        return _rule_set_read(rule_set, program.code)

    async def publish(self, program_id: uuid.UUID, version: int) -> RuleSetRead:
        """Publish a draft; a published version taking effect on the same day is retired."""
        program = await self._program(program_id)
        await self._require_program_write(program)
        rule_set = await self._rule_set(program, version)
        if rule_set.status != RuleSetStatus.draft:
            raise rule_set_immutable(version, rule_set.status)
        now = utcnow()
        for older in await self.repo.published_on(program.id, rule_set.effective_from):
            older.status = RuleSetStatus.retired.value
            older.retired_at = now
        rule_set.status = RuleSetStatus.published.value
        rule_set.published_by = self.principal.subject
        rule_set.published_at = now
        await self.session.flush()
        return _rule_set_read(rule_set, program.code)


def _program_read(program: Program, owner_code: str, areas: list[str]) -> ProgramRead:
    fields = program.model_dump()
    fields.update(owner=owner_code, areas=areas)
    return ProgramRead.model_validate(fields)


def _summary_fields(rule_set: RuleSet, program_code: str) -> dict[str, Any]:
    fields = rule_set.model_dump(exclude={"document"})
    fields["program"] = program_code
    return fields


def _rule_set_read(rule_set: RuleSet, program_code: str) -> RuleSetRead:
    return RuleSetRead.model_validate(
        {**_summary_fields(rule_set, program_code), "document": rule_set.document}
    )


def _program_mismatch(named: str, code: str) -> InvalidInput:
    return field_invalid(
        "program",
        "program_mismatch",
        Text(
            "Dokumen untuk program {named}, bukan {code}",
            "The document is for programme {named}, not {code}",
            {"named": named, "code": code},
        ),
    )
