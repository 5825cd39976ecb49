"""Explain one household against a real registry (in-process, its own database), inline
pre-screening, jurisdiction, unknowns, exclusions, languages, 422s and the JsonLogic export."""

from __future__ import annotations

import asyncio
import socket
import time
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest
from fastapi import FastAPI
from sqlalchemy.ext.asyncio import AsyncEngine

from selaras_eligibility.clients import RegistryClient
from selaras_eligibility.settings import EligibilitySettings
from selaras_registry.app import create_app as create_registry_app
from selaras_registry.cli import MIGRATIONS as REGISTRY_MIGRATIONS
from selaras_registry.settings import RegistrySettings
from selaras_shared.db import make_engine
from selaras_shared.migrations import upgrade
from tests.eligibility.conftest import Tokens
from tests.eligibility.test_catalogue import organization, program, rules
from tests.registry import factories
from tests.support import AUTH, on_database

API = "/api/v1"
EXPLAIN = f"{API}/eligibility/explain"
ON = "2025-06-01"


@pytest.fixture(scope="module")
async def registry_engine(databases: Any) -> AsyncIterator[tuple[str, AsyncEngine]]:
    url: str = await databases.new("registry_for_eligibility")
    await asyncio.to_thread(upgrade, REGISTRY_MIGRATIONS, url)
    engine = make_engine(url, pool_size=5)
    yield url, engine
    await engine.dispose()


@pytest.fixture
def registry_app(registry_engine: tuple[str, AsyncEngine]) -> FastAPI:
    url, engine = registry_engine
    return on_database(create_registry_app(RegistrySettings(database_url=url), AUTH), engine)


@pytest.fixture
async def registry(registry_app: FastAPI, app: FastAPI) -> AsyncIterator[httpx.AsyncClient]:
    """A client of the registry; the eligibility app reads from the same registry."""
    transport = httpx.ASGITransport(app=registry_app)
    app.state.registry = RegistryClient.from_settings(
        EligibilitySettings(registry_url="http://registry"), transport
    )
    async with httpx.AsyncClient(transport=transport, base_url="http://registry") as c:
        yield c
    await app.state.registry.aclose()


async def new_household(registry: httpx.AsyncClient, tokens: Tokens, **fields: Any) -> str:
    created = await registry.post(
        f"{API}/households",
        json=factories.household(**fields),
        headers=tokens(role="front_office"),
    )
    assert created.status_code == 201, created.text
    return str(created.json()["id"])


async def catalogue(client: httpx.AsyncClient, tokens: Tokens) -> dict[str, str]:
    """PKH (national, no rules in force) and BAZNAS_MODAL (7303, desil <= 4, excludes
    nothing yet) with its rules published; returns programme ids by code."""
    assert await client.post(f"{API}/organizations", json=organization(), headers=tokens())
    ids = {}
    for body in (
        program(
            code="PKH",
            areas=[""],
            name_id="Program Keluarga Harapan",
            name_en="Family Hope",
            requires_manager_approval=False,
        ),
        program(),
    ):
        created = await client.post(f"{API}/programs", json=body, headers=tokens())
        assert created.status_code == 201, created.text
        ids[body["code"]] = created.json()["id"]
    await publish(client, tokens, ids["BAZNAS_MODAL"], rules())
    return ids


async def publish(client: httpx.AsyncClient, tokens: Tokens, pid: str, doc: dict[str, Any]) -> None:
    added = await client.post(f"{API}/programs/{pid}/rules", json=doc, headers=tokens())
    assert added.status_code == 201, added.text
    version = added.json()["version"]
    published = await client.post(
        f"{API}/programs/{pid}/rules/{version}/publication", headers=tokens()
    )
    assert published.status_code == 200, published.text


