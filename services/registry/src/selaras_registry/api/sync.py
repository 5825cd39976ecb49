"""Offline sync route: a batch of household upserts from the mobile client."""

from __future__ import annotations

from dataclasses import replace
from datetime import timedelta
from typing import Annotated

from fastapi import APIRouter, Depends, Header, Request
from fastapi.responses import JSONResponse

from selaras_registry.deps import Session, get_caller
from selaras_registry.schemas.sync import SyncBatch, SyncResponse
from selaras_registry.service import Caller
from selaras_registry.service.sync import SyncService
from selaras_shared.i18n import negotiate_language
from selaras_shared.idempotency import idempotency_key

router = APIRouter(tags=["sync"])


async def get_sync_caller(
    request: Request, caller: Annotated[Caller, Depends(get_caller)]
) -> Caller:
    """The caller, with changes attributed to source `sync` unless X-Change-Source says else."""
    if request.headers.get("x-change-source"):
        return caller
    return replace(caller, source="sync")


@router.post(
    "/sync",
    response_model=SyncResponse,
    responses={
        200: {"headers": {"Idempotent-Replayed": {"description": "`true` on a replayed answer"}}}
    },
)
async def sync_households(
    body: SyncBatch,
    request: Request,
    session: Session,
    caller: Annotated[Caller, Depends(get_sync_caller)],
    idempotency_key_header: Annotated[
        str | None,
        Header(
            alias="Idempotency-Key",
            description="one key per batch; a retry of the same batch reuses it",
        ),
    ] = None,
) -> JSONResponse:
    """Apply up to 500 household upserts made offline; each record answers on its own.

    Every record is `created`, `updated`, `unchanged`, `conflict` (the server moved past
    `base_version` with other content: the current version, ETag and document are
    returned for the client to merge) or `rejected` (with its problem). Retrying a batch
    with the same `Idempotency-Key` replays the first answer and writes nothing. The
    client pulls what changed on the server with the change feed, `GET /api/v1/changes`.
    """
    key = idempotency_key(idempotency_key_header)
    settings = request.app.state.settings
    service = SyncService(
        session, caller, retention=timedelta(days=settings.idempotency_retention_days)
    )
    lang = negotiate_language(request.headers.get("accept-language"))
    answer = await service.sync(body, key, lang)
    # A replay is the stored answer, in the language of the request that was applied.
    headers = {"Idempotent-Replayed": "true"} if answer.replayed else {}
    return JSONResponse(answer.body, status_code=answer.status_code, headers=headers)
