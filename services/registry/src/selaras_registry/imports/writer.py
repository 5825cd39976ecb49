"""Writing validated families to the database, fast: new households in bulk (COPY on
PostgreSQL, executemany on SQLite), existing ones through `RegistryService.put`.

The work is split in two so that the expensive part runs in worker processes:
`prepare_batch` (pure, picklable) validates a raw batch and builds the exact rows that
`RegistryService.create` would store for each family, and `BatchWriter` (in the service
process) checks the families against the database and writes them.
"""

from __future__ import annotations

import io
import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any

import orjson
from sqlalchemy import Table, insert, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import SQLModel, col

from selaras_registry.documents import CREATED
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
    #: PostgreSQL takes rows as COPY text lines built in the worker; SQLite takes tuples.
    copy_text: bool = False


@dataclass
class NewRows:
    """The rows that registering one family as a new household stores, per table: as
    tuples in the column order above, or (for PostgreSQL) as lines of COPY text format,
    encoded in the worker so that the service process only concatenates bytes."""

    household: tuple[Any, ...] | bytes
    members: list[tuple[Any, ...]] | bytes
    version: tuple[Any, ...] | bytes
    tags: list[tuple[Any, ...]] | bytes


@dataclass(frozen=True)
class Family:
    """What the service process needs of a valid family without its whole model: keys for
    the cross-file and database checks, and the household as JSON for the (rarer) update
    of an existing household. Far cheaper to send between processes than the model."""

    kk_number: str
    village_code: str
    niks: tuple[str, ...]
    document: bytes

    def household(self) -> HouseholdCreate:
        """The validated household again (it was valid in the worker)."""
        return HouseholdCreate.model_validate_json(self.document)


@dataclass
class Prepared:
    """One family after validation: the record (without its model), and for a valid one
    its keys and the rows that create it."""

    record: FamilyRecord
    family: Family | None = None
    rows: NewRows | None = None


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
        data, record.household = record.household, None
        if data is None or _has_errors(record.issues):
            families.append(Prepared(record))
            continue
        family = Family(
            kk_number=data.kk_number,
            village_code=data.village_code,
            niks=tuple(m.nik for m in data.members),
            document=data.model_dump_json(exclude_none=True).encode(),
        )
        families.append(Prepared(record, family, new_household_rows(data, actor, now)))
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
    stamp = now.isoformat().replace("+00:00", "Z")
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
        "changes": CREATED,
        "document": document,
    }
    household_row = _row(household, HOUSEHOLD_COLUMNS, _JSON_COLUMNS["household"])
    member_rows = [_row(m, MEMBER_COLUMNS, _JSON_COLUMNS["member"]) for m in members]
    version_row = _row(version, VERSION_COLUMNS, _JSON_COLUMNS["household_version"])
    tag_rows = [(household_id, tag) for tag in sorted(tags)]
    if not actor.copy_text:
        return NewRows(household_row, member_rows, version_row, tag_rows)
    return NewRows(
        household=copy_line(household_row),
        members=b"".join(copy_line(m) for m in member_rows),
        version=copy_line(version_row),
        tags=b"".join(copy_line(t) for t in tag_rows),
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


class _Json:
    """A value bound for a JSON column (encoded with orjson, not as a plain value)."""

    __slots__ = ("value",)

    def __init__(self, value: Any) -> None:
        self.value = value


def _row(
    values: dict[str, Any], columns: tuple[str, ...], json_columns: set[str]
) -> tuple[Any, ...]:
    return tuple(_Json(values[c]) if c in json_columns else values[c] for c in columns)


_COPY_ESCAPES = str.maketrans({"\\": "\\\\", "\t": "\\t", "\n": "\\n", "\r": "\\r"})


def _copy_str(value: str) -> str:
    # Nearly every value needs no escaping; checking is cheaper than translating.
    if "\\" not in value and value.isprintable():
        return value
    return value.translate(_COPY_ESCAPES)


def _copy_json(value: _Json) -> str:
    return _copy_str(orjson.dumps(value.value).decode())


def _copy_null(_: None) -> str:
    return "\\N"


def _copy_bool(value: bool) -> str:
    return "t" if value else "f"


def _copy_iso(value: date) -> str:
    return value.isoformat()


_COPY_TEXT: dict[type, Callable[[Any], str]] = {
    str: _copy_str,
    _Json: _copy_json,
    type(None): _copy_null,
    bool: _copy_bool,
    int: str,
    uuid.UUID: str,
    date: _copy_iso,
    datetime: _copy_iso,
}


def copy_line(row: tuple[Any, ...]) -> bytes:
    """One row in PostgreSQL's COPY text format (tab-separated, `\\N` for null)."""
    encode = _COPY_TEXT
    return ("\t".join([encode[type(value)](value) for value in row]) + "\n").encode()


def plain_row(row: tuple[Any, ...]) -> tuple[Any, ...]:
    """A row for an SQLAlchemy insert: JSON values unwrapped (the column type encodes them)."""
    return tuple(value.value if isinstance(value, _Json) else value for value in row)


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
        if self.postgres:
            connection = await self.session.connection()
            raw = await connection.get_raw_connection()
            driver = raw.driver_connection
            assert driver is not None
            payloads: list[tuple[str, tuple[str, ...], list[Any]]] = [
                ("household", HOUSEHOLD_COLUMNS, [f.household for f in families]),
                ("member", MEMBER_COLUMNS, [f.members for f in families]),
                ("household_version", VERSION_COLUMNS, [f.version for f in families]),
                ("household_tag", TAG_COLUMNS, [f.tags for f in families]),
            ]
            for name, columns, lines in payloads:
                data = b"".join(line for line in lines if isinstance(line, bytes))
                if data:
                    await driver.copy_to_table(
                        name, source=io.BytesIO(data), columns=columns, format="text"
                    )
            return
        tables: list[tuple[str, tuple[str, ...], list[Any]]] = [
            ("household", HOUSEHOLD_COLUMNS, [f.household for f in families]),
            ("member", MEMBER_COLUMNS, [m for f in families for m in _tuples(f.members)]),
            ("household_version", VERSION_COLUMNS, [f.version for f in families]),
            ("household_tag", TAG_COLUMNS, [t for f in families for t in _tuples(f.tags)]),
        ]
        for name, columns, records in tables:
            if records:
                table: Table = SQLModel.metadata.tables[name]
                await self.session.execute(
                    insert(table),
                    [dict(zip(columns, plain_row(record), strict=True)) for record in records],
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


def _tuples(rows: list[tuple[Any, ...]] | bytes) -> list[tuple[Any, ...]]:
    if isinstance(rows, bytes):
        raise TypeError("COPY lines where rows were expected")
    return rows


def _any(column: Any, values: Sequence[str], postgres: bool) -> Any:
    if postgres:
        # One array parameter instead of thousands of placeholders.
        from sqlalchemy import any_, bindparam
        from sqlalchemy.dialects.postgresql import ARRAY
        from sqlalchemy.types import String

        return column == any_(bindparam("values", list(values), type_=ARRAY(String())))
    return column.in_(list(values))


def member_row(record: FamilyRecord, index: int, members: int) -> int:
    """The file row of the family's `index`-th of `members` members (one row per member in
    a CSV; an NDJSON family is a single line)."""
    if record.last_row - record.first_row + 1 == members:
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
                member_row(record, index, len(data.members)),
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