def by_code(answer: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {p["program"]: p for p in answer["programs"]}


async def test_explain_by_id_from_the_registry(
    client: httpx.AsyncClient, registry: httpx.AsyncClient, tokens: Tokens
) -> None:
    await catalogue(client, tokens)
    hid = await new_household(registry, tokens, desil=2)
    response = await client.post(
        EXPLAIN, json={"household_id": hid, "on": ON}, headers=tokens(role="front_office")
    )
    assert response.status_code == 200, response.text
    answer = response.json()
    assert answer["household_id"] == hid
    assert answer["evaluated_on"] == ON
    assert answer["village_code"] == factories.VILLAGE
    programs = by_code(answer)
    assert set(programs) == {"PKH", "BAZNAS_MODAL"}
    modal = programs["BAZNAS_MODAL"]
    assert modal["status"] == "eligible"
    assert modal["name"] == "Bantuan Modal Usaha"
    assert modal["owner"] == "baznas-7303"
    assert modal["source_level"] == "csr"
    assert modal["requires_manager_approval"] is True
    assert programs["PKH"]["requires_manager_approval"] is False
    assert modal["benefit"]["amount_rupiah"] == 2_000_000
    assert modal["rule_set"]["version"] == 1
    assert len(modal["rule_set"]["content_sha256"]) == 64
    (criterion,) = modal["criteria"]
    assert criterion["id"] == "poor"
    assert criterion["text"] == "Miskin"
    assert criterion["label"] == {"id": "Miskin", "en": "Poor"}
    assert criterion["status"] == "true"
    assert criterion["inputs"] == {"desil": 2}
    assert criterion["parameters"] == {"max_decile": {"value": 4, "since": "2025-01-01"}}
    pkh = programs["PKH"]
    assert pkh["status"] == "unknown"
    assert pkh["reason_code"] == "no_rule_set_in_force"
    assert pkh["rule_set"] is None


async def test_not_eligible_by_id_and_english_labels(
    client: httpx.AsyncClient, registry: httpx.AsyncClient, tokens: Tokens
) -> None:
    await catalogue(client, tokens)
    hid = await new_household(registry, tokens, desil=7)
    response = await client.post(
        EXPLAIN,
        json={"household_id": hid, "on": ON, "programs": ["BAZNAS_MODAL"]},
        headers={**tokens(role="front_office"), "Accept-Language": "en"},
    )
    assert response.status_code == 200, response.text
    (modal,) = response.json()["programs"]
    assert modal["status"] == "not_eligible"
    assert modal["name"] == "Micro-business grant"
    assert modal["criteria"][0]["text"] == "Poor"
    assert modal["criteria"][0]["status"] == "false"


async def test_household_outside_the_jurisdiction_is_404(
    client: httpx.AsyncClient, registry: httpx.AsyncClient, tokens: Tokens
) -> None:
    await catalogue(client, tokens)
    hid = await new_household(registry, tokens)
    response = await client.post(
        EXPLAIN,
        json={"household_id": hid, "on": ON},
        headers=tokens(role="front_office", jurisdiction="7371"),
    )
    assert response.status_code == 404, response.text
    assert response.headers["content-type"].startswith("application/problem+json")
    assert hid in response.json()["detail"]


async def test_inline_prescreening_with_missing_fields_is_unknown(
    client: httpx.AsyncClient, tokens: Tokens
) -> None:
    await catalogue(client, tokens)
    household = {"village_code": factories.VILLAGE, "members": [{"sex": "female"}]}
    response = await client.post(
        EXPLAIN, json={"household": household, "on": ON}, headers=tokens(role="front_office")
    )
    assert response.status_code == 200, response.text
    answer = response.json()
    assert answer["household_id"] is None
    modal = by_code(answer)["BAZNAS_MODAL"]
    assert modal["status"] == "unknown"
    assert modal["missing"] == ["desil"]
    assert modal["criteria"][0]["missing"] == ["desil"]


async def test_inline_without_village_sees_national_programmes_only(
    client: httpx.AsyncClient, tokens: Tokens
) -> None:
    await catalogue(client, tokens)
    response = await client.post(
        EXPLAIN, json={"household": {"desil": 1}, "on": ON}, headers=tokens(role="front_office")
    )
    assert response.status_code == 200, response.text
    assert set(by_code(response.json())) == {"PKH"}


async def test_exclusions_between_programmes(client: httpx.AsyncClient, tokens: Tokens) -> None:
    ids = await catalogue(client, tokens)
    current = await client.get(f"{API}/programs/{ids['BAZNAS_MODAL']}", headers=tokens())
    patched = await client.patch(
        f"{API}/programs/{ids['BAZNAS_MODAL']}",
        json={"excludes": ["PKH"]},
        headers={**tokens(), "If-Match": current.headers["ETag"]},
    )
    assert patched.status_code == 200, patched.text
    base = {"village_code": factories.VILLAGE, "desil": 2}
    cases = [
        ({**base, "programs_received": ["PKH"]}, "not_eligible", "excluded"),
        ({**base, "programs_received": ["BPNT"]}, "eligible", None),
        (base, "unknown", "programs_received_unknown"),
    ]
    for household, status, reason in cases:
        response = await client.post(
            EXPLAIN,
            json={"household": household, "on": ON, "programs": ["BAZNAS_MODAL"]},
            headers=tokens(role="front_office"),
        )
        assert response.status_code == 200, response.text
        (modal,) = response.json()["programs"]
        assert (modal["status"], modal["reason_code"]) == (status, reason), household
    assert modal["missing"] == ["programs_received"]


async def test_inputs_withheld_without_personal_data_rights(
    client: httpx.AsyncClient, tokens: Tokens
) -> None:
    await catalogue(client, tokens)
    household = {"village_code": factories.VILLAGE, "desil": 2}
    response = await client.post(
        EXPLAIN, json={"household": household, "on": ON}, headers=tokens(role="partner")
    )
    assert response.status_code == 200, response.text
    answer = response.json()
    assert answer["inputs_shown"] is False
    modal = by_code(answer)["BAZNAS_MODAL"]
    assert modal["status"] == "eligible"
    assert modal["criteria"][0]["inputs"] == {}


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"household_id": "8a0c3f5e-2b1d-4e8a-9c7f-1d2e3f4a5b6c", "household": {}}, "household"),
        ({}, "household_id"),
        ({"household": {"desil": "two"}}, "household.desil"),
        ({"household": {"desil": True}}, "household.desil"),
        ({"household": {"members": [{"in_school": "yes"}]}}, "household.members.0.in_school"),
        ({"household": {"housing": {"floor": "marmer"}}}, "household.housing.floor"),
        ({"household": {"nik": "7303"}}, "household.nik"),
        ({"household_id": "not-a-uuid"}, "household_id"),
        ({"household": {}, "on": "2025-13-01"}, "on"),
    ],
)
async def test_bad_bodies_are_422_naming_the_field(
    client: httpx.AsyncClient, tokens: Tokens, body: dict[str, Any], field: str
) -> None:
    response = await client.post(EXPLAIN, json=body, headers=tokens(role="front_office"))
    assert response.status_code == 422, response.text
    assert field in [issue["field"] for issue in response.json()["errors"]]


