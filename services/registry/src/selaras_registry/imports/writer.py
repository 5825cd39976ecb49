"""Writing validated families to the database, fast: new households in bulk (COPY on
PostgreSQL, executemany on SQLite), existing ones through `RegistryService.put`.

The work is split in two so that the expensive part runs in worker processes:
`prepare_batch` (pure, picklable) validates a raw batch and builds the exact rows that
`RegistryService.create` would store for each family, and `BatchWriter` (in the service
process) checks the families against the database and writes them.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import orjson
from sqlalchemy import Table, insert, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import SQLModel, col

from selaras_registry.documents import diff_documents
from selaras_registry.imports.records import FamilyRecord, RawBatch, RowIssue
from selaras_registry.models import Household, Member
from selaras_registry.schemas import HouseholdCreate
from selaras_registry.service import Caller, RegistryService
from selaras_registry.service.households import member_columns
from selaras_shared.db import utcnow
from selaras_shared.errors import DomainError
from selaras_shared.i18n import Text

HOUSEHOLD_COLUMNS = (
    "id",
    "kk_number",
    "address",
    "rt",
    "rw",
    "village_code",
    "desil",
    "registry_status",
    "housing",
    "monthly_income",
    "programs_received",
    "ppks",
    "data_source",
    "verified_on",
    "status",
    "version",
    "created_at",
    "updated_at",
)
MEMBER_COLUMNS = (
    "id",
    "household_id",
    "nik",
    "name",
    "name_key",
    "sex",
    "birth_date",
    "relationship",
    "marital_status",
    "education",
    "in_school",
    "occupation",
    "disability_type",
    "disability_severity",
    "chronic_illness",
    "pregnant",
    "ppks",
    "position",
    "status",
)
# `id` is a serial and `txid` is filled in by the database (see models.HouseholdVersion).
VERSION_COLUMNS = (
    "household_id",
    "version",
    "village_code",
    "changed_at",
    "actor",
    "actor_role",
    "actor_organization",
    "source",
    "change",
    "changes",
    "document",
)
TAG_COLUMNS = ("household_id", "tag")
_JSON_COLUMNS = {
    "household": {"housing", "programs_received", "ppks"},
    "member": {"ppks"},
    "household_version": {"changes", "document"},
    "household_tag": set(),
}


@dataclass(frozen=True)
class Actor:
    """Who a job's versions are recorded as (the submitter), and how rows are encoded."""

    subject: str
    role: str
    organization: str | None
    source: str = "import"
    #: PostgreSQL COPY takes JSON columns as text; SQLAlchemy inserts take Python values.
    json_as_text: bool = False


@dataclass
class NewRows:
    """The rows that registering one family as a new household stores, as tuples in
    the column order above."""

    household: tuple[Any, ...]
    members: list[tuple[Any, ...]]
    version: tuple[Any, ...]
    tags: list[tuple[Any, ...]]


@dataclass
class Prepared:
    """One family after validation: the record, and its rows if it is valid."""

    record: FamilyRecord
    rows: NewRows | None = None

    @property
    def household(self) -> HouseholdCreate | None:
        """The validated household, if the rows made one."""
        return self.record.household


@dataclass
class PreparedBatch:
    """A validated batch; `bytes_done` is the reader's position after it."""

    families: list[Prepared]
    bytes_done: int
    #: Data rows consumed up to the end of the batch (comparable with `count_rows`).
    rows_done: int
    #: Rows before the first data row (a CSV header), to compare rows_done with row numbers.
    header_rows: int


def prepare_batch(
    batch: RawBatch, actor: Actor, validate: Callable[[RawBatch], list[FamilyRecord]]
) -> PreparedBatch:
    """Validate a raw batch and build the new-household rows of every valid family
    (a top-level function, so that it runs in a worker process)."""
    now = utcnow()
    families = []
    for record in validate(batch):
        rows = None
        if record.household is not None and not _has_errors(record.issues):
            rows = new_household_rows(record.household, actor, now)
        families.append(Prepared(record, rows))
    header_rows = 1 if batch.format == "csv" else 0
    return PreparedBatch(families, batch.bytes_done, batch.rows_done, header_rows)


def _has_errors(issues: Sequence[RowIssue]) -> bool:
    return any(not issue.warning for issue in issues)


