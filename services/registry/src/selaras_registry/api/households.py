"""Household, member and history routes."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Annotated

import orjson
from fastapi import APIRouter, Query, Response, status

from selaras_registry.api.params import Cursor, IfMatch, Limit, RegionPrefix, check_region
from selaras_registry.codes import Ppks, RecordStatus
from selaras_registry.deps import Reads, Service
from selaras_registry.errors import field_invalid
from selaras_registry.regions import fold
from selaras_registry.repository import HouseholdFilter
from selaras_registry.schemas import (
    Deactivation,
    HistoryEntry,
    HouseholdCreate,
    HouseholdRead,
    HouseholdUpdate,
    MemberCreate,
    MemberMove,
    MemberRead,
    MemberUpdate,
)
from selaras_registry.service import Served
from selaras_shared.etag import expected_version
from selaras_shared.i18n import Text
from selaras_shared.pagination import DEFAULT_LIMIT, Page

router = APIRouter(tags=["households"])


def _served_json(served: Served) -> Response:
    """The document as JSON without a second pass through the response model: the read
    path is the hottest of the registry (the document has `HouseholdRead`'s shape already,
    which the tests check)."""
    return Response(
        orjson.dumps(served.document),
        media_type="application/json",
        headers={"ETag": served.etag},
    )


def _serve(response: Response, served: Served) -> HouseholdRead:
    response.headers["ETag"] = served.etag
    return HouseholdRead.model_validate(served.document)


# --- households ------------------------------------------------------------------------


@router.post("/households", status_code=status.HTTP_201_CREATED, tags=["households"])
async def create_household(
    body: HouseholdCreate, service: Service, response: Response
) -> HouseholdRead:
    """Register a household with its members."""
    served = await service.create(body)
    response.headers["Location"] = f"/api/v1/households/{served.document['id']}"
    return _serve(response, served)


@router.get("/households", tags=["households"])
async def search_households(
    service: Service,
    region: RegionPrefix | None = None,
    nik: Annotated[str | None, Query(pattern=r"^\d{16}$")] = None,
    kk_number: Annotated[str | None, Query(pattern=r"^\d{16}$")] = None,
    name: Annotated[
        str | None,
        Query(min_length=2, max_length=100, description="prefix of a name or a word of it"),
    ] = None,
    desil_min: Annotated[int | None, Query(ge=1, le=10)] = None,
    desil_max: Annotated[int | None, Query(ge=1, le=10)] = None,
    ppks: Ppks | None = None,
    program: Annotated[str | None, Query(pattern=r"^[A-Z][A-Z0-9_]{1,31}$")] = None,
    record_status: Annotated[RecordStatus, Query(alias="status")] = RecordStatus.active,
    limit: Limit = DEFAULT_LIMIT,
    cursor: Cursor = None,
) -> Page[HouseholdRead]:
    """Search households in the caller's jurisdiction, one page at a time."""
    check_region("region", region)
    if desil_min is not None and desil_max is not None and desil_min > desil_max:
        raise field_invalid(
            "desil_min",
            "range_inverted",
            Text("desil_min melebihi desil_max", "desil_min exceeds desil_max"),
        )
    criteria = HouseholdFilter(
        region=region or "",
        nik=nik,
        kk_number=kk_number,
        name_key=fold(name) if name else None,
        desil_min=desil_min,
        desil_max=desil_max,
        ppks=ppks.value if ppks else None,
        program=program,
        status=record_status.value,
    )
    page = await service.search(criteria, limit=limit, cursor=cursor)
    return Page[HouseholdRead](
        items=[HouseholdRead.model_validate(item) for item in page.items],
        next_cursor=page.next_cursor,
    )


