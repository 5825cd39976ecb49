"""HTTP clients of other Selaras services: the registry, where households are read.

One long-lived `httpx.AsyncClient` per app (pooled connections), explicit connect and read
timeouts, and an overall deadline per call so that a slow registry never holds a request
open: the caller gets a 503 (unreachable) or 504 (too slow) problem instead.
"""

from __future__ import annotations

import asyncio
import logging
import random
import time
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
    Unauthorized,
    UpstreamError,
    UpstreamTimeout,
    UpstreamUnavailable,
)
from selaras_shared.i18n import Text
from selaras_shared.requestctx import current_request_id

_log = logging.getLogger("selaras.eligibility.registry")

#: Statuses worth another attempt: the registry (or a proxy before it) is briefly unwell.
_RETRYABLE = {502, 503, 504}
#: The first backoff in seconds; doubled each attempt, with jitter so retries do not align.
_BACKOFF = 0.1

_UNAVAILABLE = Text("Layanan registri tidak dapat dihubungi", "The registry service is unreachable")
_TOO_SLOW = Text(
    "Layanan registri tidak menjawab dalam {seconds} detik",
    "The registry service did not answer within {seconds} seconds",
)
_BAD_ANSWER = Text(
    "Layanan registri menjawab dengan galat (HTTP {status})",
    "The registry service answered with an error (HTTP {status})",
)


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


class RegistryClient:
    """Reads households from the registry on behalf of the caller (whose token it forwards)."""

    def __init__(
        self,
        http: httpx.AsyncClient,
        *,
        deadline: float = 8.0,
        retries: int = 2,
        snapshot_deadline: float = 600.0,
    ) -> None:
        self.http = http
        self.deadline = deadline
        self.retries = retries
        self.snapshot_deadline = snapshot_deadline

    @classmethod
    def from_settings(
        cls, settings: EligibilitySettings, transport: httpx.AsyncBaseTransport | None = None
    ) -> RegistryClient:
        """A client with the configured base URL and timeouts (`transport` for tests)."""
        timeout = httpx.Timeout(
            connect=settings.registry_connect_timeout,
            read=settings.registry_read_timeout,
            write=settings.registry_read_timeout,
            pool=settings.registry_connect_timeout,
        )
        http = httpx.AsyncClient(
            base_url=settings.registry_url, timeout=timeout, transport=transport
        )
        return cls(
            http,
            deadline=settings.registry_deadline,
            retries=settings.registry_retries,
            snapshot_deadline=settings.registry_snapshot_deadline,
        )

    async def aclose(self) -> None:
        """Close the pooled connections (at app shutdown)."""
        await self.http.aclose()

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
        headers = _headers(authorization, accept_language, purpose)
        response = await self._get(f"/api/v1/households/{household_id}", headers)
        if response.status_code == 200:
            try:
                document = response.json()
            except ValueError:
                document = None
            if not isinstance(document, dict):
                raise UpstreamError(_BAD_ANSWER.with_params(status=response.status_code))
            return document
        raise _mapped(response, household_id)

    async def region_known(self, code: str, *, authorization: str | None) -> bool:
        """Whether the registry knows the region code (province to village)."""
        response = await self._get(
            f"/api/v1/regions/{code}", _headers(authorization, None, "screening")
        )
        if response.status_code == 200:
            return True
        if response.status_code == 404:
            return False
        raise _mapped_region(response, code)

    async def snapshot(
        self, region: str, *, authorization: str | None, purpose: str = "screening"
    ) -> RegionSnapshot:
        """The region's active households as one Arrow table, read with the caller's rights
        (masked without personal-data rights), within the snapshot deadline."""
        response = await self._get(
            "/api/v1/snapshots",
            _headers(authorization, None, purpose),
            params={"region": region},
            deadline=self.snapshot_deadline,
        )
        if response.status_code != 200:
            raise _mapped_region(response, region)
        cursor = response.headers.get("x-change-cursor")
        try:
            # Zero-copy: the table's buffers point into the downloaded body.
            with pa.ipc.open_stream(pa.py_buffer(response.content)) as reader:
                table = reader.read_all()
        except (pa.ArrowInvalid, OSError) as exc:
            raise UpstreamError(_SNAPSHOT_UNREADABLE) from exc
        if not cursor:
            raise UpstreamError(_SNAPSHOT_UNREADABLE)
        return RegionSnapshot(table, cursor)

    async def changes(
        self,
        since: str,
        region: str,
        *,
        authorization: str | None,
        limit: int = 200,
        purpose: str = "screening",
    ) -> dict[str, Any]:
        """One page of the registry's change feed after `since` for the region: `items`
        (each with the household document, null when it left the caller's jurisdiction),
        `next_cursor` and `has_more`."""
        response = await self._get(
            "/api/v1/changes",
            _headers(authorization, None, purpose),
            params={"since": since, "region": region, "limit": limit},
        )
        if response.status_code != 200:
            raise _mapped_region(response, region)
        try:
            page = response.json()
        except ValueError:
            page = None
        if not isinstance(page, dict) or not isinstance(page.get("items"), list):
            raise UpstreamError(_BAD_ANSWER.with_params(status=response.status_code))
        return page

    async def _get(
        self,
        path: str,
        headers: dict[str, str],
        *,
        params: dict[str, Any] | None = None,
        deadline: float | None = None,
    ) -> httpx.Response:
        """GET with bounded, jittered retries, all within the deadline."""
        started = time.monotonic()
        deadline = deadline or self.deadline
        attempt = 0
        last: httpx.Response | None = None
        try:
            async with asyncio.timeout(deadline):
                while True:
                    try:
                        last = await self.http.get(path, headers=headers, params=params)
                        if last.status_code not in _RETRYABLE or attempt >= self.retries:
                            return last
                        _log.info("registry answered %s; retrying", last.status_code)
                    except httpx.TransportError as exc:
                        if attempt >= self.retries:
                            raise
                        last = None
                        _log.info("registry call failed (%s); retrying", type(exc).__name__)
                    pause = _BACKOFF * (2**attempt) * random.uniform(0.5, 1.5)
                    # No retry that cannot finish before the deadline: answer now instead.
                    if time.monotonic() - started + pause >= deadline:
                        if last is not None:
                            return last
                        raise UpstreamUnavailable(_UNAVAILABLE, headers={"Retry-After": "5"})
                    await asyncio.sleep(pause)
                    attempt += 1
        except TimeoutError as exc:
            raise UpstreamTimeout(_TOO_SLOW.with_params(seconds=deadline)) from exc
        except httpx.TimeoutException as exc:
            raise UpstreamTimeout(_TOO_SLOW.with_params(seconds=deadline)) from exc
        except httpx.TransportError as exc:
            _log.warning("registry unreachable: %s", exc)
            raise UpstreamUnavailable(_UNAVAILABLE, headers={"Retry-After": "5"}) from exc


