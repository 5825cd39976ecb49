"""Import use cases: take an upload into the spool and queue its job, show jobs and their
per-row reports within the caller's jurisdiction."""

from __future__ import annotations

import asyncio
import contextlib
import csv
import hashlib
import io
import uuid
from collections.abc import AsyncIterator
from datetime import datetime
from pathlib import Path
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from selaras_registry.documents import PERSONAL_FIELDS, mask_value
from selaras_registry.imports.runner import Progress, spool_path
from selaras_registry.models import ImportIssue, ImportJob
from selaras_registry.repository import AccessLogRepository
from selaras_registry.repository.imports import ImportRepository
from selaras_registry.service.households import Caller
from selaras_shared.auth import Permission
from selaras_shared.errors import DomainError, FieldIssue, InvalidInput, NotFound
from selaras_shared.i18n import Lang, Text
from selaras_shared.pagination import Page, encode_cursor, read_cursor

_FLUSH_BYTES = 1 << 20
REPORT_COLUMNS = ("row", "kk_number", "field", "value", "code", "severity", "message")


class UploadIncomplete(DomainError):
    """The client went away before the whole file arrived; nothing was kept."""

    status = 400
    code = "upload-incomplete"
    title = Text("Unggahan tidak lengkap", "Upload incomplete")


def job_not_found(job_id: uuid.UUID) -> NotFound:
    """The job does not exist or was submitted outside the caller's jurisdiction."""
    return NotFound(
        Text(
            "Impor {id} tidak ditemukan di wilayah kerja Anda",
            "Import {id} not found in your jurisdiction",
            {"id": str(job_id)},
        )
    )


class ImportService:
    """Import jobs over one database session."""

    def __init__(self, session: AsyncSession, caller: Caller) -> None:
        self.session = session
        self.caller = caller
        self.jobs = ImportRepository(session)

    async def submit(
        self,
        body: AsyncIterator[bytes],
        *,
        import_dir: Path,
        mode: str,
        format: str,
        options: dict[str, Any],
        filename: str | None,
    ) -> ImportJob:
        """Spool the uploaded file (hashing it on the way) and queue its job.

        A client that disconnects mid-upload leaves neither a file nor a job.
        """
        principal = self.caller.principal
        principal.require(Permission.write)
        job_id = uuid.uuid4()
        await asyncio.to_thread(import_dir.mkdir, parents=True, exist_ok=True)
        partial = import_dir / f"{job_id}.part"
        digest = hashlib.sha256()
        size = 0
        try:
            with partial.open("wb") as spool:
                buffer = bytearray()
                async for chunk in body:
                    digest.update(chunk)
                    size += len(chunk)
                    buffer += chunk
                    if len(buffer) >= _FLUSH_BYTES:
                        await asyncio.to_thread(spool.write, bytes(buffer))
                        buffer.clear()
                await asyncio.to_thread(spool.write, bytes(buffer))
        except BaseException as exc:
            with contextlib.suppress(FileNotFoundError):
                partial.unlink()
            from starlette.requests import ClientDisconnect

            if isinstance(exc, ClientDisconnect):
                raise UploadIncomplete() from exc
            raise
        if size == 0:
            partial.unlink()
            raise InvalidInput(
                Text("Berkas impor kosong", "The import file is empty"),
                errors=[
                    FieldIssue("body", "file_empty", Text("Berkas kosong", "The file is empty"))
                ],
            )
        partial.rename(spool_path(import_dir, job_id))
        job = ImportJob(
            id=job_id,
            mode=mode,
            format=format,
            filename=filename[:200] if filename else None,
            content_sha256=digest.hexdigest(),
            size_bytes=size,
            options=options,
            submitted_by=principal.subject,
            submitted_role=principal.role.value,
            submitted_organization=principal.organization,
            jurisdiction=principal.jurisdiction,
        )
        self.jobs.add(job)
        try:
            await self.session.commit()
        except BaseException:
            spool_path(import_dir, job_id).unlink(missing_ok=True)
            raise
        return job

    async def get(self, job_id: uuid.UUID) -> ImportJob:
        """A job visible to the caller."""
        self.caller.principal.require(Permission.read)
        job = await self.jobs.get(job_id)
        if job is None or not job.jurisdiction.startswith(self.caller.principal.jurisdiction):
            raise job_not_found(job_id)
        return job

    async def recent(self, *, limit: int, cursor: str | None) -> Page[ImportJob]:
        """The jobs of the caller's jurisdiction, newest first."""
        self.caller.principal.require(Permission.read)
        after = read_cursor(cursor, "at", _position) if cursor else None
        rows = await self.jobs.recent(
            self.caller.principal.jurisdiction, after=after, limit=limit + 1
        )
        page, more = rows[:limit], len(rows) > limit
        next_cursor = None
        if more:
            last = page[-1]
            next_cursor = encode_cursor({"at": [last.created_at.isoformat(), str(last.id)]})
        return Page(items=page, next_cursor=next_cursor)

    async def issues(
        self, job: ImportJob, *, after: int, limit: int | None, lang: Lang
    ) -> list[tuple[int, dict[str, Any]]]:
        """Report lines after issue id `after`, rendered for the caller, with their ids."""
        rows = await self.jobs.issues(job.id, after=after, limit=limit)
        if rows:
            await self._log_report_read(job, len(rows))
        return [(row.id or 0, self._line(row, lang)) for row in rows]

    def _line(self, issue: ImportIssue, lang: Lang) -> dict[str, Any]:
        value, kk_number = issue.value, issue.kk_number
        if not self.caller.sees_personal_data:
            if issue.field in PERSONAL_FIELDS:
                value = mask_value(issue.field, value)
            kk_number = mask_value("kk_number", kk_number)
        return {
            "row": issue.row,
            "kk_number": kk_number,
            "field": issue.field,
            "value": value,
            "code": issue.code,
            "severity": issue.severity,
            "message": issue.message_id if lang == "id" else issue.message_en,
        }

    async def _log_report_read(self, job: ImportJob, records: int) -> None:
        if self.caller.sees_personal_data:
            entries = self.caller.reads(
                "import_report", [None], region=job.jurisdiction, records=records
            )
            await AccessLogRepository(self.session).append(entries)


