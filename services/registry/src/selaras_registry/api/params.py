"""Query and header parameters shared by the registry routes."""

from __future__ import annotations

from typing import Annotated

from fastapi import Header, Query

from selaras_registry import regions
from selaras_registry.errors import field_invalid
from selaras_shared.i18n import Text
from selaras_shared.pagination import MAX_LIMIT

Limit = Annotated[int, Query(ge=1, le=MAX_LIMIT)]
#: Machine consumers (screening, offline clients) catch up on the change feed in big pages.
FEED_MAX_LIMIT = 5000
FeedLimit = Annotated[int, Query(ge=1, le=FEED_MAX_LIMIT)]
Cursor = Annotated[str | None, Query(max_length=500)]
IfMatch = Annotated[str | None, Header(description="ETag of the version being changed")]
RegionPrefix = Annotated[
    str,
    Query(
        pattern=r"^(\d{2}|\d{4}|\d{6}|\d{10})$",
        description="Kemendagri code prefix: province, regency, sub-district or village",
    ),
]


def check_region(field: str, code: str | None) -> None:
    """A region filter must name a known region; an unknown one is a 422 on `field`."""
    if code is not None and regions.lookup(code) is None:
        raise field_invalid(
            field, "region_unknown", Text("Kode wilayah tidak dikenal", "Unknown region code")
        )
