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
from typing import Any

import httpx

from selaras_eligibility.settings import EligibilitySettings
from selaras_shared.errors import (
    DomainError,
    Forbidden,
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


class RegistryClient:
    """Reads households from the registry on behalf of the caller (whose token it forwards)."""

    def __init__(self, http: httpx.AsyncClient, *, deadline: float = 8.0, retries: int = 2) -> None:
        self.http = http
        self.deadline = deadline
        self.retries = retries

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
        return cls(http, deadline=settings.registry_deadline, retries=settings.registry_retries)

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
        headers = {"X-Purpose": purpose}
        if authorization:
            headers["Authorization"] = authorization
        if accept_language:
            headers["Accept-Language"] = accept_language
        request_id = current_request_id()
        if request_id:
            headers["X-Request-ID"] = request_id
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

    async def _get(self, path: str, headers: dict[str, str]) -> httpx.Response:
        """GET with bounded, jittered retries, all within the deadline."""
        started = time.monotonic()
        attempt = 0
        last: httpx.Response | None = None
        try:
            async with asyncio.timeout(self.deadline):
                while True:
                    try:
                        last = await self.http.get(path, headers=headers)
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
                    if time.monotonic() - started + pause >= self.deadline:
                        if last is not None:
                            return last
                        raise UpstreamUnavailable(_UNAVAILABLE, headers={"Retry-After": "5"})
                    await asyncio.sleep(pause)
                    attempt += 1
        except TimeoutError as exc:
            raise UpstreamTimeout(_TOO_SLOW.with_params(seconds=self.deadline)) from exc
        except httpx.TimeoutException as exc:
            raise UpstreamTimeout(_TOO_SLOW.with_params(seconds=self.deadline)) from exc
        except httpx.TransportError as exc:
            _log.warning("registry unreachable: %s", exc)
            raise UpstreamUnavailable(_UNAVAILABLE, headers={"Retry-After": "5"}) from exc


def _mapped(response: httpx.Response, household_id: uuid.UUID) -> DomainError:
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