def job_document(job: ImportJob, live: Progress | None) -> dict[str, Any]:
    """A job as served; a job running in this process shows its live counters."""
    document: dict[str, Any] = {
        "id": job.id,
        "status": job.status,
        "mode": job.mode,
        "format": job.format,
        "filename": job.filename,
        "size_bytes": job.size_bytes,
        "content_sha256": job.content_sha256,
        "encoding": job.options.get("encoding", "utf-8"),
        "delimiter": job.options.get("delimiter"),
        **Progress.of(job).columns(),
        "failure": None,
        "submitted_by": job.submitted_by,
        "created_at": job.created_at,
        "started_at": job.started_at,
        "finished_at": job.finished_at,
        "links": {
            "self": f"/api/v1/imports/{job.id}",
            "errors": f"/api/v1/imports/{job.id}/errors",
            "errors_csv": f"/api/v1/imports/{job.id}/errors?format=csv",
        },
    }
    if live is not None and job.status == "running":
        document.update(live.columns())
    return document


def failure_document(job: ImportJob, lang: Lang) -> dict[str, Any] | None:
    """The file-level failure of a job in `lang`."""
    failure = job.failure
    if not failure:
        return None
    return {
        "code": failure.get("code", "failed"),
        "message": failure.get("message_id" if lang == "id" else "message_en", ""),
        "row": failure.get("row"),
    }


def report_csv(lines: list[dict[str, Any]], *, header: bool) -> bytes:
    """Report lines as CSV (with the header row first when `header`)."""
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=REPORT_COLUMNS, lineterminator="\r\n")
    if header:
        writer.writeheader()
    writer.writerows(lines)
    return out.getvalue().encode("utf-8")


def _position(value: object) -> tuple[datetime, uuid.UUID]:
    if not isinstance(value, list) or len(value) != 2:
        raise ValueError(value)
    at = datetime.fromisoformat(str(value[0]))
    if at.tzinfo is None:
        raise ValueError(value)
    return at, uuid.UUID(str(value[1]))
