"""HTTP clients of the registry (households, members) and the eligibility service
(suggestions, programme facts), on the shared client discipline of `selaras_shared.http`.

Each client is one pooled connection set for the app's life; every call is a read, so it
may be retried, and is bounded by the deadline (the referral service's upstream budget).
"""

from __future__ import annotations

import uuid
from typing import Any, Self

import httpx

from selaras_referral.settings import ReferralSettings
from selaras_shared.errors import NotFound
from selaras_shared.http import ServiceClient
from selaras_shared.i18n import Text
from selaras_shared.pagination import MAX_LIMIT

#: Why the referral service reads personal data from the registry (the registry logs it).
PURPOSE = "referral"
#: At most this many catalogue pages are read looking for one programme code.
_MAX_PROGRAM_PAGES = 20


class _ReferralUpstream(ServiceClient):
    """A client configured from the referral settings: its URL, the shared timeouts, and
    the upstream budget as its deadline."""

    @staticmethod
    def base_url(settings: ReferralSettings) -> str:
        """The upstream's URL among the settings."""
        raise NotImplementedError

    @classmethod
    def from_settings(
        cls, settings: ReferralSettings, transport: httpx.AsyncBaseTransport | None = None
    ) -> Self:
        """A client with the configured URL and timeouts (`transport` for tests)."""
        return cls.build(
            cls.base_url(settings),
            connect_timeout=settings.upstream_connect_timeout,
            read_timeout=settings.upstream_read_timeout,
            deadline=settings.upstream_budget_seconds,
            retries=settings.upstream_retries,
            transport=transport,
        )


class RegistryClient(_ReferralUpstream):
    """Reads households from the registry with the caller's own rights (its token)."""

    name = Text("registri", "registry")

    @staticmethod
    def base_url(settings: ReferralSettings) -> str:
        """`settings.registry_url`."""
        return settings.registry_url

    async def household(self, household_id: uuid.UUID, headers: dict[str, str]) -> dict[str, Any]:
        """The registry's household document with its active members.

        A household outside the caller's jurisdiction is a 404 from the registry, and
        `NotFound` here: the answer does not reveal that it exists.
        """
        return await self.read_object(
            "GET",
            f"/api/v1/households/{household_id}",
            headers={**headers, "X-Purpose": PURPOSE},
            not_found=_household_not_found(household_id),
        )


class EligibilityClient(_ReferralUpstream):
    """Asks the eligibility service which programmes a household qualifies for, and why."""

    name = Text("kelayakan", "eligibility")

    @staticmethod
    def base_url(settings: ReferralSettings) -> str:
        """`settings.eligibility_url`."""
        return settings.eligibility_url

    async def explain(self, household_id: uuid.UUID, headers: dict[str, str]) -> dict[str, Any]:
        """The explain answer for a registry household, today, for every programme covering
        it (a POST that only computes, hence retried like a read)."""
        return await self.read_object(
            "POST",
            "/api/v1/eligibility/explain",
            headers=headers,
            json={"household_id": str(household_id)},
            not_found=_household_not_found(household_id),
        )

    async def program(self, code: str, headers: dict[str, str]) -> dict[str, Any] | None:
        """The catalogue's programme with this code, or None when there is none.

        The catalogue is listed in code order a page at a time, so the search stops at the
        first page that passes the code.
        """
        cursor: str | None = None
        for _ in range(_MAX_PROGRAM_PAGES):
            params: dict[str, Any] = {"limit": MAX_LIMIT}
            if cursor:
                params["cursor"] = cursor
            response = await self.read("GET", "/api/v1/programs", headers=headers, params=params)
            if response.status_code != 200:
                raise self.problem(response)
            page = self.json_object(response)
            items = page.get("items")
            if not isinstance(items, list):
                raise self.bad_answer(response.status_code)
            for item in items:
                if isinstance(item, dict) and item.get("code") == code:
                    return item
            cursor = page.get("next_cursor")
            if not cursor or any(isinstance(i, dict) and str(i.get("code")) > code for i in items):
                return None
        return None


def _household_not_found(household_id: uuid.UUID) -> NotFound:
    return NotFound(
        Text(
            "Rumah tangga {id} tidak ditemukan",
            "Household {id} not found",
            {"id": str(household_id)},
        )
    )
