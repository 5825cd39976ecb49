"""The referral service's questions to real registry and eligibility apps: households and
members checked, suggestions with owners and approval flags, programme facts, 404s, and
answers (unchecked, with a bilingual problem) when an upstream is down, slow or broken."""

from __future__ import annotations

import uuid
from datetime import date
from typing import Any

import httpx
import pytest

from selaras_referral.app import create_app
from selaras_referral.service.upstream import Caller, Upstream
from selaras_shared.errors import NotFound
from tests.referral.upstreams import BUDGET, MODAL, PANGAN, ZAKAT, Upstreams, upstream_settings
from tests.registry import factories
from tests.support import bearer


def caller(jurisdiction: str = "7303", lang: str = "id", role: str = "front_office") -> Caller:
    token = bearer(role, jurisdiction, f"{role}-{jurisdiction}", None)["Authorization"]
    return Caller(authorization=token, request_id="req-upstream-1", lang=lang)


# --- the registry -----------------------------------------------------------------------


async def test_household_and_member_are_checked(upstreams: Upstreams) -> None:
    household = await upstreams.household()
    member_id = uuid.UUID(household["members"][1]["id"])
    check = await upstreams.upstream.check_household(
        caller(), uuid.UUID(household["id"]), member_id
    )
    assert check.checked is True
    assert check.village_code == factories.VILLAGE
    assert check.member_found is True
    assert check.problem is None


async def test_member_of_another_household_is_not_found_in_this_one(upstreams: Upstreams) -> None:
    household = await upstreams.household()
    other = await upstreams.household()
    stranger = uuid.UUID(other["members"][0]["id"])
    check = await upstreams.upstream.check_household(caller(), uuid.UUID(household["id"]), stranger)
    assert check.checked is True and check.member_found is False
    without_member = await upstreams.upstream.check_household(
        caller(), uuid.UUID(household["id"]), None
    )
    assert without_member.checked is True and without_member.member_found is None


async def test_household_outside_the_jurisdiction_or_unknown_is_not_found(
    upstreams: Upstreams,
) -> None:
    household = await upstreams.household()
    with pytest.raises(NotFound) as outside:
        await upstreams.upstream.check_household(
            caller(jurisdiction="7371"), uuid.UUID(household["id"]), None
        )
    assert household["id"] in outside.value.to_problem("en")["detail"]
    with pytest.raises(NotFound):
        await upstreams.upstream.check_household(caller(), uuid.uuid4(), None)


async def test_registry_down_leaves_the_household_unchecked(upstreams: Upstreams) -> None:
    household = await upstreams.household()
    upstreams.down("registry")
    check = await upstreams.upstream.check_household(caller(), uuid.UUID(household["id"]), None)
    assert check.checked is False
    assert check.village_code is None and check.member_found is None
    assert check.problem is not None
    assert check.problem.render("en") == "The registry service is unreachable"
    assert check.problem.render("id") == "Layanan registri tidak dapat dihubungi"
    # one attempt and one retry, both refused
    assert len(upstreams.registry_link.requests) == 2


async def test_slow_registry_is_cut_off_at_the_budget(upstreams: Upstreams) -> None:
    household = await upstreams.household()
    upstreams.slow("registry")
    check = await upstreams.upstream.check_household(caller(), uuid.UUID(household["id"]), None)
    assert check.checked is False
    assert check.problem is not None
    assert check.problem.render("en") == (
        f"The registry service did not answer within {BUDGET} seconds"
    )
    # the budget ended the first attempt: no retry was started after it
    assert len(upstreams.registry_link.requests) == 1


async def test_registry_refusing_the_token_leaves_the_household_unchecked(
    upstreams: Upstreams,
) -> None:
    household = await upstreams.household()
    forged = Caller(authorization="Bearer not-a-token", request_id=None, lang="en")
    check = await upstreams.upstream.check_household(forged, uuid.UUID(household["id"]), None)
    assert check.checked is False
    assert check.problem is not None
    assert check.problem.render("en") == "The registry service refused your token"


