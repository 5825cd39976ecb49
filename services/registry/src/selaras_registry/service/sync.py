"""Offline sync: apply a batch of household upserts record by record, idempotently by key.

A batch is answered once per (principal, `Idempotency-Key`): the answer is stored in the
same transaction as the writes and replayed on a retry of the same batch. Stored answers
are kept for `RegistrySettings.idempotency_retention_days` (7 days by default) and may be
purged after that with `purge_idempotency_records`; a batch retried after its record was
purged is applied again, which is harmless because an upsert of an unchanged household
writes nothing and answers `unchanged`.
"""

from __future__ import annotations

import uuid
from collections import Counter
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from fastapi.exceptions import RequestValidationError
from pydantic import ValidationError
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from selaras_registry import errors
from selaras_registry.models import IdempotencyRecord
from selaras_registry.repository.sync import IdempotencyRepository
from selaras_registry.schemas import HouseholdCreate, HouseholdRead
from selaras_registry.schemas.sync import (
    FieldError,
    RecordProblem,
    SyncBatch,
    SyncOutcome,
    SyncRecord,
    SyncResponse,
    SyncResult,
    SyncSummary,
)
from selaras_registry.service.households import Caller, RegistryService
from selaras_shared.auth import Permission
from selaras_shared.db import utcnow
from selaras_shared.errors import (
    Conflict,
    DomainError,
    FieldIssue,
    InvalidInput,
    PreconditionFailed,
    validation_problem,
)
from selaras_shared.i18n import Lang, Text
from selaras_shared.idempotency import request_digest, require_same_request

SCOPE = "sync"
DEFAULT_RETENTION = timedelta(days=7)
# Server versions start at 1, so a household the client created offline expects version 0:
# `put` then creates it when absent, answers unchanged when an identical one exists (an
# earlier sync whose answer was lost), and reports a conflict when it differs.
_NEVER_SEEN = 0


@dataclass(frozen=True)
class SyncAnswer:
    """The HTTP answer to a sync batch, and whether it is a stored one replayed."""

    status_code: int
    body: dict[str, Any]
    replayed: bool


class SyncService:
    """Applies sync batches for one caller over one database session."""

    def __init__(
        self,
        session: AsyncSession,
        caller: Caller,
        *,
        retention: timedelta = DEFAULT_RETENTION,
    ) -> None:
        self.session = session
        self.caller = caller
        self.retention = retention
        self.registry = RegistryService(session, caller)
        self.records = IdempotencyRepository(session)

    async def sync(self, batch: SyncBatch, key: str, lang: Lang) -> SyncAnswer:
        """Apply `batch` once per key; a retry with the same key and body replays the answer.

        Messages of rejected records are rendered in `lang` and stored so, since the
        replayed answer must be the one first given.
        """
        principal = self.caller.principal
        principal.require(Permission.write)
        _require_unique_ids(batch.households)
        digest = request_digest(batch)
        # An expired key is forgotten before it is looked up, so that it can be used again.
        # Only this key: deleting other expired rows here would make two batches of one
        # principal wait on each other's row locks.
        await self.records.purge(
            before=utcnow() - self.retention, scope=SCOPE, subject=principal.subject, key=key
        )
        stored = await self.records.find(SCOPE, principal.subject, key)
        if stored is not None:
            return _replay(stored, digest)
        claim = IdempotencyRecord(
            scope=SCOPE,
            subject=principal.subject,
            key=key,
            request_sha256=digest,
            status_code=0,
            response={},
        )
        try:
            await self.records.claim(claim)
        except IntegrityError:
            # A concurrent request with the same key committed first (PostgreSQL made this
            # INSERT wait for it): nothing was written here, so answer what it answered.
            await self.session.rollback()
            stored = await self.records.find(SCOPE, principal.subject, key)
            if stored is None:
                raise Conflict(
                    Text(
                        "Permintaan lain dengan Idempotency-Key yang sama sedang diproses; ulangi",
                        "Another request with the same Idempotency-Key is in progress; retry",
                    ),
                    headers={"Retry-After": "1"},
                ) from None
            return _replay(stored, digest)
        results = [
            await self._apply(index, record, lang) for index, record in enumerate(batch.households)
        ]
        summary = SyncSummary(**Counter(result.outcome.value for result in results))
        body = SyncResponse(results=results, summary=summary).model_dump(mode="json")
        claim.status_code = 200
        claim.response = body
        await self.session.flush()
        return SyncAnswer(claim.status_code, body, replayed=False)

    async def _apply(self, index: int, record: SyncRecord, lang: Lang) -> SyncResult:
        """One record in its own savepoint, so that a refused record undoes only itself."""
        prefix = f"households.{index}.household"
        try:
            data = _household_input(record.household, lang)
            if (
                record.base_version is not None
                and await self.registry.households.get(record.id) is None
            ):
                raise errors.household_not_found(record.id)
            async with self.session.begin_nested():
                upserted = await self.registry.put(
                    data,
                    household_id=record.id,
                    expected=_NEVER_SEEN if record.base_version is None else record.base_version,
                    change="synced",
                )
        except PreconditionFailed:
            return await self._conflict(index, record, prefix, lang)
        except DomainError as error:
            return _rejected(index, record, error, prefix, lang)
        return SyncResult(
            index=index,
            id=record.id,
            outcome=SyncOutcome(upserted.outcome),
            version=upserted.served.document["version"],
            etag=upserted.served.etag,
        )

    async def _conflict(
        self, index: int, record: SyncRecord, prefix: str, lang: Lang
    ) -> SyncResult:
        """The server's current household, for the client to merge its stale copy with."""
        try:
            current = await self.registry.get(record.id)
        except DomainError as error:  # it left the jurisdiction in the meantime
            return _rejected(index, record, error, prefix, lang)
        return SyncResult(
            index=index,
            id=record.id,
            outcome=SyncOutcome.conflict,
            version=current.document["version"],
            etag=current.etag,
            household=HouseholdRead.model_validate(current.document),
        )


