"""What the referral service asks other services: is the household (and member) in the
registry, which programmes does it qualify for, and who owns a programme.

Every question is answered within `settings.upstream_budget_seconds`. When the registry or
the eligibility service is down, slow or answers nonsense, the answer says so
(`checked=False` with a bilingual `problem`) instead of raising or hanging: the referral
service still records cases and referrals, marked unchecked. Only a 404 is an error (the
household is unknown, or outside the caller's jurisdiction): there is nothing to record.
"""

from __future__ import annotations

import asyncio
import logging
import uuid
from dataclasses import dataclass
from datetime import date
from typing import Any, Self

import httpx

from selaras_referral.clients import EligibilityClient, RegistryClient
from selaras_referral.settings import ReferralSettings
from selaras_shared.errors import DomainError, NotFound
from selaras_shared.http import forwarded_headers
from selaras_shared.i18n import Text

_log = logging.getLogger("selaras.referral.upstream")


@dataclass(frozen=True)
class Caller:
    """On whose behalf other services are called: their rights, request id and language."""

    #: The request's "Bearer ..." Authorization header.
    authorization: str
    request_id: str | None
    #: "id" | "en"
    lang: str

    def headers(self) -> dict[str, str]:
        """The headers that carry this caller to another service."""
        return forwarded_headers(
            authorization=self.authorization,
            accept_language=self.lang,
            request_id=self.request_id,
        )


@dataclass(frozen=True)
class HouseholdCheck:
    """What the registry said about a household (and one of its members)."""

    #: False: the registry was down or slow, nothing could be verified.
    checked: bool
    #: The registry's village code, when checked.
    village_code: str | None
    #: Whether the member belongs to the household (None if unchecked or no member given).
    member_found: bool | None
    #: Why unchecked, else None.
    problem: Text | None


@dataclass(frozen=True)
class ProgramSuggestion:
    """One programme for a household: whether it qualifies, who receives the referral, and
    whether a manager must approve before it is sent."""

    program: str
    name_id: str
    name_en: str
    source_level: str
    #: Organisation code of the programme's owner: the referral's receiver.
    owner: str
    #: eligible | not_eligible | unknown
    status: str
    requires_manager_approval: bool
    rule_set_version: int | None
    reason: str | None
    missing: list[str]


@dataclass(frozen=True)
class Suggestions:
    """Every programme covering a household, as the eligibility service explained it."""

    checked: bool
    evaluated_on: date | None
    programs: list[ProgramSuggestion]
    problem: Text | None


class Upstream:
    """The referral service's questions to the registry and the eligibility service."""

    def __init__(
        self, registry: RegistryClient, eligibility: EligibilityClient, *, budget: float
    ) -> None:
        self.registry = registry
        self.eligibility = eligibility
        self.budget = budget

    @classmethod
    def from_settings(
        cls,
        settings: ReferralSettings,
        *,
        registry_transport: httpx.AsyncBaseTransport | None = None,
        eligibility_transport: httpx.AsyncBaseTransport | None = None,
    ) -> Self:
        """Both clients with the configured URLs, timeouts and budget (transports for tests)."""
        return cls(
            RegistryClient.from_settings(settings, registry_transport),
            EligibilityClient.from_settings(settings, eligibility_transport),
            budget=settings.upstream_budget_seconds,
        )

    async def aclose(self) -> None:
        """Close both clients' connections (at app shutdown)."""
        await self.registry.aclose()
        await self.eligibility.aclose()

    async def check_household(
        self, caller: Caller, household_id: uuid.UUID, member_id: uuid.UUID | None
    ) -> HouseholdCheck:
        """Whether the registry knows the household (and the member), within the budget.

        Raises NotFound when the registry answers 404 (unknown, or outside the caller's
        jurisdiction).
        """
        try:
            async with asyncio.timeout(self.budget):
                document = await self.registry.household(household_id, caller.headers())
            village_code = str(document["village_code"])
            member_ids = {str(member["id"]) for member in document.get("members") or []}
        except NotFound:
            raise
        except DomainError as error:
            return HouseholdCheck(False, None, None, _problem(error))
        except TimeoutError:
            return HouseholdCheck(False, None, None, _problem(self.registry.too_slow()))
        except (KeyError, TypeError) as exc:
            _log.warning("unexpected registry answer: %r", exc)
            return HouseholdCheck(False, None, None, _problem(self.registry.bad_answer(200)))
        member_found = None if member_id is None else str(member_id) in member_ids
        return HouseholdCheck(True, village_code, member_found, None)

    async def suggest(self, caller: Caller, household_id: uuid.UUID) -> Suggestions:
        """Every programme covering the household, eligible or not and why, within the budget.

        Raises NotFound when the household is unknown or outside the caller's jurisdiction.
        """
        try:
            async with asyncio.timeout(self.budget):
                answer = await self.eligibility.explain(household_id, caller.headers())
            evaluated_on = date.fromisoformat(str(answer["evaluated_on"]))
            programs = [_suggestion(p) for p in answer["programs"]]
        except NotFound:
            raise
        except DomainError as error:
            return Suggestions(False, None, [], _problem(error))
        except TimeoutError:
            return Suggestions(False, None, [], _problem(self.eligibility.too_slow()))
        except (KeyError, TypeError, ValueError) as exc:
            _log.warning("unexpected eligibility answer: %r", exc)
            return Suggestions(False, None, [], _problem(self.eligibility.bad_answer(200)))
        return Suggestions(True, evaluated_on, programs, None)

    async def program(
        self, caller: Caller, code: str
    ) -> tuple[ProgramSuggestion | None, Text | None]:
        """A programme's facts (owner, approval flag) for a referral made by hand.

        Returns `(facts, None)` when the catalogue has the programme (status "unknown": no
        household was evaluated), `(None, None)` when it has no such programme, and
        `(None, problem)` when the eligibility service could not be asked within the budget.
        Never raises for an outage.
        """
        try:
            async with asyncio.timeout(self.budget):
                found = await self.eligibility.program(code, caller.headers())
            if found is None:
                return None, None
            facts = _suggestion({**found, "program": found["code"], "status": "unknown"})
        except DomainError as error:
            return None, _problem(error)
        except TimeoutError:
            return None, _problem(self.eligibility.too_slow())
        except (KeyError, TypeError, ValueError) as exc:
            _log.warning("unexpected eligibility answer: %r", exc)
            return None, _problem(self.eligibility.bad_answer(200))
        return facts, None


def _suggestion(explained: dict[str, Any]) -> ProgramSuggestion:
    """One programme of an explain answer (or a catalogue entry) as a suggestion."""
    rule_set = explained.get("rule_set")
    return ProgramSuggestion(
        program=str(explained["program"]),
        name_id=str(explained["name_id"]),
        name_en=str(explained["name_en"]),
        source_level=str(explained["source_level"]),
        owner=str(explained["owner"]),
        status=str(explained["status"]),
        requires_manager_approval=bool(explained.get("requires_manager_approval", False)),
        rule_set_version=int(rule_set["version"]) if isinstance(rule_set, dict) else None,
        reason=explained.get("reason"),
        missing=[str(field) for field in explained.get("missing") or []],
    )


def _problem(error: DomainError) -> Text:
    """The bilingual reason an upstream could not be asked."""
    return error.detail or error.title
