"""Organisation, programme and rule-set routes (the catalogue)."""

from __future__ import annotations

import uuid
from datetime import date
from typing import Annotated, Any

from fastapi import APIRouter, Header, Path, Query, Request, Response, status

from selaras_eligibility import documents
from selaras_eligibility.deps import Service
from selaras_eligibility.repository import ProgramFilter
from selaras_eligibility.rules.document import RuleSetDocument
from selaras_eligibility.schemas import (
    OrganizationCreate,
    OrganizationKind,
    OrganizationRead,
    OrganizationUpdate,
    ProgramCreate,
    ProgramRead,
    ProgramUpdate,
    RuleSetRead,
    RuleSetSummary,
    SourceLevel,
)
from selaras_shared.etag import etag_for, expected_version
from selaras_shared.pagination import DEFAULT_LIMIT, MAX_LIMIT, Page, encode_cursor, read_cursor

router = APIRouter()

IfMatch = Annotated[str | None, Header(description="ETag of the version being changed")]
Limit = Annotated[int, Query(ge=1, le=MAX_LIMIT)]
Cursor = Annotated[str | None, Query(max_length=200, description="next_cursor of the last page")]
Version = Annotated[int, Path(ge=1, le=1_000_000)]

#: The OpenAPI description of a rule-set body: a JSON object, or the same as YAML.
_RULE_SET_BODY: dict[str, Any] = {
    "requestBody": {
        "required": True,
        "content": {
            "application/json": {"schema": {"type": "object"}},
            "application/yaml": {"schema": {"type": "object"}},
        },
    }
}


def _after(cursor: str | None) -> str | None:
    return None if cursor is None else read_cursor(cursor, "code", str)


def _page(items: list[Any], limit: int) -> dict[str, Any]:
    more = len(items) > limit
    items = items[:limit]
    return {
        "items": items,
        "next_cursor": encode_cursor({"code": items[-1].code}) if more else None,
    }


# --- organisations ----------------------------------------------------------------------


@router.post("/organizations", status_code=status.HTTP_201_CREATED, tags=["organizations"])
async def create_organization(
    body: OrganizationCreate, service: Service, response: Response
) -> OrganizationRead:
    """Register an organisation (admin or manager, within their jurisdiction)."""
    created = await service.create_organization(body)
    response.headers["ETag"] = etag_for(created.version)
    response.headers["Location"] = f"/api/v1/organizations/{created.id}"
    return created


@router.get("/organizations", tags=["organizations"])
async def list_organizations(
    service: Service,
    kind: OrganizationKind | None = None,
    limit: Limit = DEFAULT_LIMIT,
    cursor: Cursor = None,
) -> Page[OrganizationRead]:
    """Organisations in code order, a page at a time."""
    items = await service.organizations(after=_after(cursor), limit=limit + 1, kind=kind)
    return Page[OrganizationRead].model_validate(_page(items, limit))


@router.get("/organizations/{organization_id}", tags=["organizations"])
async def get_organization(
    organization_id: uuid.UUID, service: Service, response: Response
) -> OrganizationRead:
    """One organisation, with its ETag."""
    found = await service.organization(organization_id)
    response.headers["ETag"] = etag_for(found.version)
    return found


@router.patch("/organizations/{organization_id}", tags=["organizations"])
async def update_organization(
    organization_id: uuid.UUID,
    body: OrganizationUpdate,
    service: Service,
    response: Response,
    if_match: IfMatch = None,
) -> OrganizationRead:
    """Change an organisation; requires If-Match with the ETag last read."""
    expected = expected_version(if_match, required=True)
    updated = await service.update_organization(organization_id, body, expected)
    response.headers["ETag"] = etag_for(updated.version)
    return updated


# --- programmes -------------------------------------------------------------------------


@router.post("/programs", status_code=status.HTTP_201_CREATED, tags=["programs"])
async def create_program(body: ProgramCreate, service: Service, response: Response) -> ProgramRead:
    """Register a programme (admin or manager covering its owner's region)."""
    created = await service.create_program(body)
    response.headers["ETag"] = etag_for(created.version)
    response.headers["Location"] = f"/api/v1/programs/{created.id}"
    return created


