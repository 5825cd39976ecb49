"""Household use cases: who sees and changes which household, versions, masking, access log."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, replace
from datetime import datetime
from typing import Any, Literal

from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import (
    AsyncConnection,
    AsyncEngine,
    AsyncSession,
    async_sessionmaker,
)

from selaras_registry import errors
from selaras_registry import nik as nik_rules
from selaras_registry.codes import DeactivationReason
from selaras_registry.documents import (
    CREATED,
    diff_documents,
    household_document,
    mask_changes,
    mask_document,
    member_document,
    search_tags,
    version_changes,
)
from selaras_registry.models import Household, HouseholdVersion, Member
from selaras_registry.regions import fold
from selaras_registry.repository import (
    AccessLogRepository,
    CurrentReads,
    HouseholdFilter,
    HouseholdRepository,
    VersionRepository,
)
from selaras_registry.schemas import (
    Deactivation,
    HouseholdCreate,
    HouseholdUpdate,
    MemberCreate,
    MemberMove,
    MemberUpdate,
)
from selaras_shared.auth import Permission, Principal
from selaras_shared.db import autocommit, utcnow
from selaras_shared.errors import Conflict, Forbidden
from selaras_shared.etag import etag_for, stale
from selaras_shared.i18n import Text
from selaras_shared.pagination import Page, encode_cursor, read_cursor

HEAD = "kepala_keluarga"


@dataclass(frozen=True)
class Caller:
    """The principal behind a request, and what it said about the request."""

    principal: Principal
    source: str = "api"
    purpose: str | None = None
    request_id: str | None = None

    @property
    def sees_personal_data(self) -> bool:
        """Whether NIK, names and the like are shown unmasked."""
        return self.principal.can(Permission.personal_data)

    def reads(
        self,
        action: str,
        household_ids: list[uuid.UUID | None],
        *,
        region: str | None = None,
        records: int | None = None,
    ) -> list[dict[str, Any]]:
        """Access-log rows for reads of personal data by this caller: one per household,
        or for a bulk read one row (household None) naming the region and the count."""
        principal = self.principal
        now = utcnow()
        return [
            {
                "at": now,
                "subject": principal.subject,
                "role": principal.role.value,
                "organization": principal.organization,
                "household_id": household_id,
                "region": region or None,
                "records": records,
                "action": action,
                "purpose": self.purpose,
                "request_id": self.request_id,
            }
            for household_id in household_ids
        ]


@dataclass(frozen=True)
class Served:
    """A household document ready to serve, with its ETag."""

    document: dict[str, Any]
    etag: str


@dataclass(frozen=True)
class Upserted:
    """What `RegistryService.put` did, and the household as it now is."""

    outcome: Literal["created", "updated", "unchanged"]
    served: Served


class RegistryService:
    """Use cases of the registry over one database session."""

    def __init__(self, session: AsyncSession, caller: Caller) -> None:
        self.session = session
        self.caller = caller
        self.households = HouseholdRepository(session)
        self.versions = VersionRepository(session)
        self.access_log = AccessLogRepository(session)

    # --- reads ------------------------------------------------------------------------

    async def get(self, household_id: uuid.UUID, as_of: datetime | None = None) -> Served:
        """One household, now or as it was at `as_of`."""
        if as_of is None:
            current = await self.versions.current(household_id)
            if current is None or not self.caller.principal.covers(current.village_code):
                raise errors.household_not_found(household_id)
            document = current.document
        else:
            household = await self._visible(household_id)
            stored = await self.versions.document_as_of(household.id, as_of)
            if stored is None:
                raise errors.household_not_found(household_id)
            document = stored
        await self._log_reads([household_id], "read" if as_of is None else "read_as_of")
        return _served(self.caller, document)

    async def search(
        self, criteria: HouseholdFilter, *, limit: int, cursor: str | None
    ) -> Page[dict[str, Any]]:
        """Households matching `criteria` within the caller's jurisdiction, one page."""
        principal = self.caller.principal
        if (
            criteria.nik or criteria.kk_number or criteria.name_key
        ) and not self.caller.sees_personal_data:
            raise Forbidden(
                Text(
                    "Pencarian dengan NIK, nomor KK atau nama memerlukan hak data pribadi",
                    "Searching by NIK, KK number or name requires personal-data rights",
                )
            )
        region = _narrowest(principal, criteria.region)
        after = read_cursor(cursor, "id", uuid.UUID) if cursor else None
        rows = await self.households.search(
            replace(criteria, region=region), after=after, limit=limit + 1
        )
        page, more = rows[:limit], len(rows) > limit
        members = await self.households.active_members([h.id for h in page])
        await self._log_reads([h.id for h in page], "search")
        return Page(
            items=[_present(self.caller, household_document(h, members[h.id])) for h in page],
            next_cursor=encode_cursor({"id": str(page[-1].id)}) if more else None,
        )

    async def history(
        self, household_id: uuid.UUID, *, limit: int, cursor: str | None
    ) -> Page[dict[str, Any]]:
        """The versions of a household, oldest first."""
        household = await self._visible(household_id)
        after = read_cursor(cursor, "version", _version) if cursor else 0
        rows = await self.versions.list(household.id, after_version=after, limit=limit + 1)
        page, more = rows[:limit], len(rows) > limit
        await self._log_reads([household.id], "history")
        items = [
            {
                **row.model_dump(include=_HISTORY_FIELDS),
                "changes": version_changes(row.change, row.changes, row.document),
            }
            for row in page
        ]
        if not self.caller.sees_personal_data:
            for item in items:
                item["changes"] = mask_changes(item["changes"])
        next_cursor = encode_cursor({"version": page[-1].version}) if more else None
        return Page(items=items, next_cursor=next_cursor)

    # --- writes -----------------------------------------------------------------------

    async def create(self, data: HouseholdCreate) -> Served:
        """Register a household with its members (version 1)."""
        self._require(Permission.write)
        self.caller.principal.require_covers(data.village_code)
        if data.id is not None and await self.households.get(data.id) is not None:
            raise errors.household_exists(data.id)
        holders = await self.households.holders_of_niks(m.nik for m in data.members)
        for index, member in enumerate(data.members):
            if member.nik in holders:
                raise errors.duplicate_nik(member.nik, holders[member.nik], f"members.{index}.nik")
        fields = data.model_dump(exclude={"id", "members"}, mode="json")
        fields["verified_on"] = data.verified_on  # a date column, not its JSON string
        household = Household(**fields)
        if data.id is not None:
            household.id = data.id
        self.session.add(household)
        members = [
            _new_member(household.id, m, position) for position, m in enumerate(data.members)
        ]
        self.session.add_all(members)
        await self._flush()
        return await self._record(household, members, "created")

    async def put(
        self,
        data: HouseholdCreate,
        *,
        household_id: uuid.UUID | None = None,
        expected: int | None = None,
        change: str = "replaced",
    ) -> Upserted:
        """Create the household, or bring an existing one to exactly `data`.

        The household is `household_id` (or `data.id`). Members are matched on NIK: new
        ones are added, changed ones corrected, and active members missing from `data` are
        taken off with reason `other`. Nothing is written when nothing differs. When
        `expected` is given and the household has moved past it with different content,
        the answer is a 412 carrying the current version (the caller's copy is stale).
        """
        self._require(Permission.write)
        target = household_id or data.id
        existing = await self.households.get(target) if target is not None else None
        if existing is None:
            created = await self.create(data.model_copy(update={"id": target}))
            return Upserted("created", created)
        if not self.caller.principal.covers(existing.village_code):
            raise errors.household_not_found(existing.id)
        if existing.status != "active":
            raise errors.household_inactive(existing.id)
        self.caller.principal.require_covers(data.village_code)
        members = await self._members(existing.id)
        before = household_document(existing, members)
        fields = data.model_dump(exclude={"id", "members"}, mode="json")
        by_nik = {m.nik: m for m in members}
        wanted = {m.nik: m for m in data.members}
        same_fields = all(before[key] == value for key, value in fields.items())
        same_members = by_nik.keys() == wanted.keys() and all(
            _member_fields(member_document(by_nik[nik])) == wanted[nik].model_dump(mode="json")
            for nik in wanted
        )
        if same_fields and same_members:
            await self._log_reads([existing.id], "read")
            return Upserted(
                "unchanged", Served(_present(self.caller, before), etag_for(existing.version))
            )
        household = await self._claim(
            existing.id, existing.version if expected is None else expected
        )
        fields["verified_on"] = data.verified_on
        for field, value in fields.items():
            setattr(household, field, value)
        holders = await self.households.holders_of_niks(n for n in wanted if n not in by_nik)
        position = await self.households.next_position(household.id)
        kept: list[Member] = []
        for index, (nik, incoming) in enumerate(wanted.items()):
            current = by_nik.get(nik)
            if current is None:
                if nik in holders:
                    raise errors.duplicate_nik(nik, holders[nik], f"members.{index}.nik")
                current = _new_member(household.id, incoming, position)
                position += 1
                self.session.add(current)
            else:
                _assign_member(current, incoming)
            kept.append(current)
        for nik, member in by_nik.items():
            if nik not in wanted:
                _deactivate(member, _NOT_IN_DOCUMENT)
        await self._flush()
        served = await self._record(household, kept, change, before=before)
        return Upserted("updated", served)

    async def update(
        self, household_id: uuid.UUID, patch: HouseholdUpdate, expected: int | None
    ) -> Served:
        """Apply a merge patch to household fields."""
        self._require(Permission.write)
        household = await self._claim(household_id, expected)
        changes = patch.model_dump(exclude_unset=True, mode="json")
        if "verified_on" in changes:
            changes["verified_on"] = patch.verified_on
        if "village_code" in changes and changes["village_code"] is not None:
            self.caller.principal.require_covers(changes["village_code"])
        if "housing" in changes:
            changes["housing"] = {**household.housing, **(changes["housing"] or {})}
        for field in (
            "kk_number",
            "address",
            "village_code",
            "registry_status",
            "housing",
            "programs_received",
            "ppks",
            "data_source",
        ):
            if field in changes and changes[field] is None:
                raise errors.field_invalid(
                    field,
                    "missing",
                    Text("Kolom ini tidak boleh dikosongkan", "This field cannot be null"),
                )
        for field, value in changes.items():
            setattr(household, field, value)
        members = await self._members(household.id)
        return await self._record(household, members, "updated")

    async def add_member(
        self, household_id: uuid.UUID, data: MemberCreate, expected: int | None
    ) -> Served:
        """Add a person to a household."""
        self._require(Permission.write)
        household = await self._claim(household_id, expected)
        members = await self._members(household.id)
        holder = await self.households.holder_of_nik(data.nik)
        if holder is not None:
            raise errors.duplicate_nik(data.nik, holder)
        if data.relationship.value == HEAD:
            _require_no_head(members)
        member = _new_member(household.id, data, await self.households.next_position(household.id))
        self.session.add(member)
        await self._flush()
        return await self._record(household, [*members, member], "member_added")

    async def update_member(
        self,
        household_id: uuid.UUID,
        member_id: uuid.UUID,
        patch: MemberUpdate,
        expected: int | None,
    ) -> Served:
        """Correct a member's data; NIK, sex and birth date must still agree."""
        self._require(Permission.write)
        household = await self._claim(household_id, expected)
        members = await self._members(household.id)
        member = _member_of(members, member_id)
        changes = patch.model_dump(exclude_unset=True, mode="json")
        for field in ("nik", "name", "sex", "birth_date", "relationship", "pregnant", "ppks"):
            if field in changes and changes[field] is None:
                raise errors.field_invalid(
                    field,
                    "missing",
                    Text("Kolom ini tidak boleh dikosongkan", "This field cannot be null"),
                )
        if changes.get("relationship") == HEAD and member.relationship != HEAD:
            _require_no_head([m for m in members if m.id != member.id])
        if "nik" in changes and changes["nik"] != member.nik:
            holder = await self.households.holder_of_nik(changes["nik"])
            if holder is not None:
                raise errors.duplicate_nik(changes["nik"], holder)
        if "disability" in changes:
            disability = changes.pop("disability") or {}
            member.disability_type = disability.get("type")
            member.disability_severity = disability.get("severity")
        if "birth_date" in changes:
            changes["birth_date"] = patch.birth_date
        for field, value in changes.items():
            setattr(member, field, value)
        if "name" in changes:
            member.name_key = fold(member.name)
        _check_person(member)
        await self._flush()
        return await self._record(household, members, "member_updated")

    async def remove_member(
        self,
        household_id: uuid.UUID,
        member_id: uuid.UUID,
        reason: Deactivation,
        expected: int | None,
    ) -> Served:
        """Take a person off a household (died, moved, duplicate) without deleting them."""
        self._require(Permission.write)
        household = await self._claim(household_id, expected)
        members = await self._members(household.id)
        member = _member_of(members, member_id)
        if len(members) == 1:
            raise errors.last_member()
        _deactivate(member, reason)
        await self._flush()
        return await self._record(household, members, "member_removed", reason.reason.value)

    async def move_member(
        self, household_id: uuid.UUID, member_id: uuid.UUID, move: MemberMove, expected: int | None
    ) -> Served:
        """Move a person to another household: both change in one transaction, or neither."""
        self._require(Permission.write)
        if move.target_household_id == household_id:
            raise errors.field_invalid(
                "target_household_id",
                "same_household",
                Text("Keluarga tujuan sama dengan keluarga asal", "Target is the same household"),
            )
        # Lock both rows in id order so that two opposite moves cannot deadlock.
        ordered = sorted([household_id, move.target_household_id])
        claimed: dict[uuid.UUID, Household] = {}
        for hid in ordered:
            is_source = hid == household_id
            claimed[hid] = await self._claim(hid, expected if is_source else None)
        source, target = claimed[household_id], claimed[move.target_household_id]
        source_members = await self._members(source.id)
        member = _member_of(source_members, member_id)
        if len(source_members) == 1:
            raise errors.last_member()
        target_members = await self._members(target.id)
        if move.relationship.value == HEAD:
            _require_no_head(target_members)
        member.household_id = target.id
        member.relationship = move.relationship.value
        member.position = await self.households.next_position(target.id)
        await self._flush()
        await self._record(target, [*target_members, member], "member_moved_in")
        return await self._record(
            source, [m for m in source_members if m.id != member.id], "member_moved_out"
        )

    async def deactivate(
        self, household_id: uuid.UUID, reason: Deactivation, expected: int | None
    ) -> Served:
        """Deactivate a household and its members with a reason; nothing is deleted."""
        self._require(Permission.deactivate)
        household = await self._claim(household_id, expected)
        members = await self._members(household.id)
        household.status = "inactive"
        household.deactivation_reason = reason.reason.value
        household.deactivation_note = reason.note
        household.deactivated_at = utcnow()
        for member in members:
            _deactivate(member, reason)
        await self._flush()
        return await self._record(household, members, "deactivated", reason.reason.value)

    # --- helpers ----------------------------------------------------------------------

    def _require(self, permission: Permission) -> None:
        self.caller.principal.require(permission)

    async def _visible(self, household_id: uuid.UUID) -> Household:
        return self._check_visible(household_id, await self.households.get(household_id))

    def _check_visible(self, household_id: uuid.UUID, household: Household | None) -> Household:
        if household is None or not self.caller.principal.covers(household.village_code):
            # Outside the jurisdiction looks the same as absent: existence is not leaked.
            raise errors.household_not_found(household_id)
        return household

    async def _claim(self, household_id: uuid.UUID, expected: int | None) -> Household:
        household = await self.households.claim(
            household_id, self.caller.principal.jurisdiction, expected
        )
        if household is not None:
            return household
        current = await self._visible(household_id)
        if current.status != "active":
            raise errors.household_inactive(household_id)
        raise stale(current.version, etag_for(expected) if expected is not None else "*")

    async def _members(self, household_id: uuid.UUID) -> list[Member]:
        return (await self.households.active_members([household_id]))[household_id]

    async def _flush(self) -> None:
        try:
            await self.session.flush()
        except IntegrityError as exc:
            # Lost a race with a concurrent writer on the unique active-NIK index.
            raise Conflict(
                Text(
                    "Data bentrok dengan perubahan lain yang bersamaan (NIK ganda); ulangi",
                    "Conflicts with a concurrent change (duplicate NIK); retry",
                )
            ) from exc

    async def _record(
        self,
        household: Household,
        members: list[Member],
        change: str,
        reason: str | None = None,
        before: dict[str, Any] | None = None,
    ) -> Served:
        """Append the version that the claimed household has reached, and refresh its tags."""
        document = household_document(household, members)
        if before is None and household.version > 1:
            before = await self.versions.document_at_version(household.id, household.version - 1)
        previous_village = before["village_code"] if before else None
        principal = self.caller.principal
        self.versions.add(
            HouseholdVersion(
                household_id=household.id,
                version=household.version,
                village_code=household.village_code,
                previous_village_code=(
                    previous_village if previous_village != household.village_code else None
                ),
                changed_at=utcnow(),
                actor=principal.subject,
                actor_role=principal.role.value,
                actor_organization=principal.organization,
                source=self.caller.source,
                change=change,
                reason=reason,
                changes=diff_documents(before, document) if before is not None else CREATED,
                document=document,
            )
        )
        await self.households.replace_tags(household.id, search_tags(household, members))
        await self._flush()
        return Served(_present(self.caller, document), etag_for(household.version))

    async def _log_reads(self, household_ids: list[uuid.UUID], action: str) -> None:
        if self.caller.sees_personal_data:
            await self.access_log.append(self.caller.reads(action, list(household_ids)))


