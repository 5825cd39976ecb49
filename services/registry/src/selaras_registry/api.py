"""Registry routes under /api/v1: regions, households, members, history."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Annotated

from fastapi import APIRouter, Header, Query, Response, status

from selaras_registry import regions
from selaras_registry.codes import Ppks, RecordStatus
from selaras_registry.deps import Service
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
    RegionRead,
)
from selaras_registry.service import Served
from selaras_shared.auth import CurrentPrincipal
from selaras_shared.errors import NotFound
from selaras_shared.etag import expected_version
from selaras_shared.i18n import Text
from selaras_shared.pagination import DEFAULT_LIMIT, MAX_LIMIT, Page

router = APIRouter()

Limit = Annotated[int, Query(ge=1, le=MAX_LIMIT)]
Cursor = Annotated[str | None, Query(max_length=500)]
IfMatch = Annotated[str | None, Header(description="ETag of the version being changed")]
RegionPrefix = Annotated[str, Query(pattern=r"^(\d{2}|\d{4}|\d{6}|\d{10})$")]


def _serve(response: Response, served: Served) -> HouseholdRead:
    response.headers["ETag"] = served.etag
    return HouseholdRead.model_validate(served.document)


def _region_read(region: regions.Region, with_ancestors: bool = False) -> RegionRead:
    ancestors = [_region_read(a) for a in regions.ancestors(region.code)] if with_ancestors else []
    return RegionRead(
        code=region.code,
        name=region.name,
        level=region.level,
        parent=region.parent,
        ancestors=ancestors,
    )


# --- regions ---------------------------------------------------------------------------


@router.get("/regions", tags=["regions"])
async def list_regions(
    _: CurrentPrincipal,
    parent: Annotated[
        str, Query(pattern=r"^(\d{2}|\d{4})?$", description="empty for provinces")
    ] = "",
    q: Annotated[
        str | None, Query(min_length=2, max_length=100, description="name contains")
    ] = None,
) -> list[RegionRead]:
    """Provinces, the regencies of a province, the sub-districts of a regency, or a name search."""
    if q is not None:
        return [_region_read(r) for r in regions.search(q)]
    if parent and regions.lookup(parent) is None:
        raise field_invalid(
            "parent", "region_unknown", Text("Kode wilayah tidak dikenal", "Unknown region code")
        )
    return [_region_read(r) for r in regions.children(parent)]


@router.get("/regions/{code}", tags=["regions"])
async def get_region(_: CurrentPrincipal, code: str) -> RegionRead:
    """One region with its ancestors; a village code is valid under a known sub-district."""
    region = regions.lookup(code)
    if region is None:
        raise NotFound(
            Text("Wilayah {code} tidak dikenal", "Region {code} is unknown", {"code": code})
        )
    return _region_read(region, with_ancestors=True)


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
    if region is not None and regions.lookup(region) is None:
        raise field_invalid(
            "region", "region_unknown", Text("Kode wilayah tidak dikenal", "Unknown region code")
        )
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


@router.get("/households/{household_id}", tags=["households"])
async def get_household(
    household_id: uuid.UUID,
    service: Service,
    response: Response,
    as_of: Annotated[
        datetime | None, Query(description="read the household as it was at this time")
    ] = None,
) -> HouseholdRead:
    """One household with its active members (or as it was at `as_of`)."""
    if as_of is not None and as_of.tzinfo is None:
        raise field_invalid(
            "as_of",
            "timezone_required",
            Text("Sertakan zona waktu (mis. Z)", "Include a time zone (e.g. Z)"),
        )
    return _serve(response, await service.get(household_id, as_of))


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
