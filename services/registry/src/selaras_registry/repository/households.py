"""Household queries: households, members, tags, versions, access log."""

from __future__ import annotations

import uuid
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import (
    ColumnElement,
    Select,
    and_,
    bindparam,
    delete,
    exists,
    func,
    insert,
    or_,
    select,
    update,
)
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncSession
from sqlmodel import col

from selaras_registry.models import AccessLog, Household, HouseholdTag, HouseholdVersion, Member
from selaras_shared.db import utcnow


def region_range(prefix: str) -> tuple[str, str]:
    """The lowest and highest village codes starting with `prefix`."""
    return prefix.ljust(10, "0"), prefix.ljust(10, "9")


def in_region(prefix: str) -> ColumnElement[bool]:
    """Households whose village code starts with `prefix` (an index range, any collation)."""
    if not prefix:
        return col(Household.village_code).is_not(None)
    low, high = region_range(prefix)
    return and_(col(Household.village_code) >= low, col(Household.village_code) <= high)


@dataclass(frozen=True)
class HouseholdFilter:
    """Search criteria; every one is optional and they combine with AND."""

    region: str = ""
    nik: str | None = None
    kk_number: str | None = None
    name_key: str | None = None
    desil_min: int | None = None
    desil_max: int | None = None
    ppks: str | None = None
    program: str | None = None
    status: str | None = "active"


class HouseholdRepository:
    """Queries on households and their members."""

    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def get(self, household_id: uuid.UUID) -> Household | None:
        """The household row, fresh from the database."""
        return await self.session.get(Household, household_id, populate_existing=True)

    async def claim(
        self, household_id: uuid.UUID, region: str, expected_version: int | None
    ) -> Household | None:
        """Bump the version of an active household in `region`, if it is at `expected_version`.

        The conditional UPDATE is the optimistic lock: of two writers holding the same
        version exactly one matches; on PostgreSQL it also locks the row until commit.
        Returns the household, or None when nothing matched.
        """
        conditions = [
            col(Household.id) == household_id,
            col(Household.status) == "active",
            in_region(region),
        ]
        if expected_version is not None:
            conditions.append(col(Household.version) == expected_version)
        # One round trip: RETURNING hands back the claimed row (SQLite 3.35+, PostgreSQL).
        statement = (
            update(Household)
            .where(*conditions)
            .values(version=col(Household.version) + 1, updated_at=utcnow())
            .returning(Household)
            .execution_options(synchronize_session=False, populate_existing=True)
        )
        return (await self.session.scalars(statement)).one_or_none()

    async def active_members(
        self, household_ids: Sequence[uuid.UUID]
    ) -> dict[uuid.UUID, list[Member]]:
        """Active members of each household, in family-card order."""
        members: dict[uuid.UUID, list[Member]] = {hid: [] for hid in household_ids}
        if not household_ids:
            return members
        rows = await self.session.scalars(
            select(Member)
            .where(col(Member.household_id).in_(household_ids), col(Member.status) == "active")
            .order_by(col(Member.household_id), col(Member.position))
        )
        for member in rows:
            members[member.household_id].append(member)
        return members

    async def member(self, household_id: uuid.UUID, member_id: uuid.UUID) -> Member | None:
        """An active member of the household."""
        return await self.session.scalar(
            select(Member).where(
                col(Member.id) == member_id,
                col(Member.household_id) == household_id,
                col(Member.status) == "active",
            )
        )

    async def holder_of_nik(self, nik: str) -> uuid.UUID | None:
        """The household of the active member holding `nik`."""
        return await self.session.scalar(
            select(col(Member.household_id)).where(
                col(Member.nik) == nik, col(Member.status) == "active"
            )
        )

    async def holders_of_niks(self, niks: Iterable[str]) -> dict[str, uuid.UUID]:
        """Which of `niks` are held by active members, and where."""
        rows = await self.session.execute(
            select(col(Member.nik), col(Member.household_id)).where(
                col(Member.nik).in_(list(niks)),
                col(Member.status) == "active",
            )
        )
        return {nik: household_id for nik, household_id in rows}

    async def next_position(self, household_id: uuid.UUID) -> int:
        """The family-card position after the last member (active or not)."""
        current = await self.session.scalar(
            select(func.max(col(Member.position))).where(col(Member.household_id) == household_id)
        )
        return 0 if current is None else current + 1

    async def search(
        self, criteria: HouseholdFilter, *, after: uuid.UUID | None, limit: int
    ) -> list[Household]:
        """Households matching `criteria`, ordered by id, after the keyset position."""
        statement = select(Household).where(in_region(criteria.region))
        if criteria.status:
            statement = statement.where(col(Household.status) == criteria.status)
        if criteria.kk_number:
            statement = statement.where(col(Household.kk_number) == criteria.kk_number)
        if criteria.desil_min is not None:
            statement = statement.where(col(Household.desil) >= criteria.desil_min)
        if criteria.desil_max is not None:
            statement = statement.where(col(Household.desil) <= criteria.desil_max)
        member_conditions: list[ColumnElement[bool]] = []
        if criteria.nik:
            member_conditions.append(col(Member.nik) == criteria.nik)
        if criteria.name_key:
            member_conditions.append(
                or_(
                    col(Member.name_key).startswith(criteria.name_key, autoescape=True),
                    col(Member.name_key).contains(" " + criteria.name_key, autoescape=True),
                )
            )
        if member_conditions:
            statement = statement.where(
                exists().where(
                    col(Member.household_id) == col(Household.id),
                    col(Member.status) == "active",
                    *member_conditions,
                )
            )
        for tag in _tags(criteria):
            statement = statement.where(
                exists().where(
                    col(HouseholdTag.household_id) == col(Household.id),
                    col(HouseholdTag.tag) == tag,
                )
            )
        if after is not None:
            statement = statement.where(col(Household.id) > after)
        statement = statement.order_by(col(Household.id)).limit(limit)
        return list(await self.session.scalars(statement))

    async def replace_tags(self, household_id: uuid.UUID, tags: set[str]) -> None:
        """Rewrite the search tags of a household."""
        await self.session.execute(
            delete(HouseholdTag).where(col(HouseholdTag.household_id) == household_id)
        )
        if tags:
            await self.session.execute(
                insert(HouseholdTag),
                [{"household_id": household_id, "tag": tag} for tag in sorted(tags)],
            )


