"""The referral service's upstreams in tests: a real registry app and a real eligibility app,
in-process (httpx ASGITransport) on their own migrated databases, each behind a link that
can be taken down (connection refused) or made slow (an answer later than the budget).

The catalogue (three programmes, see `CATALOGUE`) is loaded once per run; households are
created per test with fresh KK numbers and NIKs, so tests do not see each other's data.
"""

from __future__ import annotations

import asyncio
import socket
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any, Literal

import httpx
import pytest
from fastapi import FastAPI
from sqlalchemy.ext.asyncio import AsyncEngine

from selaras_eligibility.app import create_app as create_eligibility_app
from selaras_eligibility.cli import MIGRATIONS as ELIGIBILITY_MIGRATIONS
from selaras_eligibility.clients import RegistryClient as EligibilityRegistryClient
from selaras_eligibility.settings import EligibilitySettings
from selaras_referral.service.upstream import Upstream
from selaras_referral.settings import ReferralSettings
from selaras_registry.app import create_app as create_registry_app
from selaras_registry.cli import MIGRATIONS as REGISTRY_MIGRATIONS
from selaras_registry.settings import RegistrySettings
from selaras_shared.db import make_engine
from selaras_shared.migrations import upgrade
from tests.referral.webhooks_support import LOOPBACK
from tests.registry import factories
from tests.support import AUTH, bearer, on_database

API = "/api/v1"
REGISTRY_URL = "http://registry"
ELIGIBILITY_URL = "http://eligibility"
#: The upstream budget in tests: small, so that a slow upstream costs the test little.
BUDGET = 0.5

#: Needs a manager's approval before it is sent; eligible up to desil 4.
ZAKAT = "BAZNAS_7303_ZAKAT"
#: Sent without approval; eligible up to desil 5.
PANGAN = "DINSOS_7303_PANGAN"
#: No rule set in force: always "unknown"; another provider to re-route to.
MODAL = "SULSELBAR_MODAL"

ORGANIZATIONS = [
    {
        "code": "baznas-7303",
        "name": "BAZNAS Kabupaten Bantaeng",
        "kind": "baznas",
        "region": "7303",
    },
    {
        "code": "dinsos-7303",
        "name": "Dinas Sosial Kabupaten Bantaeng",
        "kind": "regency_office",
        "region": "7303",
    },
    {"code": "bank-sulselbar", "name": "Bank Sulselbar", "kind": "bank_csr", "region": "73"},
]


def _program(
    code: str, owner: str, level: str, name_id: str, name_en: str, approval: bool, areas: list[str]
) -> dict[str, Any]:
    return {
        "code": code,
        "name_id": name_id,
        "name_en": name_en,
        "source_level": level,
        "owner": owner,
        "areas": areas,
        "unit": "household",
        "benefit": {"amount_rupiah": 1_500_000, "period": "once"},
        "requires_manager_approval": approval,
        "active_from": "2024-01-01",
    }


#: (programme, highest desil that qualifies or None for no rule set)
CATALOGUE: list[tuple[dict[str, Any], int | None]] = [
    (_program(ZAKAT, "baznas-7303", "csr", "Zakat Konsumtif", "Zakat aid", True, ["7303"]), 4),
    (
        _program(PANGAN, "dinsos-7303", "regency", "Bantuan Pangan", "Food aid", False, ["7303"]),
        5,
    ),
    (
        _program(MODAL, "bank-sulselbar", "csr", "Modal Usaha", "Business grant", False, ["73"]),
        None,
    ),
]


def _rules(code: str, max_decile: int) -> dict[str, Any]:
    return {
        "program": code,
        "effective_from": "2024-01-01",
        "parameters": {"max_decile": {"2024-01-01": max_decile}},
        "criteria": [
            {
                "id": "poor",
                "label": {"id": "Miskin", "en": "Poor"},
                "rule": {"<=": [{"var": "desil"}, {"param": "max_decile"}]},
            }
        ],
    }


async def load_catalogue(eligibility: httpx.AsyncClient) -> None:
    """The test catalogue through the eligibility API, rule sets published."""
    admin = bearer("admin", "", "catalogue-admin", None)
    for organization in ORGANIZATIONS:
        created = await eligibility.post(f"{API}/organizations", json=organization, headers=admin)
        assert created.status_code == 201, created.text
    for program, max_decile in CATALOGUE:
        created = await eligibility.post(f"{API}/programs", json=program, headers=admin)
        assert created.status_code == 201, created.text
        if max_decile is None:
            continue
        pid = created.json()["id"]
        added = await eligibility.post(
            f"{API}/programs/{pid}/rules", json=_rules(program["code"], max_decile), headers=admin
        )
        assert added.status_code == 201, added.text
        published = await eligibility.post(
            f"{API}/programs/{pid}/rules/{added.json()['version']}/publication", headers=admin
        )
        assert published.status_code == 200, published.text


