"""HTTP clients of other Selaras services: the registry, where households are read.

The discipline is the shared one (`selaras_shared.http`): one long-lived, pooled client per
app, explicit connect and read timeouts, and an overall deadline per call so that a slow
registry never holds a request open: the caller gets a 503 (unreachable) or 504 (too slow)
problem instead. A region's snapshot has a deadline of its own: it is large by design.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from typing import Any

import httpx
import pyarrow as pa  # type: ignore[import-untyped, unused-ignore]

from selaras_eligibility.settings import EligibilitySettings
from selaras_shared.errors import (
    DomainError,
    FieldIssue,
    Forbidden,
    InvalidInput,
    NotFound,
    UpstreamError,
)
from selaras_shared.http import ServiceClient, forwarded_headers
from selaras_shared.i18n import Text

_SNAPSHOT_UNREADABLE = Text(
    "Snapshot dari registri tidak dapat dibaca",
    "The registry's snapshot could not be read",
)
_REGION_UNKNOWN = Text("Kode wilayah tidak dikenal", "Unknown region code")


@dataclass(frozen=True)
class RegionSnapshot:
    """A region's households as the registry's Arrow table, and the change-feed cursor
    it corresponds to."""

    table: pa.Table
    cursor: str


@dataclass(frozen=True)
class RegionChanges:
    """The region's households changed after a cursor: the rows of those still in the
    region (as in a snapshot), the ids of every one of them (those that left too), and the
    cursor the answer corresponds to."""

    households: pa.Table
    changed: pa.Array
    cursor: str


class RegistryClient(ServiceClient):
    """Reads households from the registry on behalf of the caller (whose token it forwards)."""

    name = Text("registri", "registry")

    def __init__(
        self,
        http: httpx.AsyncClient,
        *,
        deadline: float = 8.0,
        retries: int = 2,
        snapshot_deadline: float = 600.0,
    ) -> None:
        super().__init__(http, deadline=deadline, retries=retries)
        self.snapshot_deadline = snapshot_deadline

    @classmethod
    def from_settings(
        cls, settings: EligibilitySettings, transport: httpx.AsyncBaseTransport | None = None
    ) -> RegistryClient:
        """A client with the configured base URL and timeouts (`transport` for tests)."""
        client = cls.build(
            settings.registry_url,
            connect_timeout=settings.registry_connect_timeout,
            read_timeout=settings.registry_read_timeout,
            deadline=settings.registry_deadline,
            retries=settings.registry_retries,
            transport=transport,
        )
        client.snapshot_deadline = settings.registry_snapshot_deadline
        return client

    async def household(
        self,
        household_id: uuid.UUID,
        *,
        authorization: str | None,
        accept_language: str | None = None,
        purpose: str = "eligibility",
    ) -> dict[str, Any]:
        """The registry's household document, read with the caller's own rights.

        A household outside the caller's jurisdiction is a 404 from the registry, and so it
        is here: the answer does not reveal that it exists.
        """
        headers = forwarded_headers(
            authorization=authorization, accept_language=accept_language, purpose=purpose
        )
        not_found = NotFound(
            Text(
                "Rumah tangga {id} tidak ditemukan",
                "Household {id} not found",
                {"id": str(household_id)},
            )
        )
        return await self.read_object(
            "GET", f"/api/v1/households/{household_id}", headers=headers, not_found=not_found
        )

    async def region_known(self, code: str, *, authorization: str | None) -> bool:
        """Whether the registry knows the region code (province to village)."""
        response = await self.read(
            "GET",
            f"/api/v1/regions/{code}",
            headers=forwarded_headers(authorization=authorization, purpose="screening"),
        )
        if response.status_code == 200:
            return True
        if response.status_code == 404:
            return False
        raise self._region_problem(response, code)

    async def snapshot(
        self, region: str, *, authorization: str | None, purpose: str = "screening"
    ) -> RegionSnapshot:
        """The region's active households as one Arrow table, read with the caller's rights
        (masked without personal-data rights), within the snapshot deadline."""
        table, cursor = await self._snapshot(region, None, authorization, purpose)
        return RegionSnapshot(table, cursor)

    async def changes_since(
        self, region: str, since: str, *, authorization: str | None, purpose: str = "screening"
    ) -> RegionChanges:
        """The region's households changed after the snapshot cursor `since`, as they are
        now (the registry's snapshot with `since`), read like a snapshot."""
        table, cursor = await self._snapshot(region, since, authorization, purpose)
        present = table.column("present")
        if not pa.types.is_boolean(present.type) or present.null_count:
            raise self._unreadable()
        households = table.filter(present).drop_columns(["present"])
        return RegionChanges(households, table.column("id").combine_chunks(), cursor)

    async def _snapshot(
        self, region: str, since: str | None, authorization: str | None, purpose: str
    ) -> tuple[pa.Table, str]:
        response = await self.read(
            "GET",
            "/api/v1/snapshots",
            headers=forwarded_headers(authorization=authorization, purpose=purpose),
            params={"region": region, **({"since": since} if since is not None else {})},
            deadline=self.snapshot_deadline,
        )
        if response.status_code != 200:
            raise self._region_problem(response, region)
        cursor = response.headers.get("x-change-cursor")
        try:
            # Zero-copy: the table's buffers point into the downloaded body.
            with pa.ipc.open_stream(pa.py_buffer(response.content)) as reader:
                table = reader.read_all()
        except (pa.ArrowInvalid, OSError) as exc:
            raise self._unreadable() from exc
        if not cursor or (since is not None and "present" not in table.column_names):
            raise self._unreadable()
        return table, cursor

    def _unreadable(self) -> DomainError:
        return UpstreamError(_SNAPSHOT_UNREADABLE)

    def _region_problem(self, response: httpx.Response, region: str) -> DomainError:
        """Our own problem for a registry answer other than 200 to a regional read."""
        status = response.status_code
        if status == 422:
            return InvalidInput(
                _REGION_UNKNOWN, errors=[FieldIssue("region", "region_unknown", _REGION_UNKNOWN)]
            )
        if status == 403:
            return Forbidden(
                Text(
                    "Registri tidak mengizinkan Anda membaca wilayah {region}",
                    "The registry does not allow you to read region {region}",
                    {"region": region},
                )
            )
        if status == 404:
            return NotFound(
                Text("Wilayah {code} tidak dikenal", "Region {code} is unknown", {"code": region})
            )
        return self.problem(response)
