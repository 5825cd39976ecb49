"""Bulk import routes: upload a file as a job, follow it, download its per-row report."""

from __future__ import annotations

import re
import uuid
from collections.abc import AsyncIterator
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, Header, Query, Request, Response, status
from fastapi.responses import StreamingResponse
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from selaras_registry.api.params import Cursor, Limit
from selaras_registry.deps import Session, get_caller
from selaras_registry.errors import field_invalid
from selaras_registry.imports import layout
from selaras_registry.imports.runner import ImportRunner
from selaras_registry.models import ImportJob
from selaras_registry.schemas.imports import (
    ImportEncoding,
    ImportFormat,
    ImportIssueRead,
    ImportJobRead,
    ImportMode,
)
from selaras_registry.service import Caller
from selaras_registry.service.imports import (
    ImportService,
    failure_document,
    job_document,
    report_csv,
)
from selaras_registry.settings import RegistrySettings
from selaras_shared.db import get_read_session
from selaras_shared.errors import UnsupportedMediaType
from selaras_shared.i18n import Lang, Text, negotiate_language
from selaras_shared.pagination import DEFAULT_LIMIT, Page, encode_cursor, read_cursor

router = APIRouter(tags=["imports"])

#: Media types an upload may have, and the format each one means.
MEDIA_TYPES: dict[str, ImportFormat] = {
    "text/csv": ImportFormat.csv,
    "application/csv": ImportFormat.csv,
    "application/x-ndjson": ImportFormat.ndjson,
    "application/ndjson": ImportFormat.ndjson,
}
_REPORT_PAGE = 1000

ReadSession = Annotated[AsyncSession, Depends(get_read_session)]
CallerDep = Annotated[Caller, Depends(get_caller)]


def _lang(request: Request) -> Lang:
    return negotiate_language(request.headers.get("accept-language"))


def _runner(request: Request) -> ImportRunner | None:
    runner: ImportRunner | None = getattr(request.app.state, "import_runner", None)
    return runner


def _read(request: Request, job: ImportJob) -> ImportJobRead:
    runner = _runner(request)
    document = job_document(job, runner.progress(job.id) if runner else None)
    document["failure"] = failure_document(job, _lang(request))
    return ImportJobRead.model_validate(document)


def _filename(disposition: str | None) -> str | None:
    if not disposition:
        return None
    match = re.search(r'filename="?([^";]+)"?', disposition)
    return match.group(1).strip() if match else None


@router.post(
    "/imports",
    status_code=status.HTTP_202_ACCEPTED,
    openapi_extra={
        "requestBody": {
            "required": True,
            "content": {
                "text/csv": {"schema": {"type": "string", "format": "binary"}},
                "application/x-ndjson": {"schema": {"type": "string", "format": "binary"}},
            },
        }
    },
)
async def submit_import(
    request: Request,
    response: Response,
    session: Session,
    caller: CallerDep,
    mode: ImportMode = ImportMode.dry_run,
    format: ImportFormat | None = None,
    encoding: ImportEncoding = ImportEncoding.utf_8,
    delimiter: Annotated[
        str | None, Query(pattern=r"^(,|;|\t|tab)$", description="default: detected")
    ] = None,
    filename: Annotated[str | None, Query(max_length=200)] = None,
    content_disposition: Annotated[str | None, Header()] = None,
) -> ImportJobRead:
    """Upload a CSV or NDJSON file (the raw request body) and queue its import.

    `mode` is `dry_run` (check only; the default), `all_or_nothing` or `valid_only`.
    The answer is `202 Accepted` with the job; follow its `Location`.
    """
    media_type = (request.headers.get("content-type") or "").split(";")[0].strip().lower()
    chosen = MEDIA_TYPES.get(media_type)
    if chosen is None:
        raise UnsupportedMediaType(
            Text(
                "Jenis konten {media_type} tidak didukung; kirim text/csv atau "
                "application/x-ndjson",
                "Content type {media_type} is not supported; send text/csv or application/x-ndjson",
                {"media_type": media_type or "(none)"},
            )
        )
    if format is not None and format is not chosen:
        raise field_invalid(
            "format",
            "format_mismatch",
            Text(
                "Format {format} tidak cocok dengan jenis konten {media_type}",
                "Format {format} does not match content type {media_type}",
                {"format": format.value, "media_type": media_type},
            ),
        )
    settings: RegistrySettings = request.app.state.settings
    options: dict[str, Any] = {"encoding": encoding.value}
    if delimiter is not None:
        options["delimiter"] = "\t" if delimiter == "tab" else delimiter
    job = await ImportService(session, caller).submit(
        request.stream(),
        import_dir=settings.import_dir,
        mode=mode.value,
        format=chosen.value,
        options=options,
        filename=filename or _filename(content_disposition),
    )
    runner = _runner(request)
    if runner is not None:
        runner.notify()
    response.headers["Location"] = f"/api/v1/imports/{job.id}"
    return _read(request, job)