def _rejected(
    index: int, record: SyncRecord, error: DomainError, prefix: str, lang: Lang
) -> SyncResult:
    return SyncResult(
        index=index,
        id=record.id,
        outcome=SyncOutcome.rejected,
        problem=_problem(error, prefix, lang),
    )


async def purge_idempotency_records(
    session: AsyncSession, retention: timedelta = DEFAULT_RETENTION
) -> int:
    """Delete stored answers older than `retention` (every scope and principal)."""
    return await IdempotencyRepository(session).purge(before=utcnow() - retention)


def _replay(stored: IdempotencyRecord, digest: str) -> SyncAnswer:
    require_same_request(stored.request_sha256, digest)
    return SyncAnswer(stored.status_code, dict(stored.response), replayed=True)


def _require_unique_ids(records: list[SyncRecord]) -> None:
    seen: dict[uuid.UUID, int] = {}
    issues = []
    for index, record in enumerate(records):
        if record.id in seen:
            issues.append(
                FieldIssue(
                    f"households.{index}.id",
                    "id_duplicate_in_batch",
                    Text(
                        "id {id} sudah dipakai rekaman ke-{first} dalam batch ini",
                        "id {id} is already used by record {first} of this batch",
                        {"id": str(record.id), "first": seen[record.id]},
                    ),
                )
            )
        else:
            seen[record.id] = index
    if issues:
        raise InvalidInput(
            Text(
                "Setiap keluarga hanya boleh muncul sekali dalam satu batch",
                "Each household may appear only once in a batch",
            ),
            errors=issues,
        )


def _household_input(raw: dict[str, Any], lang: Lang) -> HouseholdCreate:
    """Validate one record's household as `POST /households` would, without failing the batch."""
    if "id" in raw:
        message = Text(
            "id keluarga ditulis pada rekaman, bukan di dalam household",
            "The household id belongs on the record, not inside household",
        )
        raise InvalidInput(message, errors=[FieldIssue("id", "extra_forbidden", message)])
    try:
        return HouseholdCreate.model_validate(raw)
    except ValidationError as exc:
        raise validation_problem(RequestValidationError(exc.errors()), lang) from None


def _under(prefix: str, field: str) -> str:
    return f"{prefix}.{field}" if field else prefix


def _problem(error: DomainError, prefix: str, lang: Lang) -> RecordProblem:
    """The problem+json of a refused record; field paths are made relative to the batch."""
    body = error.to_problem(lang)
    return RecordProblem(
        type=body["type"],
        status=body["status"],
        title=body["title"],
        detail=body["detail"],
        errors=[
            FieldError(
                field=_under(prefix, issue.field),
                code=issue.code,
                message=issue.message.render(lang),
            )
            for issue in error.errors
        ],
    )