def new_household_rows(data: HouseholdCreate, actor: Actor, now: datetime) -> NewRows:
    """What `RegistryService.create` stores for `data` as version 1, built directly."""
    household_id = data.id or uuid.uuid4()
    fields = data.model_dump(exclude={"id", "members"}, mode="json")
    members: list[dict[str, Any]] = []
    member_documents: list[dict[str, Any]] = []
    tags = {f"ppks:{code}" for code in fields["ppks"]}
    tags.update(f"program:{code}" for code in fields["programs_received"])
    for position, member in enumerate(data.members):
        columns = member_columns(member)
        member_id = uuid.uuid4()
        members.append(
            {
                "id": member_id,
                "household_id": household_id,
                **columns,
                "position": position,
                "status": "active",
            }
        )
        tags.update(f"ppks:{code}" for code in columns["ppks"])
        disability = columns["disability_type"]
        member_documents.append(
            {
                "id": str(member_id),
                "nik": columns["nik"],
                "name": columns["name"],
                "sex": columns["sex"],
                "birth_date": columns["birth_date"].isoformat(),
                "relationship": columns["relationship"],
                "marital_status": columns["marital_status"],
                "education": columns["education"],
                "in_school": columns["in_school"],
                "occupation": columns["occupation"],
                "disability": (
                    {"type": disability, "severity": columns["disability_severity"]}
                    if disability
                    else None
                ),
                "chronic_illness": columns["chronic_illness"],
                "pregnant": columns["pregnant"],
                "ppks": list(columns["ppks"]),
                "status": "active",
                "deactivation": None,
            }
        )
    stamp = now.isoformat()
    document = {
        "id": str(household_id),
        "kk_number": data.kk_number,
        **{key: fields[key] for key in _DOCUMENT_FIELDS},
        "status": "active",
        "deactivation": None,
        "version": 1,
        "created_at": stamp,
        "updated_at": stamp,
        "members": member_documents,
    }
    household = {
        "id": household_id,
        "kk_number": data.kk_number,
        **fields,
        "verified_on": data.verified_on,
        "status": "active",
        "version": 1,
        "created_at": now,
        "updated_at": now,
    }
    version = {
        "household_id": household_id,
        "version": 1,
        "village_code": data.village_code,
        "changed_at": now,
        "actor": actor.subject,
        "actor_role": actor.role,
        "actor_organization": actor.organization,
        "source": actor.source,
        "change": "created",
        "changes": diff_documents(None, document),
        "document": document,
    }
    encode = _text_json if actor.json_as_text else _as_is
    return NewRows(
        household=_row(household, HOUSEHOLD_COLUMNS, _JSON_COLUMNS["household"], encode),
        members=[_row(m, MEMBER_COLUMNS, _JSON_COLUMNS["member"], encode) for m in members],
        version=_row(version, VERSION_COLUMNS, _JSON_COLUMNS["household_version"], encode),
        tags=[(household_id, tag) for tag in sorted(tags)],
    )


_DOCUMENT_FIELDS = (
    "address",
    "rt",
    "rw",
    "village_code",
    "desil",
    "registry_status",
    "housing",
    "monthly_income",
    "programs_received",
    "ppks",
    "data_source",
    "verified_on",
)


def _text_json(value: Any) -> Any:
    return orjson.dumps(value).decode()


def _as_is(value: Any) -> Any:
    return value


def _row(
    values: dict[str, Any],
    columns: tuple[str, ...],
    json_columns: set[str],
    encode: Callable[[Any], Any],
) -> tuple[Any, ...]:
    return tuple(encode(values[c]) if c in json_columns else values[c] for c in columns)


# --- the database side -----------------------------------------------------------------


@dataclass
class Outcome:
    """What happened (or, in a dry run, would happen) to one family."""

    status: str  # created, updated, unchanged, rejected
    issues: list[RowIssue] = field(default_factory=list)


@dataclass(frozen=True)
class Existing:
    """An active household found by KK number."""

    id: uuid.UUID
    village_code: str


