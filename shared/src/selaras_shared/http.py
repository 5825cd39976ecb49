"""Calling another Selaras service: the discipline every typed client shares.

One long-lived, pooled `httpx.AsyncClient` per upstream, explicit connect and read
timeouts, an overall deadline per call (retries included) so that a slow upstream never
holds a request open, bounded and jittered retries of reads only, the caller's
Authorization, X-Request-ID and Accept-Language forwarded, and every answer other than the
expected one turned into our own domain error (503 unreachable, 504 too slow, 502 broken,
401/403 passed on). The typed clients (`selaras_eligibility.clients`,
`selaras_referral.clients`) add only their paths and what their answers mean.
"""

from __future__ import annotations

import asyncio
import logging
import random
import time
from typing import Any, Self

import httpx
import orjson

from selaras_shared.errors import (
    DomainError,
    Forbidden,
    Unauthorized,
    UpstreamError,
    UpstreamTimeout,
    UpstreamUnavailable,
)
from selaras_shared.i18n import Text
from selaras_shared.requestctx import current_request_id

_log = logging.getLogger("selaras.http")

#: Statuses worth another attempt: the upstream (or a proxy before it) is briefly unwell.
RETRYABLE = frozenset({502, 503, 504})
#: The first backoff in seconds; doubled each attempt, with jitter so retries do not align.
BACKOFF = 0.1
#: How long a client is told to wait before trying again when an upstream is unreachable.
RETRY_AFTER = "5"


def forwarded_headers(
    *,
    authorization: str | None,
    accept_language: str | None = None,
    request_id: str | None = None,
    purpose: str | None = None,
) -> dict[str, str]:
    """Headers that carry the caller along: its token, language, request id and purpose.

    The request id defaults to the one of the request being served, so that one id follows
    a family's request through every service's logs.
    """
    headers: dict[str, str] = {}
    if authorization:
        headers["Authorization"] = authorization
    if accept_language:
        headers["Accept-Language"] = accept_language
    request_id = request_id or current_request_id()
    if request_id:
        headers["X-Request-ID"] = request_id
    if purpose:
        headers["X-Purpose"] = purpose
    return headers


#: Connections to another service: every open one is kept for reuse (httpx keeps 20 by
#: default, so more concurrent calls than that opened a connection for each call).
KEEPALIVE = httpx.Limits(max_connections=100, max_keepalive_connections=100)