def _headers(
    authorization: str | None, accept_language: str | None, purpose: str
) -> dict[str, str]:
    """The caller's token and language, the purpose and the request id, forwarded."""
    headers = {"X-Purpose": purpose}
    if authorization:
        headers["Authorization"] = authorization
    if accept_language:
        headers["Accept-Language"] = accept_language
    request_id = current_request_id()
    if request_id:
        headers["X-Request-ID"] = request_id
    return headers


def _mapped_region(response: httpx.Response, region: str) -> DomainError:
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
    return _mapped(response, None)


def _mapped(response: httpx.Response, household_id: uuid.UUID | None) -> DomainError:
    """Our own problem for a registry answer other than 200."""
    status = response.status_code
    if status == 404:
        return NotFound(
            Text(
                "Rumah tangga {id} tidak ditemukan",
                "Household {id} not found",
                {"id": str(household_id)},
            )
        )
    if status == 401:
        return Unauthorized(Text("Registri menolak token Anda", "The registry refused your token"))
    if status == 403:
        return Forbidden(
            Text(
                "Registri tidak mengizinkan Anda membaca rumah tangga ini",
                "The registry does not allow you to read this household",
            )
        )
    if status == 503:
        return UpstreamUnavailable(_UNAVAILABLE, headers={"Retry-After": "5"})
    if status == 504:
        return UpstreamTimeout(_BAD_ANSWER.with_params(status=status))
    return UpstreamError(_BAD_ANSWER.with_params(status=status))