def _present(caller: Caller, document: dict[str, Any]) -> dict[str, Any]:
    """A household document as `caller` may see it."""
    if caller.sees_personal_data:
        return {**document, "masked": False}
    return {**mask_document(document), "masked": True}


def _served(caller: Caller, document: dict[str, Any]) -> Served:
    return Served(_present(caller, document), etag_for(int(document["version"])))


class HouseholdReads:
    """Reads of one household by id, the registry's hottest path, without a session of
    the request: on PostgreSQL the household as it is now is read and its read logged in
    one statement, on a pooled connection outside any transaction; other reads (as it was
    at a time, or on SQLite) run `RegistryService.get` in a session of their own."""

    def __init__(self, sessionmaker: async_sessionmaker[AsyncSession], caller: Caller) -> None:
        self.sessionmaker = sessionmaker
        self.bind: AsyncEngine | AsyncConnection = sessionmaker.kw["bind"]
        self.caller = caller

    async def get(self, household_id: uuid.UUID, as_of: datetime | None = None) -> Served:
        """One household, now or as it was at `as_of` (see `RegistryService.get`)."""
        if as_of is not None or self.bind.dialect.name != "postgresql":
            async with self.sessionmaker() as session, session.begin():
                return await RegistryService(session, self.caller).get(household_id, as_of)
        log = None
        if self.caller.sees_personal_data:
            log = self.caller.reads("read", [household_id])[0]
        async with self._connection() as connection:
            document = await CurrentReads(connection).current(
                household_id, self.caller.principal.jurisdiction, log
            )
        if document is None:
            raise errors.household_not_found(household_id)
        return _served(self.caller, document)

    @asynccontextmanager
    async def _connection(self) -> AsyncIterator[AsyncConnection]:
        if isinstance(self.bind, AsyncConnection):
            # Sessions bound to one connection (a test's transaction): a savepoint of it.
            async with self.bind.begin_nested():
                yield self.bind
        else:
            async with autocommit(self.bind) as connection:
                yield connection