async def test_explain_needs_a_token(client: httpx.AsyncClient) -> None:
    response = await client.post(EXPLAIN, json={"household": {}})
    assert response.status_code == 401


def closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
    return port


async def test_registry_down_is_503_problem(
    app: FastAPI, client: httpx.AsyncClient, tokens: Tokens
) -> None:
    app.state.registry = RegistryClient.from_settings(
        EligibilitySettings(
            registry_url=f"http://127.0.0.1:{closed_port()}",
            registry_connect_timeout=0.5,
            registry_deadline=2.0,
        )
    )
    started = time.monotonic()
    response = await client.post(
        EXPLAIN,
        json={"household_id": "8a0c3f5e-2b1d-4e8a-9c7f-1d2e3f4a5b6c"},
        headers={**tokens(role="front_office"), "Accept-Language": "en"},
    )
    await app.state.registry.aclose()
    assert time.monotonic() - started < 2.5
    assert response.status_code == 503, response.text
    assert response.json()["type"] == "urn:selaras:problem:upstream-unavailable"
    assert "registry" in response.json()["detail"]


async def test_registry_too_slow_is_504_problem(
    app: FastAPI, client: httpx.AsyncClient, tokens: Tokens
) -> None:
    async def slow(scope: Any, receive: Any, send: Any) -> None:
        await asyncio.sleep(30)

    app.state.registry = RegistryClient.from_settings(
        EligibilitySettings(registry_url="http://registry", registry_deadline=0.5),
        httpx.ASGITransport(app=slow),
    )
    started = time.monotonic()
    response = await client.post(
        EXPLAIN,
        json={"household_id": "8a0c3f5e-2b1d-4e8a-9c7f-1d2e3f4a5b6c"},
        headers=tokens(role="front_office"),
    )
    await app.state.registry.aclose()
    assert time.monotonic() - started < 1.5
    assert response.status_code == 504, response.text
    assert response.json()["type"] == "urn:selaras:problem:upstream-timeout"


async def test_jsonlogic_export_for_a_date_and_404_when_none(
    client: httpx.AsyncClient, tokens: Tokens
) -> None:
    ids = await catalogue(client, tokens)
    url = f"{API}/programs/{ids['BAZNAS_MODAL']}/rules/jsonlogic"
    response = await client.get(url, params={"on": ON}, headers=tokens(role="partner"))
    assert response.status_code == 200, response.text
    export = response.json()
    assert export["program"] == "BAZNAS_MODAL"
    assert export["version"] == 1
    assert export["evaluated_on"] == ON
    (criterion,) = export["criteria"]
    assert criterion["rule"] == {
        "if": [{"missing": ["desil"]}, None, {"<=": [{"var": "desil"}, 4]}]
    }
    assert export["input"]["household"]["desil"] == "number"
    assert export["input"]["member"]["birth_ymd"].startswith("number")
    before = await client.get(url, params={"on": "2024-06-01"}, headers=tokens())
    assert before.status_code == 404
    none = await client.get(
        f"{API}/programs/{ids['PKH']}/rules/jsonlogic", params={"on": ON}, headers=tokens()
    )
    assert none.status_code == 404
    bad = await client.get(url, params={"on": "June"}, headers=tokens())
    assert bad.status_code == 422
    assert bad.json()["errors"][0]["field"] == "on"
