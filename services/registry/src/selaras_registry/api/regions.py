"""Region routes: Kemendagri provinces, regencies, sub-districts and villages."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query

from selaras_registry import regions
from selaras_registry.errors import field_invalid
from selaras_registry.schemas import RegionRead
from selaras_shared.auth import CurrentPrincipal
from selaras_shared.errors import NotFound
from selaras_shared.i18n import Text

router = APIRouter(tags=["regions"])


def _region_read(region: regions.Region, with_ancestors: bool = False) -> RegionRead:
    ancestors = [_region_read(a) for a in regions.ancestors(region.code)] if with_ancestors else []
    return RegionRead(
        code=region.code,
        name=region.name,
        level=region.level,
        parent=region.parent,
        ancestors=ancestors,
    )


@router.get("/regions")
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


@router.get("/regions/{code}")
async def get_region(_: CurrentPrincipal, code: str) -> RegionRead:
    """One region with its ancestors; a village code is valid under a known sub-district."""
    region = regions.lookup(code)
    if region is None:
        raise NotFound(
            Text("Wilayah {code} tidak dikenal", "Region {code} is unknown", {"code": code})
        )
    return _region_read(region, with_ancestors=True)