def _tags(criteria: HouseholdFilter) -> list[str]:
    tags = []
    if criteria.ppks:
        tags.append(f"ppks:{criteria.ppks}")
    if criteria.program:
        tags.append(f"program:{criteria.program}")
    return tags


#: A household's village and the document of its current version, by id. Built once and
#: run on the session's connection (Core, no ORM objects): the read of one household is the
#: registry's hottest query.
_CURRENT = (
    select(col(Household.village_code), col(HouseholdVersion.document))
    .join(
        HouseholdVersion,
        and_(
            col(HouseholdVersion.household_id) == col(Household.id),
            col(HouseholdVersion.version) == col(Household.version),
        ),
    )
    .where(col(Household.id) == bindparam("household_id"))
)


def _current_read(*, logged: bool) -> Select[Any]:
    """The village and current document of the household `household_id` if its village
    code lies between `low` and `high`; with `logged`, the same statement also appends an
    access-log row (parameters `log_<column>`) for the household it finds, and for none
    when it finds none: one statement, so the read and its log entry commit together
    without a transaction of their own (PostgreSQL: a data-modifying WITH)."""
    current = (
        select(col(Household.id), col(Household.village_code), col(HouseholdVersion.document))
        .join(
            HouseholdVersion,
            and_(
                col(HouseholdVersion.household_id) == col(Household.id),
                col(HouseholdVersion.version) == col(Household.version),
            ),
        )
        .where(
            col(Household.id) == bindparam("household_id"),
            col(Household.village_code) >= bindparam("low"),
            col(Household.village_code) <= bindparam("high"),
        )
        .cte("current")
    )
    statement = select(current.c.village_code, current.c.document)
    if not logged:
        return statement
    entry = select(
        *(bindparam(f"log_{name}", type_=_ACCESS_LOG.c[name].type) for name in _LOGGED_READ),
        current.c.id,
    ).select_from(current)
    return statement.add_cte(
        insert(_ACCESS_LOG).from_select([*_LOGGED_READ, "household_id"], entry).cte("logged")
    )


