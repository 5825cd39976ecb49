"""Screening jobs: submit, follow, and read the outcomes paged or as a CSV download."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Annotated, Literal

from fastapi import APIRouter, BackgroundTasks, Depends, Query, Request, Response, status
from starlette.responses import StreamingResponse

from selaras_eligibility.clients import RegistryClient
from selaras_eligibility.deps import Session
from selaras_eligibility.models import Screening
from selaras_eligibility.schemas.screenings import (
    ResultStatus,
    ScreeningCreate,
    ScreeningRead,
    ScreeningResult,
)
from selaras_eligibility.screening.runner import ScreeningRunner
from selaras_eligibility.service.screenings import ScreeningService, csv_lines, screening_read
from selaras_shared.auth import CurrentPrincipal
from selaras_shared.errors import FieldIssue, InvalidInput
from selaras_shared.i18n import Text, negotiate_language
from selaras_shared.pagination import (
    DEFAULT_LIMIT,
    MAX_LIMIT,
    Page,
    decode_cursor,
    encode_cursor,
    read_cursor,
)

router = APIRouter(tags=["screenings"])

Limit = Annotated[int, Query(ge=1, le=MAX_LIMIT)]
Cursor = Annotated[str | None, Query(max_length=200, description="next_cursor of the last page")]
Village = Annotated[
    str | None,
    Query(pattern=r"^(\d{2}|\d{4}|\d{6}|\d{10})$", description="village or any region prefix"),
]
ProgramQuery = Annotated[str | None, Query(pattern=r"^[A-Z][A-Z0-9_]{1,31}$")]


async def get_screening_service(
    request: Request, session: Session, principal: CurrentPrincipal
) -> ScreeningService:
    """The screening service for this request, with the app's registry client."""
    registry: RegistryClient | None = getattr(request.app.state, "registry", None)
    return ScreeningService(session, principal, registry)


Screenings = Annotated[ScreeningService, Depends(get_screening_service)]


def _lang(request: Request) -> str:
    return negotiate_language(request.headers.get("accept-language"))


@router.post("/screenings", status_code=status.HTTP_202_ACCEPTED)
async def submit_screening(
    body: ScreeningCreate,
    request: Request,
    response: Response,
    service: Screenings,
    background: BackgroundTasks,
) -> ScreeningRead:
    """Queue a screening of the region; it runs in the service and is followed with GET."""
    authorization = request.headers.get("authorization")
    job = await service.submit(body, authorization)
    runner: ScreeningRunner = request.app.state.screening_runner
    # After the response, so after the commit: the runner must find the job.
    background.add_task(runner.submit, job.id, authorization)
    response.headers["Location"] = f"/api/v1/screenings/{job.id}"
    return screening_read(job, _lang(request))


def _after_job(cursor: str | None) -> tuple[datetime, uuid.UUID] | None:
    if cursor is None:
        return None
    position = decode_cursor(cursor, ("at", "id"))
    try:
        return datetime.fromisoformat(position["at"]), uuid.UUID(position["id"])
    except (TypeError, ValueError) as exc:
        raise InvalidInput(
            errors=[
                FieldIssue(
                    "cursor",
                    "cursor_invalid",
                    Text("Kursor halaman tidak valid", "Invalid page cursor"),
                )
            ]
        ) from exc


@router.get("/screenings")
async def list_screenings(
    request: Request, service: Screenings, limit: Limit = DEFAULT_LIMIT, cursor: Cursor = None
) -> Page[ScreeningRead]:
    """Screenings of regions in the caller's jurisdiction, newest first."""
    jobs = await service.screenings(after=_after_job(cursor), limit=limit + 1)
    page, more = jobs[:limit], len(jobs) > limit
    lang = _lang(request)
    next_cursor = (
        encode_cursor({"at": page[-1].created_at.isoformat(), "id": str(page[-1].id)})
        if more
        else None
    )
    return Page[ScreeningRead](
        items=[screening_read(j, lang) for j in page], next_cursor=next_cursor
    )


@router.get("/screenings/{screening_id}")
async def get_screening(
    screening_id: uuid.UUID, request: Request, service: Screenings
) -> ScreeningRead:
    """A screening's status, progress, counts per programme, cursor, rule versions, timings
    and error."""
    return screening_read(await service.screening(screening_id), _lang(request))


def _csv_response(
    request: Request,
    checked: tuple[Screening, list[str], int | None, str | None],
    village: str | None,
) -> StreamingResponse:
    job, codes, index, letters = checked
    lines = csv_lines(
        request.app.state.read_sessionmaker,
        job,
        codes,
        program_index=index,
        letters=letters,
        village=village,
    )
    name = f"selaras-screening-{job.id}.csv"
    return StreamingResponse(
        lines,
        media_type="text/csv; charset=utf-8",
        headers={"Content-Disposition": f'attachment; filename="{name}"'},
    )


@router.get("/screenings/{screening_id}/results", response_model=Page[ScreeningResult])
async def screening_results(
    screening_id: uuid.UUID,
    request: Request,
    service: Screenings,
    program: ProgramQuery = None,
    status: ResultStatus | None = None,
    village: Village = None,
    limit: Limit = DEFAULT_LIMIT,
    cursor: Cursor = None,
    format: Literal["json", "csv"] = "json",
) -> Page[ScreeningResult] | StreamingResponse:
    """Households with their outcome per programme, in household-id order; `program` and
    `status` (eligible, selected, waitlisted, not_eligible, excluded, unknown) and
    `village` narrow them. `format=csv` downloads every matching row as CSV."""
    if format == "csv":
        return _csv_response(
            request, await service.csv_header(screening_id, program, status), village
        )
    after = None if cursor is None else read_cursor(cursor, "id", uuid.UUID)
    items = await service.results(
        screening_id, program=program, status=status, village=village, after=after, limit=limit + 1
    )
    page, more = items[:limit], len(items) > limit
    next_cursor = encode_cursor({"id": str(page[-1].household_id)}) if more else None
    return Page[ScreeningResult](items=page, next_cursor=next_cursor)


@router.get("/screenings/{screening_id}/results.csv", response_class=StreamingResponse)
async def screening_results_csv(
    screening_id: uuid.UUID,
    request: Request,
    service: Screenings,
    program: ProgramQuery = None,
    status: ResultStatus | None = None,
    village: Village = None,
) -> StreamingResponse:
    """Every matching household as CSV (UTF-8 with BOM, opens in Excel), streamed."""
    return _csv_response(request, await service.csv_header(screening_id, program, status), village)