@router.get("/imports")
async def list_imports(
    request: Request,
    session: ReadSession,
    caller: CallerDep,
    limit: Limit = DEFAULT_LIMIT,
    cursor: Cursor = None,
) -> Page[ImportJobRead]:
    """Import jobs of the caller's jurisdiction, newest first."""
    page = await ImportService(session, caller).recent(limit=limit, cursor=cursor)
    return Page[ImportJobRead](
        items=[_read(request, job) for job in page.items], next_cursor=page.next_cursor
    )


@router.get("/imports/template", response_class=Response)
async def import_template() -> Response:
    """The CSV template: the header row of the documented layout and an example family."""
    return Response(
        "\ufeff" + layout.template_csv(),
        media_type="text/csv; charset=utf-8",
        headers={"Content-Disposition": 'attachment; filename="selaras-import-template.csv"'},
    )


@router.get("/imports/layout")
async def import_layout() -> list[dict[str, Any]]:
    """The documented CSV layout: every column, its aliases, level, whether it is required,
    its description (id/en) and an example."""
    return layout.describe()


@router.get("/imports/{job_id}")
async def get_import(
    job_id: uuid.UUID, request: Request, session: ReadSession, caller: CallerDep
) -> ImportJobRead:
    """One import job with its progress (live while it runs)."""
    # The read-only session: on SQLite it does not wait behind the import's write lock.
    return _read(request, await ImportService(session, caller).get(job_id))


@router.get("/imports/{job_id}/errors", response_model=None)
async def import_errors(
    job_id: uuid.UUID,
    request: Request,
    session: Session,
    caller: CallerDep,
    format: Literal["json", "csv"] = "json",
    limit: Annotated[int, Query(ge=1, le=_REPORT_PAGE)] = _REPORT_PAGE,
    cursor: Cursor = None,
) -> Page[ImportIssueRead] | StreamingResponse:
    """The per-row report: JSON one page at a time (by cursor), or the whole report as a
    CSV download (UTF-8 with BOM, so that Excel opens it). Messages follow Accept-Language."""
    lang = _lang(request)
    service = ImportService(session, caller)
    job = await service.get(job_id)
    if format == "json":
        after = read_cursor(cursor, "id", _issue_id) if cursor else 0
        lines = await service.issues(job, after=after, limit=limit + 1, lang=lang)
        page = lines[:limit]
        next_cursor = encode_cursor({"id": page[-1][0]}) if len(lines) > limit else None
        return Page[ImportIssueRead](
            items=[ImportIssueRead.model_validate(line) for _, line in page],
            next_cursor=next_cursor,
        )
    sessionmaker: async_sessionmaker[AsyncSession] = request.app.state.sessionmaker

    async def stream() -> AsyncIterator[bytes]:
        yield "\ufeff".encode()
        after, header = 0, True
        while True:
            async with sessionmaker() as own:
                lines = await ImportService(own, caller).issues(
                    job, after=after, limit=_REPORT_PAGE, lang=lang
                )
                await own.commit()
            if lines or header:
                yield report_csv([line for _, line in lines], header=header)
            header = False
            if len(lines) < _REPORT_PAGE:
                return
            after = lines[-1][0]

    name = f"import-{job.id}-errors.csv"
    return StreamingResponse(
        stream(),
        media_type="text/csv; charset=utf-8",
        headers={"Content-Disposition": f'attachment; filename="{name}"', "Content-Language": lang},
    )


def _issue_id(value: object) -> int:
    if not isinstance(value, int) or isinstance(value, bool) or value < 0:
        raise ValueError(value)
    return value