@router.get("/households/{household_id}", response_model=HouseholdRead)
async def get_household(
    household_id: uuid.UUID,
    reads: Reads,
    as_of: Annotated[
        datetime | None, Query(description="read the household as it was at this time")
    ] = None,
) -> Response:
    """One household with its active members (or as it was at `as_of`)."""
    if as_of is not None and as_of.tzinfo is None:
        raise field_invalid(
            "as_of",
            "timezone_required",
            Text("Sertakan zona waktu (mis. Z)", "Include a time zone (e.g. Z)"),
        )
    return _served_json(await reads.get(household_id, as_of))


@router.patch("/households/{household_id}", tags=["households"])
async def update_household(
    household_id: uuid.UUID,
    body: HouseholdUpdate,
    service: Service,
    response: Response,
    if_match: IfMatch = None,
) -> HouseholdRead:
    """Change household fields; requires If-Match with the ETag last read."""
    expected = expected_version(if_match, required=True)
    return _serve(response, await service.update(household_id, body, expected))


@router.post("/households/{household_id}/deactivation", tags=["households"])
async def deactivate_household(
    household_id: uuid.UUID,
    body: Deactivation,
    service: Service,
    response: Response,
    if_match: IfMatch = None,
) -> HouseholdRead:
    """Deactivate a household and its members (died, moved, duplicate); nothing is deleted."""
    return _serve(
        response,
        await service.deactivate(household_id, body, expected_version(if_match, required=False)),
    )


@router.get("/households/{household_id}/history", tags=["households"])
async def household_history(
    household_id: uuid.UUID, service: Service, limit: Limit = DEFAULT_LIMIT, cursor: Cursor = None
) -> Page[HistoryEntry]:
    """Every version of a household: who, when, from where, what changed."""
    page = await service.history(household_id, limit=limit, cursor=cursor)
    return Page[HistoryEntry](
        items=[HistoryEntry.model_validate(item) for item in page.items],
        next_cursor=page.next_cursor,
    )


# --- members ---------------------------------------------------------------------------


@router.get("/households/{household_id}/members", tags=["members"])
async def list_members(
    household_id: uuid.UUID, service: Service, response: Response
) -> list[MemberRead]:
    """The active members of a household."""
    return _serve(response, await service.get(household_id)).members


@router.post(
    "/households/{household_id}/members", status_code=status.HTTP_201_CREATED, tags=["members"]
)
async def add_member(
    household_id: uuid.UUID,
    body: MemberCreate,
    service: Service,
    response: Response,
    if_match: IfMatch = None,
) -> HouseholdRead:
    """Add a person to a household."""
    return _serve(
        response,
        await service.add_member(household_id, body, expected_version(if_match, required=False)),
    )


@router.patch("/households/{household_id}/members/{member_id}", tags=["members"])
async def update_member(
    household_id: uuid.UUID,
    member_id: uuid.UUID,
    body: MemberUpdate,
    service: Service,
    response: Response,
    if_match: IfMatch = None,
) -> HouseholdRead:
    """Correct a member's data."""
    expected = expected_version(if_match, required=False)
    return _serve(response, await service.update_member(household_id, member_id, body, expected))


@router.post("/households/{household_id}/members/{member_id}/removal", tags=["members"])
async def remove_member(
    household_id: uuid.UUID,
    member_id: uuid.UUID,
    body: Deactivation,
    service: Service,
    response: Response,
    if_match: IfMatch = None,
) -> HouseholdRead:
    """Take a person off the household with a reason; the record is kept."""
    expected = expected_version(if_match, required=False)
    return _serve(response, await service.remove_member(household_id, member_id, body, expected))


@router.post("/households/{household_id}/members/{member_id}/move", tags=["members"])
async def move_member(
    household_id: uuid.UUID,
    member_id: uuid.UUID,
    body: MemberMove,
    service: Service,
    response: Response,
    if_match: IfMatch = None,
) -> HouseholdRead:
    """Move a person to another household atomically; answers with the source household."""
    expected = expected_version(if_match, required=False)
    return _serve(response, await service.move_member(household_id, member_id, body, expected))