class BatchWriter:
    """Checks families against the database and writes them, in the session's transaction."""

    def __init__(self, session: AsyncSession, caller: Caller, *, dry_run: bool) -> None:
        self.session = session
        self.caller = caller
        self.dry_run = dry_run
        self.postgres = session.bind is not None and session.bind.dialect.name == "postgresql"

    async def existing_by_kk(self, kk_numbers: Sequence[str]) -> dict[str, list[Existing]]:
        """Active households holding each KK number (one query)."""
        found: dict[str, list[Existing]] = {}
        if not kk_numbers:
            return found
        rows = await self.session.execute(
            select(col(Household.kk_number), col(Household.id), col(Household.village_code))
            .where(_any(col(Household.kk_number), kk_numbers, self.postgres))
            .where(col(Household.status) == "active")
        )
        for kk_number, household_id, village in rows:
            found.setdefault(kk_number, []).append(Existing(household_id, village))
        return found

    async def holders(self, niks: Sequence[str]) -> dict[str, uuid.UUID]:
        """The household of the active member holding each NIK (one query)."""
        if not niks:
            return {}
        rows = await self.session.execute(
            select(col(Member.nik), col(Member.household_id))
            .where(_any(col(Member.nik), niks, self.postgres))
            .where(col(Member.status) == "active")
        )
        return {nik: household_id for nik, household_id in rows}

    async def insert_new(self, families: Sequence[NewRows]) -> None:
        """Register new households in bulk (skipped in a dry run)."""
        if self.dry_run or not families:
            return
        tables: list[tuple[str, tuple[str, ...], list[tuple[Any, ...]]]] = [
            ("household", HOUSEHOLD_COLUMNS, [f.household for f in families]),
            ("member", MEMBER_COLUMNS, [m for f in families for m in f.members]),
            ("household_version", VERSION_COLUMNS, [f.version for f in families]),
            ("household_tag", TAG_COLUMNS, [t for f in families for t in f.tags]),
        ]
        if self.postgres:
            connection = await self.session.connection()
            raw = await connection.get_raw_connection()
            driver = raw.driver_connection
            assert driver is not None
            for name, columns, records in tables:
                if records:
                    await driver.copy_records_to_table(name, records=records, columns=columns)
            return
        for name, columns, records in tables:
            if records:
                table: Table = SQLModel.metadata.tables[name]
                await self.session.execute(
                    insert(table), [dict(zip(columns, record, strict=True)) for record in records]
                )

    async def put_existing(
        self, record: FamilyRecord, data: HouseholdCreate, household_id: uuid.UUID
    ) -> Outcome:
        """Bring an existing household to the family's data, as `PUT` would; in a dry run
        the change is made inside a savepoint and undone, so the outcome is exact."""
        service = RegistryService(self.session, self.caller)
        savepoint = await self.session.begin_nested()
        try:
            result = await service.put(data, household_id=household_id, change="imported")
        except DomainError as exc:
            await savepoint.rollback()
            return Outcome("rejected", [_issue_from_error(record, data, exc)])
        if self.dry_run:
            await savepoint.rollback()
        else:
            await savepoint.commit()
        return Outcome(result.outcome)


def _any(column: Any, values: Sequence[str], postgres: bool) -> Any:
    if postgres:
        # One array parameter instead of thousands of placeholders.
        from sqlalchemy import any_, bindparam
        from sqlalchemy.dialects.postgresql import ARRAY
        from sqlalchemy.types import String

        return column == any_(bindparam("values", list(values), type_=ARRAY(String())))
    return column.in_(list(values))


def member_row(record: FamilyRecord, index: int) -> int:
    """The file row of the family's `index`-th member (one row per member in a CSV; an
    NDJSON family is a single line)."""
    rows = record.last_row - record.first_row + 1
    household = record.household
    if household is not None and rows == len(household.members):
        return record.first_row + index
    return record.first_row


def _issue_from_error(record: FamilyRecord, data: HouseholdCreate, exc: DomainError) -> RowIssue:
    message = exc.detail or exc.title
    for issue in exc.errors:
        parts = issue.field.split(".")
        if len(parts) == 3 and parts[0] == "members" and parts[1].isdigit():
            index = int(parts[1])
            member = data.members[index] if index < len(data.members) else None
            value = getattr(member, parts[2], None) if member is not None else None
            return RowIssue(
                member_row(record, index),
                parts[2],
                None if value is None else str(value),
                issue.code,
                message,
            )
        return RowIssue(record.first_row, issue.field, None, issue.code, message)
    return RowIssue(record.first_row, "kk_number", data.kk_number, exc.code, message)


def issue(row: int, field_name: str, value: str | None, code: str, message: Text) -> RowIssue:
    """A row issue found by the runner (database and cross-family checks)."""
    return RowIssue(row, field_name, value, code, message)
