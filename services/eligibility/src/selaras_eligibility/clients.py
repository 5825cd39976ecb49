"""HTTP clients of other Selaras services: the registry, where households are read.

The discipline is the shared one (`selaras_shared.http`): one long-lived, pooled client per
app, explicit connect and read timeouts, and an overall deadline per call so that a slow
registry never holds a request open: the caller gets a 503 (unreachable) or 504 (too slow)
problem instead.
"""

from __future__ import annotations

import uuid
from typing import Any

import httpx

from selaras_eligibility.settings import EligibilitySettings
from selaras_shared.errors import NotFound
from selaras_shared.http import ServiceClient, forwarded_headers
from selaras_shared.i18n import Text


class RegistryClient(ServiceClient):
    """Reads households from the registry on behalf of the caller (whose token it forwards)."""

    name = Text("registri", "registry")

    def __init__(self, http: httpx.AsyncClient, *, deadline: float = 8.0, retries: int = 2) -> None:
        super().__init__(http, deadline=deadline, retries=retries)

    @classmethod
    def from_settings(
        cls, settings: EligibilitySettings, transport: httpx.AsyncBaseTransport | None = None
    ) -> RegistryClient:
        """A client with the configured base URL and timeouts (`transport` for tests)."""
        return cls.build(
            settings.registry_url,
            connect_timeout=settings.registry_connect_timeout,
            read_timeout=settings.registry_read_timeout,
            deadline=settings.registry_deadline,
            retries=settings.registry_retries,
            transport=transport,
        )

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