_ACCESS_LOG = AccessLog.metadata.tables[str(AccessLog.__tablename__)]
#: What an access-log row of a read of one household records besides the household.
_LOGGED_READ = ("at", "subject", "role", "organization", "action", "purpose", "request_id")
_CURRENT_READ = _current_read(logged=False)
_CURRENT_READ_LOGGED = _current_read(logged=True)


class CurrentReads:
    """Reads of one household as it is now, on a connection outside any transaction
    (PostgreSQL): each read is one statement, together with its access-log row."""

    def __init__(self, connection: AsyncConnection) -> None:
        self.connection = connection

    async def current(
        self, household_id: uuid.UUID, region: str, log: dict[str, Any] | None
    ) -> dict[str, Any] | None:
        """The stored document of the household's current version if it lies within
        `region` (a code prefix, '' for all), else None; with `log` (an access-log row
        without its household), the read is logged when it finds the household."""
        low, high = region_range(region)
        parameters: dict[str, Any] = {"household_id": household_id, "low": low, "high": high}
        if log is not None:
            parameters.update({f"log_{name}": log[name] for name in _LOGGED_READ})
        statement = _CURRENT_READ if log is None else _CURRENT_READ_LOGGED
        row = (await self.connection.execute(statement, parameters)).first()
        return None if row is None else row.document


@dataclass(frozen=True)
class CurrentDocument:
    """Where a household lives now, and its document (see `VersionRepository.current`)."""

    village_code: str
    document: dict[str, Any]


class VersionRepository:
    """Queries on household versions (history)."""

    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def current(self, household_id: uuid.UUID) -> CurrentDocument | None:
        """The household as it is now: the document its current version stored (every
        write records one, built from the rows it wrote)."""
        connection = await self.session.connection()
        row = (await connection.execute(_CURRENT, {"household_id": household_id})).first()
        return CurrentDocument(row.village_code, row.document) if row is not None else None

    async def document_at_version(
        self, household_id: uuid.UUID, version: int
    ) -> dict[str, Any] | None:
        """The stored document of one version."""
        return await self.session.scalar(
            select(col(HouseholdVersion.document)).where(
                col(HouseholdVersion.household_id) == household_id,
                col(HouseholdVersion.version) == version,
            )
        )

    async def document_as_of(self, household_id: uuid.UUID, at: datetime) -> dict[str, Any] | None:
        """The document of the last version changed at or before `at`."""
        return await self.session.scalar(
            select(col(HouseholdVersion.document))
            .where(
                col(HouseholdVersion.household_id) == household_id,
                col(HouseholdVersion.changed_at) <= at,
            )
            .order_by(col(HouseholdVersion.version).desc())
            .limit(1)
        )

    async def list(
        self, household_id: uuid.UUID, *, after_version: int, limit: int
    ) -> list[HouseholdVersion]:
        """Versions of a household in order, after `after_version`."""
        rows = await self.session.scalars(
            select(HouseholdVersion)
            .where(
                col(HouseholdVersion.household_id) == household_id,
                col(HouseholdVersion.version) > after_version,
            )
            .order_by(col(HouseholdVersion.version))
            .limit(limit)
        )
        return list(rows)

    def add(self, version: HouseholdVersion) -> None:
        """Stage a new version row."""
        self.session.add(version)


#: The access log's INSERT, on the table itself rather than the ORM class.
_ACCESS_LOG_INSERT = insert(AccessLog.metadata.tables[str(AccessLog.__tablename__)])


class AccessLogRepository:
    """Appends to the access log; there is no update or delete."""

    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def append(self, entries: list[dict[str, Any]]) -> None:
        """Write access-log rows."""
        if entries:
            # Core on the session's connection: no ORM bulk-insert machinery per read.
            connection = await self.session.connection()
            await connection.execute(_ACCESS_LOG_INSERT, entries)

    async def for_household(self, household_id: uuid.UUID) -> list[AccessLog]:
        """Access-log rows of one household, oldest first."""
        rows = await self.session.scalars(
            select(AccessLog)
            .where(col(AccessLog.household_id) == household_id)
            .order_by(col(AccessLog.id))
        )
        return list(rows)
