"""Columnar snapshot export of a region's households, for screening."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Query, Request
from starlette.responses import StreamingResponse
from starlette.types import Receive, Scope, Send

from selaras_registry.api.params import RegionPrefix, check_region
from selaras_registry.deps import get_caller
from selaras_registry.service import Caller
from selaras_registry.service.changes import ARROW_STREAM, SnapshotExport, SnapshotService

router = APIRouter(tags=["snapshots"])


class SnapshotResponse(StreamingResponse):
    """Streams an export and ends its transaction however the response ends (finished,
    failed, or the client gone before or during the stream)."""

    media_type = ARROW_STREAM

    def __init__(self, export: SnapshotExport) -> None:
        name = f"selaras-households-{export.region or 'all'}.arrows"
        super().__init__(
            export.stream(),
            headers={
                "X-Change-Cursor": export.cursor,
                "Content-Disposition": f'attachment; filename="{name}"',
                "Cache-Control": "no-store",
            },
        )
        self.export = export

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        try:
            await super().__call__(scope, receive, send)
        finally:
            await self.export.aclose()


async def get_snapshot_service(
    request: Request, caller: Annotated[Caller, Depends(get_caller)]
) -> SnapshotService:
    """Snapshot exports on the app's export engine (each export opens its own transaction
    on connections of its own)."""
    return SnapshotService(request.app.state.export_engine, caller)


@router.get(
    "/snapshots",
    status_code=200,
    response_class=SnapshotResponse,
    responses={
        200: {
            "content": {ARROW_STREAM: {"schema": {"type": "string", "format": "binary"}}},
            "description": "Arrow IPC stream; the change-feed cursor is in `X-Change-Cursor`"
            " and in the schema metadata (`selaras.cursor`)",
            "headers": {
                "X-Change-Cursor": {
                    "description": "the change-feed position the snapshot corresponds to",
                    "schema": {"type": "string"},
                }
            },
        }
    },
)
async def export_snapshot(
    service: Annotated[SnapshotService, Depends(get_snapshot_service)],
    region: RegionPrefix | None = None,
    since: Annotated[
        str | None,
        Query(
            max_length=500,
            description="a snapshot's cursor: export only the households changed after it",
        ),
    ] = None,
) -> SnapshotResponse:
    """The active households of `region` (default: the caller's jurisdiction) and their
    active members as an Arrow IPC stream, one row per household with a `members` list.

    Everything committed up to the cursor (`X-Change-Cursor`, also `selaras.cursor` in the
    schema metadata) is in the snapshot. Follow `/changes?since=<cursor>` from it: a change
    whose `version` is not above the household's `version` in the snapshot is already in
    it and can be skipped. Personal columns (NIK, KK number, name, address, birth date) are
    null without personal-data rights (`selaras.masked`).

    With `since` (the cursor of an earlier snapshot), only the households that changed after
    it, as of now, with one more column, `present`: true for a household of the region
    (its row as in a full snapshot), false for one that no longer is (deactivated or moved
    out: only its id is set). Applied to the earlier snapshot (rows of those ids replaced
    by the present ones), they give what a full snapshot would, at the new cursor."""
    check_region("region", region)
    return SnapshotResponse(await service.open(region, since))