class ServiceClient:
    """Base of a typed client of one Selaras service; subclasses set `name` and add calls."""

    #: The upstream as problems name it, e.g. Text("registri", "registry").
    name: Text = Text("terkait", "upstream")

    def __init__(self, http: httpx.AsyncClient, *, deadline: float, retries: int) -> None:
        self.http = http
        self.deadline = deadline
        self.retries = retries

    @classmethod
    def build(
        cls,
        base_url: str,
        *,
        connect_timeout: float,
        read_timeout: float,
        deadline: float,
        retries: int,
        transport: httpx.AsyncBaseTransport | None = None,
    ) -> Self:
        """A client of `base_url` with these timeouts (`transport` stands in for the network)."""
        timeout = httpx.Timeout(
            connect=connect_timeout, read=read_timeout, write=read_timeout, pool=connect_timeout
        )
        http = httpx.AsyncClient(
            base_url=base_url, timeout=timeout, transport=transport, limits=KEEPALIVE
        )
        return cls(http, deadline=deadline, retries=retries)

    async def aclose(self) -> None:
        """Close the pooled connections (at app shutdown)."""
        await self.http.aclose()

    # --- problems ---------------------------------------------------------------------

    def unreachable(self) -> UpstreamUnavailable:
        """503: the upstream could not be reached."""
        return UpstreamUnavailable(
            Text(
                f"Layanan {self.name.id} tidak dapat dihubungi",
                f"The {self.name.en} service is unreachable",
            ),
            headers={"Retry-After": RETRY_AFTER},
        )

    def too_slow(self, deadline: float | None = None) -> UpstreamTimeout:
        """504: the upstream did not answer within the deadline."""
        return UpstreamTimeout(
            Text(
                f"Layanan {self.name.id} tidak menjawab dalam {{seconds}} detik",
                f"The {self.name.en} service did not answer within {{seconds}} seconds",
                {"seconds": deadline or self.deadline},
            )
        )

    def bad_answer(self, status: int) -> UpstreamError:
        """502: the upstream answered, but not with what it should have."""
        return UpstreamError(
            Text(
                f"Layanan {self.name.id} menjawab dengan galat (HTTP {{status}})",
                f"The {self.name.en} service answered with an error (HTTP {{status}})",
                {"status": status},
            )
        )

    def problem(self, response: httpx.Response) -> DomainError:
        """Our own problem for an unexpected answer (a 404 means what the caller says)."""
        status = response.status_code
        if status == 401:
            return Unauthorized(
                Text(
                    f"Layanan {self.name.id} menolak token Anda",
                    f"The {self.name.en} service refused your token",
                )
            )
        if status == 403:
            return Forbidden(
                Text(
                    f"Layanan {self.name.id} tidak mengizinkan permintaan ini",
                    f"The {self.name.en} service does not allow this request",
                )
            )
        if status == 503:
            return self.unreachable()
        if status == 504:
            return UpstreamTimeout(self.bad_answer(status).detail)
        return self.bad_answer(status)

    def json_object(self, response: httpx.Response) -> dict[str, Any]:
        """The answer's JSON object, or a 502 when the body is not one."""
        try:
            document = orjson.loads(response.content)
        except orjson.JSONDecodeError:
            document = None
        if not isinstance(document, dict):
            raise self.bad_answer(response.status_code)
        return document

    # --- calls ------------------------------------------------------------------------

    async def read_object(
        self,
        method: str,
        path: str,
        *,
        headers: dict[str, str],
        not_found: DomainError,
        json: Any = None,
    ) -> dict[str, Any]:
        """A read answered by one JSON object: `not_found` on a 404 (the thing is unknown,
        or hidden from the caller), our own problem for any other status but 200."""
        response = await self.read(method, path, headers=headers, json=json)
        if response.status_code == 200:
            return self.json_object(response)
        if response.status_code == 404:
            raise not_found
        raise self.problem(response)

    async def read(
        self,
        method: str,
        path: str,
        *,
        headers: dict[str, str],
        json: Any = None,
        params: dict[str, Any] | None = None,
        deadline: float | None = None,
    ) -> httpx.Response:
        """A call that only reads (a GET, or a POST that computes an answer), so that it is
        safe to repeat: bounded, jittered retries on connection failures and 502/503/504,
        all within the deadline (the client's, or `deadline` for a call known to be long);
        raises 503/504 problems when nothing usable came back."""
        deadline = deadline or self.deadline
        started = time.monotonic()
        attempt = 0
        last: httpx.Response | None = None
        try:
            async with asyncio.timeout(deadline):
                while True:
                    try:
                        last = await self.http.request(
                            method, path, headers=headers, json=json, params=params
                        )
                        if last.status_code not in RETRYABLE or attempt >= self.retries:
                            return last
                        _log.info("%s answered %s; retrying", self.name.en, last.status_code)
                    except httpx.TransportError as exc:
                        if attempt >= self.retries:
                            raise
                        last = None
                        _log.info("%s call failed (%s); retrying", self.name.en, type(exc).__name__)
                    pause = BACKOFF * (2**attempt) * random.uniform(0.5, 1.5)
                    # No retry that cannot finish before the deadline: answer now instead.
                    if time.monotonic() - started + pause >= deadline:
                        if last is not None:
                            return last
                        raise self.unreachable()
                    await asyncio.sleep(pause)
                    attempt += 1
        except TimeoutError as exc:
            raise self.too_slow(deadline) from exc
        except httpx.TimeoutException as exc:
            raise self.too_slow(deadline) from exc
        except httpx.TransportError as exc:
            _log.warning("%s unreachable: %s", self.name.en, exc)
            raise self.unreachable() from exc