def closed_port() -> int:
    """A loopback port nothing listens on (bound, then released): connection refused."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
    return port


class Link(httpx.AsyncBaseTransport):
    """The way to one upstream app: up, down (a real refused connection) or slow (an answer
    that would come four budgets later; the budget cuts it off first)."""

    def __init__(self, app: FastAPI) -> None:
        self.app = httpx.ASGITransport(app=app)
        self.network = httpx.AsyncHTTPTransport()
        self.state: Literal["up", "down", "slow"] = "up"
        self.requests: list[httpx.Request] = []

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        """Pass the request on as the link's state says."""
        self.requests.append(request)
        if self.state == "down":
            request.url = request.url.copy_with(scheme="http", host="127.0.0.1", port=closed_port())
            return await self.network.handle_async_request(request)
        if self.state == "slow":
            await asyncio.sleep(4 * BUDGET)
        return await self.app.handle_async_request(request)

    async def aclose(self) -> None:
        """Close the real transport."""
        await self.network.aclose()


@dataclass
class Upstreams:
    """The registry and eligibility apps as the referral app sees them, and clients of
    both for setting up a test's data."""

    registry: httpx.AsyncClient
    eligibility: httpx.AsyncClient
    registry_link: Link
    eligibility_link: Link
    upstream: Upstream

    async def household(self, **fields: Any) -> dict[str, Any]:
        """A new household in the registry (village 7303012005, desil 2 unless given), as the
        registry serves it: `id`, `village_code`, `members` with their `id`s..."""
        created = await self.registry.post(
            f"{API}/households",
            json=factories.household(**fields),
            headers=bearer("front_office", "7303", "fo-7303", None),
        )
        assert created.status_code == 201, created.text
        document: dict[str, Any] = created.json()
        return document

    def down(self, which: Literal["registry", "eligibility"]) -> None:
        """Refuse connections to the registry or the eligibility service."""
        self._link(which).state = "down"

    def slow(self, which: Literal["registry", "eligibility"]) -> None:
        """Make the registry or the eligibility service answer later than the budget."""
        self._link(which).state = "slow"

    def _link(self, which: str) -> Link:
        return self.registry_link if which == "registry" else self.eligibility_link


def upstream_settings(**overrides: Any) -> ReferralSettings:
    """Referral settings whose upstreams are the in-process apps, with a small budget."""
    fields: dict[str, Any] = {
        "registry_url": REGISTRY_URL,
        "eligibility_url": ELIGIBILITY_URL,
        "upstream_connect_timeout": 0.2,
        "upstream_read_timeout": BUDGET,
        "upstream_budget_seconds": BUDGET,
        "upstream_retries": 1,
        "webhook_allow_networks": LOOPBACK,
        **overrides,
    }
    return ReferralSettings(**fields)


@pytest.fixture(scope="session")
async def upstream_engines(databases: Any) -> AsyncIterator[tuple[AsyncEngine, AsyncEngine]]:
    """The registry's and the eligibility service's own databases, migrated."""
    registry_url: str = await databases.new("registry_for_referral")
    eligibility_url: str = await databases.new("eligibility_for_referral")
    await asyncio.to_thread(upgrade, REGISTRY_MIGRATIONS, registry_url)
    await asyncio.to_thread(upgrade, ELIGIBILITY_MIGRATIONS, eligibility_url)
    registry = make_engine(registry_url, pool_size=5)
    eligibility = make_engine(eligibility_url, pool_size=5)
    yield registry, eligibility
    await registry.dispose()
    await eligibility.dispose()


@pytest.fixture(scope="session")
async def upstream_apps(
    upstream_engines: tuple[AsyncEngine, AsyncEngine],
) -> AsyncIterator[tuple[FastAPI, FastAPI]]:
    """A real registry app and a real eligibility app reading from it, with the catalogue."""
    registry_engine, eligibility_engine = upstream_engines
    registry = on_database(create_registry_app(RegistrySettings(), AUTH), registry_engine)
    eligibility = on_database(
        create_eligibility_app(EligibilitySettings(), AUTH), eligibility_engine
    )
    eligibility.state.registry = EligibilityRegistryClient.from_settings(
        EligibilitySettings(registry_url=REGISTRY_URL), httpx.ASGITransport(app=registry)
    )
    transport = httpx.ASGITransport(app=eligibility)
    async with httpx.AsyncClient(transport=transport, base_url=ELIGIBILITY_URL) as client:
        await load_catalogue(client)
    yield registry, eligibility
    await eligibility.state.registry.aclose()


@pytest.fixture
async def upstreams(upstream_apps: tuple[FastAPI, FastAPI]) -> AsyncIterator[Upstreams]:
    """Both upstreams, up; `upstreams.down("registry")`, `upstreams.slow("eligibility")`..."""
    registry_app, eligibility_app = upstream_apps
    registry_link, eligibility_link = Link(registry_app), Link(eligibility_app)
    upstream = Upstream.from_settings(
        upstream_settings(),
        registry_transport=registry_link,
        eligibility_transport=eligibility_link,
    )
    registry = httpx.AsyncClient(
        transport=httpx.ASGITransport(app=registry_app), base_url=REGISTRY_URL
    )
    eligibility = httpx.AsyncClient(
        transport=httpx.ASGITransport(app=eligibility_app), base_url=ELIGIBILITY_URL
    )
    async with registry, eligibility:
        yield Upstreams(registry, eligibility, registry_link, eligibility_link, upstream)
    await upstream.aclose()
