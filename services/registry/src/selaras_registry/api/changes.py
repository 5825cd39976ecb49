"""The change feed: every household change after a cursor, in order."""

from __future__ import annotations

import uuid
from typing import Annotated

import orjson
from fastapi import APIRouter, Depends, Query, Response

from selaras_registry.api.params import FeedLimit, RegionPrefix, check_region
from selaras_registry.deps import Session, get_caller
from selaras_registry.schemas.changes import ChangePage
from selaras_registry.service import Caller
from selaras_registry.service.changes import ChangeService
from selaras_shared.pagination import DEFAULT_LIMIT

router = APIRouter(tags=["changes"])


async def get_change_service(
    session: Session, caller: Annotated[Caller, Depends(get_caller)]
) -> ChangeService:
    """The change feed for this request."""
    return ChangeService(session, caller)


Changes = Annotated[ChangeService, Depends(get_change_service)]


@router.get("/changes", response_model=ChangePage)
async def list_changes(
    service: Changes,
    since: Annotated[
        str | None,
        Query(
            max_length=500, description="`next_cursor` of the last page (absent: from the start)"
        ),
    ] = None,
    region: RegionPrefix | None = None,
    limit: FeedLimit = DEFAULT_LIMIT,
) -> Response:
    """Household changes after `since`, oldest first, in the caller's jurisdiction (or the
    `region` within it). A household moving out of the region shows up too
    (`previous_village_code`). `next_cursor` is always set: poll with it."""
    check_region("region", region)
    page = await service.feed(since=since, region=region, limit=limit)
    # Serialised once with orjson, not validated into `ChangePage` first: a screening's
    # catch-up reads thousands of documents a page, each already in `HouseholdRead`'s shape
    # (written by the registry itself; the tests check the page against the model).
    body = {"items": page.items, "next_cursor": page.next_cursor, "has_more": page.has_more}
    return Response(
        orjson.dumps(body, default=_subclassed_uuid, option=orjson.OPT_UTC_Z),
        media_type="application/json",
    )


def _subclassed_uuid(value: object) -> str:
    # asyncpg returns UUIDs as its own subclass of uuid.UUID, which orjson does not take.
    if isinstance(value, uuid.UUID):
        return str(value)
    raise TypeError(f"not JSON serialisable: {type(value).__name__}")