_HISTORY_FIELDS = {
    "version",
    "changed_at",
    "actor",
    "actor_role",
    "actor_organization",
    "source",
    "change",
    "reason",
}


def _version(value: object) -> int:
    if not isinstance(value, int) or isinstance(value, bool) or value < 0:
        raise ValueError(value)
    return value


def _narrowest(principal: Principal, region: str) -> str:
    """The region filter within the caller's jurisdiction; disjoint ones are forbidden."""
    if region.startswith(principal.jurisdiction):
        return region
    if principal.jurisdiction.startswith(region):
        return principal.jurisdiction
    principal.require_covers(region)
    return region


def member_columns(data: MemberCreate) -> dict[str, Any]:
    """The member table's columns for a member as sent."""
    return {
        "nik": data.nik,
        "name": data.name,
        "name_key": fold(data.name),
        "sex": data.sex.value,
        "birth_date": data.birth_date,
        "relationship": data.relationship.value,
        "marital_status": data.marital_status.value if data.marital_status else None,
        "education": data.education.value if data.education else None,
        "in_school": data.in_school,
        "occupation": data.occupation,
        "disability_type": data.disability.type.value if data.disability else None,
        "disability_severity": (
            data.disability.severity.value if data.disability and data.disability.severity else None
        ),
        "chronic_illness": data.chronic_illness,
        "pregnant": data.pregnant,
        "ppks": [p.value for p in data.ppks],
    }