# --- the eligibility service ------------------------------------------------------------


async def test_suggestions_carry_status_owner_and_approval(upstreams: Upstreams) -> None:
    household = await upstreams.household(desil=2)
    suggestions = await upstreams.upstream.suggest(caller(), uuid.UUID(household["id"]))
    assert suggestions.checked is True and suggestions.problem is None
    assert isinstance(suggestions.evaluated_on, date)
    programs = {p.program: p for p in suggestions.programs}
    assert set(programs) == {ZAKAT, PANGAN, MODAL}
    zakat = programs[ZAKAT]
    assert zakat.status == "eligible"
    assert zakat.owner == "baznas-7303"
    assert zakat.source_level == "csr"
    assert zakat.requires_manager_approval is True
    assert zakat.rule_set_version == 1
    assert (zakat.name_id, zakat.name_en) == ("Zakat Konsumtif", "Zakat aid")
    pangan = programs[PANGAN]
    assert pangan.status == "eligible"
    assert pangan.owner == "dinsos-7303" and pangan.requires_manager_approval is False
    modal = programs[MODAL]
    assert modal.status == "unknown"
    assert modal.owner == "bank-sulselbar"
    assert modal.rule_set_version is None
    assert modal.reason


async def test_suggestions_say_not_eligible_by_the_rules(upstreams: Upstreams) -> None:
    household = await upstreams.household(desil=5)
    suggestions = await upstreams.upstream.suggest(caller(), uuid.UUID(household["id"]))
    statuses = {p.program: p.status for p in suggestions.programs}
    assert statuses == {ZAKAT: "not_eligible", PANGAN: "eligible", MODAL: "unknown"}


async def test_suggestions_for_a_household_outside_the_jurisdiction_are_not_found(
    upstreams: Upstreams,
) -> None:
    household = await upstreams.household()
    with pytest.raises(NotFound):
        await upstreams.upstream.suggest(caller(jurisdiction="7371"), uuid.UUID(household["id"]))


@pytest.mark.parametrize(
    ("state", "english"),
    [
        ("down", "The eligibility service is unreachable"),
        ("slow", f"The eligibility service did not answer within {BUDGET} seconds"),
    ],
)
async def test_eligibility_down_or_slow_leaves_suggestions_unchecked(
    upstreams: Upstreams, state: str, english: str
) -> None:
    household = await upstreams.household()
    if state == "down":
        upstreams.down("eligibility")
    else:
        upstreams.slow("eligibility")
    suggestions = await upstreams.upstream.suggest(caller(), uuid.UUID(household["id"]))
    assert suggestions.checked is False
    assert suggestions.programs == [] and suggestions.evaluated_on is None
    assert suggestions.problem is not None
    assert suggestions.problem.render("en") == english


async def test_programme_facts_for_a_referral_made_by_hand(upstreams: Upstreams) -> None:
    facts, problem = await upstreams.upstream.program(caller(), ZAKAT)
    assert problem is None and facts is not None
    assert facts.program == ZAKAT and facts.owner == "baznas-7303"
    assert facts.requires_manager_approval is True
    assert facts.status == "unknown" and facts.rule_set_version is None
    unknown, no_problem = await upstreams.upstream.program(caller(), "NO_SUCH_PROGRAM")
    assert unknown is None and no_problem is None


async def test_programme_facts_when_eligibility_is_down(upstreams: Upstreams) -> None:
    upstreams.down("eligibility")
    facts, problem = await upstreams.upstream.program(caller(), ZAKAT)
    assert facts is None
    assert problem is not None
    assert problem.render("id") == "Layanan kelayakan tidak dapat dihubungi"


# --- what is forwarded ------------------------------------------------------------------