@router.get("/programs", tags=["programs"])
async def list_programs(
    service: Service,
    source_level: SourceLevel | None = None,
    region: Annotated[
        str | None,
        Query(
            pattern=r"^\d{2}(\d{2}(\d{2}(\d{4})?)?)?$",
            description="only programmes whose area covers this region code",
        ),
    ] = None,
    active_on: Annotated[date | None, Query(description="only programmes active that day")] = None,
    limit: Limit = DEFAULT_LIMIT,
    cursor: Cursor = None,
) -> Page[ProgramRead]:
    """Programmes in code order, a page at a time, narrowed by level, area and date."""
    where = ProgramFilter(source_level=source_level, region=region, active_on=active_on)
    items = await service.programs(where, after=_after(cursor), limit=limit + 1)
    return Page[ProgramRead].model_validate(_page(items, limit))


@router.get("/programs/{program_id}", tags=["programs"])
async def get_program(program_id: uuid.UUID, service: Service, response: Response) -> ProgramRead:
    """One programme, with its ETag."""
    found = await service.program(program_id)
    response.headers["ETag"] = etag_for(found.version)
    return found


@router.patch("/programs/{program_id}", tags=["programs"])
async def update_program(
    program_id: uuid.UUID,
    body: ProgramUpdate,
    service: Service,
    response: Response,
    if_match: IfMatch = None,
) -> ProgramRead:
    """Change a programme; requires If-Match with the ETag last read."""
    expected = expected_version(if_match, required=True)
    updated = await service.update_program(program_id, body, expected)
    response.headers["ETag"] = etag_for(updated.version)
    return updated


# --- rule sets --------------------------------------------------------------------------


async def _document(request: Request) -> tuple[RuleSetDocument, str]:
    media_type = (request.headers.get("content-type") or "").split(";")[0].strip().lower()
    return documents.rule_set(await request.body(), media_type)


@router.post(
    "/programs/{program_id}/rules",
    status_code=status.HTTP_201_CREATED,
    tags=["rule sets"],
    openapi_extra=_RULE_SET_BODY,
)
async def add_rule_set(
    program_id: uuid.UUID, request: Request, service: Service, response: Response
) -> RuleSetRead:
    """Store a rule-set document (JSON, or YAML with `Content-Type: application/yaml`) as
    the programme's next draft version."""
    created = await service.add_rule_set(program_id, await _document(request))
    response.headers["Location"] = f"/api/v1/programs/{program_id}/rules/{created.version}"
    return created


@router.get("/programs/{program_id}/rules", tags=["rule sets"])
async def list_rule_sets(program_id: uuid.UUID, service: Service) -> list[RuleSetSummary]:
    """Every version of the programme's rule set, newest first (without documents)."""
    return await service.rule_sets(program_id)


@router.get("/programs/{program_id}/rules/{version}", tags=["rule sets"])
async def get_rule_set(
    program_id: uuid.UUID, version: Version, service: Service, response: Response
) -> RuleSetRead:
    """One version with its document; the ETag is its content hash."""
    found = await service.rule_set(program_id, version)
    response.headers["ETag"] = f'"{found.content_sha256}"'
    return found


@router.put(
    "/programs/{program_id}/rules/{version}", tags=["rule sets"], openapi_extra=_RULE_SET_BODY
)
async def replace_draft(
    program_id: uuid.UUID, version: Version, request: Request, service: Service
) -> RuleSetRead:
    """Replace a draft's document; published and retired versions are immutable (409)."""
    return await service.replace_draft(program_id, version, await _document(request))


@router.post("/programs/{program_id}/rules/{version}/publication", tags=["rule sets"])
async def publish_rule_set(
    program_id: uuid.UUID, version: Version, service: Service
) -> RuleSetRead:
    """Publish a draft; a published version with the same effective_from is retired."""
    return await service.publish(program_id, version)