def _new_member(household_id: uuid.UUID, data: MemberCreate, position: int) -> Member:
    return Member(household_id=household_id, position=position, **member_columns(data))


def _assign_member(member: Member, data: MemberCreate) -> None:
    for column, value in member_columns(data).items():
        setattr(member, column, value)


def _member_fields(document: dict[str, Any]) -> dict[str, Any]:
    """A served member without what the server adds (id, status), to compare with input."""
    return {k: v for k, v in document.items() if k not in ("id", "status", "deactivation")}


#: Why a member disappears when a household is replaced by a document without them.
_NOT_IN_DOCUMENT = Deactivation(
    reason=DeactivationReason.other, note="not in the household document that replaced it"
)


def _member_of(members: list[Member], member_id: uuid.UUID) -> Member:
    member = next((m for m in members if m.id == member_id), None)
    if member is None:
        raise errors.member_not_found(member_id)
    return member


def _require_no_head(members: list[Member]) -> None:
    head = next((m for m in members if m.relationship == HEAD), None)
    if head is not None:
        raise errors.head_conflict(head.id)


def _deactivate(member: Member, reason: Deactivation) -> None:
    member.status = "inactive"
    member.deactivation_reason = reason.reason.value
    member.deactivation_note = reason.note
    member.deactivated_at = utcnow()


def _check_person(member: Member) -> None:
    problem = nik_rules.check_person(member.nik, member.birth_date, member.sex)  # type: ignore[arg-type]
    if problem is not None:
        raise errors.field_invalid(
            "nik",
            problem.code,
            Text(
                "NIK tidak cocok dengan tanggal lahir atau jenis kelamin anggota",
                "NIK does not agree with the member's birth date or sex",
                problem.params,
            ),
        )
    if member.pregnant and member.sex == "male":
        raise errors.field_invalid(
            "pregnant",
            "pregnant_male",
            Text("Status hamil hanya untuk perempuan", "Only women can be pregnant"),
        )