async def test_caller_headers_are_forwarded_to_both_services(upstreams: Upstreams) -> None:
    household = await upstreams.household()
    who = caller(lang="en")
    await upstreams.upstream.check_household(who, uuid.UUID(household["id"]), None)
    await upstreams.upstream.suggest(who, uuid.UUID(household["id"]))
    (to_registry,) = upstreams.registry_link.requests
    (to_eligibility,) = upstreams.eligibility_link.requests
    for request in (to_registry, to_eligibility):
        assert request.headers["authorization"] == who.authorization
        assert request.headers["x-request-id"] == "req-upstream-1"
        assert request.headers["accept-language"] == "en"
    assert to_registry.headers["x-purpose"] == "referral"
    assert to_registry.url.path == f"/api/v1/households/{household['id']}"
    assert to_eligibility.url.path == "/api/v1/eligibility/explain"


# --- broken answers ---------------------------------------------------------------------


def answering(status: int, body: Any) -> httpx.MockTransport:
    return httpx.MockTransport(lambda request: httpx.Response(status, json=body))


@pytest.mark.parametrize(
    ("status", "body", "english"),
    [
        (200, [1, 2], "The registry service answered with an error (HTTP 200)"),
        (200, {"id": "x"}, "The registry service answered with an error (HTTP 200)"),
        (500, {"status": 500}, "The registry service answered with an error (HTTP 500)"),
        (403, {"status": 403}, "The registry service does not allow this request"),
    ],
)
async def test_broken_registry_answers_leave_the_household_unchecked(
    status: int, body: Any, english: str
) -> None:
    upstream = Upstream.from_settings(
        upstream_settings(), registry_transport=answering(status, body)
    )
    try:
        check = await upstream.check_household(caller(), uuid.uuid4(), None)
    finally:
        await upstream.aclose()
    assert check.checked is False
    assert check.problem is not None and check.problem.render("en") == english


@pytest.mark.parametrize(
    "body",
    [
        {"programs": []},
        {"evaluated_on": "not a date", "programs": []},
        {"evaluated_on": "2025-06-01"},
    ],
)
async def test_broken_eligibility_answers_leave_suggestions_unchecked(body: Any) -> None:
    upstream = Upstream.from_settings(
        upstream_settings(), eligibility_transport=answering(200, body)
    )
    try:
        suggestions = await upstream.suggest(caller(), uuid.uuid4())
    finally:
        await upstream.aclose()
    assert suggestions.checked is False
    assert suggestions.problem is not None
    assert "eligibility" in suggestions.problem.render("en")


async def test_retried_read_succeeds_after_a_502() -> None:
    answers = [httpx.Response(502, json={}), httpx.Response(200, json={"items": []})]
    seen: list[httpx.Request] = []

    def handle(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return answers.pop(0)

    upstream = Upstream.from_settings(
        upstream_settings(), eligibility_transport=httpx.MockTransport(handle)
    )
    try:
        facts, problem = await upstream.program(caller(), ZAKAT)
    finally:
        await upstream.aclose()
    assert (facts, problem) == (None, None)
    assert len(seen) == 2


# --- the app ----------------------------------------------------------------------------


async def test_app_lifespan_owns_the_upstream_clients(tmp_path: Any) -> None:
    settings = upstream_settings(
        registry_url="http://registry.example:8001",
        eligibility_url="http://eligibility.example:8002",
        database_url=f"sqlite+aiosqlite:///{tmp_path / 'r.db'}",
    )
    app = create_app(settings)
    async with app.router.lifespan_context(app):
        upstream = app.state.upstream
        assert isinstance(upstream, Upstream)
        assert str(upstream.registry.http.base_url) == "http://registry.example:8001"
        assert str(upstream.eligibility.http.base_url) == "http://eligibility.example:8002"
        assert upstream.registry.http.timeout.connect == 0.2
        assert upstream.budget == BUDGET
    assert upstream.registry.http.is_closed and upstream.eligibility.http.is_closed
