"""Shared by the screening and simulation tests: a real registry in-process, a screening
runner on the test's sessions, a fresh village per test, and a small catalogue."""

from __future__ import annotations

import asyncio
import itertools
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from fastapi import FastAPI
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession

from selaras_eligibility.app import create_app
from selaras_eligibility.clients import RegistryClient
from selaras_eligibility.models import metadata
from selaras_eligibility.screening.runner import ScreeningRunner
from selaras_eligibility.settings import EligibilitySettings
from tests.eligibility.conftest import Tokens
from tests.eligibility.test_catalogue import organization, program, rules
from tests.eligibility.test_explain import registry_app, registry_engine
from tests.registry import factories
from tests.support import AUTH, on_database

API = "/api/v1"
ON = "2025-06-01"
_villages = itertools.count(1)

#: The registry fixtures of the explain tests, shared.
__all__ = ["registry_app", "registry_engine"]


def fresh_village() -> str:
    """A village of Bissappu (730301) no other test of the run has used."""
    return f"7303012{next(_villages):03d}"


@pytest.fixture
async def app(eligibility_url: str, eligibility_engine: AsyncEngine) -> AsyncIterator[FastAPI]:
    """The eligibility app on real, committed sessions (emptied after the test).

    Not the rolled-back transaction of the other tests: on PostgreSQL a transaction that
    has written holds back the registry's change feed (which serves a change only once
    every transaction older than it has ended, cluster-wide), so a test following the feed
    must not keep one open.
    """
    app = on_database(
        create_app(EligibilitySettings(database_url=eligibility_url), AUTH), eligibility_engine
    )
    yield app
    async with eligibility_engine.begin() as connection:
        for table in reversed(metadata.sorted_tables):
            await connection.execute(table.delete())


@pytest.fixture
async def session(app: FastAPI) -> AsyncIterator[AsyncSession]:
    """A session of its own, for looking at (and changing) what the service stored."""
    async with app.state.sessionmaker() as s:
        yield s


@pytest.fixture
async def registry(
    registry_app: FastAPI, app: FastAPI, tmp_path: Path
) -> AsyncIterator[httpx.AsyncClient]:
    """A client of the registry; the eligibility app and its runner read the same one."""
    transport = httpx.ASGITransport(app=registry_app)
    app.state.registry = RegistryClient.from_settings(
        EligibilitySettings(registry_url="http://registry"), transport
    )
    runner = ScreeningRunner(
        app.state.sessionmaker, app.state.registry, data_dir=tmp_path, heartbeat_seconds=3600
    )
    app.state.screening_runner = runner
    async with httpx.AsyncClient(transport=transport, base_url="http://registry") as c:
        yield c
    await runner.stop()
    await app.state.registry.aclose()


async def new_household(registry: httpx.AsyncClient, tokens: Tokens, **fields: Any) -> str:
    created = await registry.post(
        f"{API}/households", json=factories.household(**fields), headers=tokens(role="front_office")
    )
    assert created.status_code == 201, created.text
    return str(created.json()["id"])


async def update_household(
    registry: httpx.AsyncClient, tokens: Tokens, household_id: str, **fields: Any
) -> None:
    """Change household fields through the registry API (a new version, in the feed)."""
    headers = tokens(role="front_office")
    current = await registry.get(f"{API}/households/{household_id}", headers=headers)
    assert current.status_code == 200, current.text
    changed = await registry.patch(
        f"{API}/households/{household_id}",
        json=fields,
        headers={**headers, "If-Match": current.headers["ETag"]},
    )
    assert changed.status_code == 200, changed.text


async def feed_shows(
    registry: httpx.AsyncClient, tokens: Tokens, since: str, region: str, count: int
) -> None:
    """Wait until the registry's change feed after `since` lists `count` changes.

    On PostgreSQL the feed holds back a change until every transaction that began before it
    has ended, on the whole server; another workload sharing the server can delay it.
    """
    headers = tokens(role="supervisor", jurisdiction=region)
    seen = 0
    for _ in range(600):
        page = await registry.get(
            f"{API}/changes", params={"since": since, "region": region}, headers=headers
        )
        assert page.status_code == 200, page.text
        seen = len(page.json()["items"])
        if seen >= count:
            return
        await asyncio.sleep(0.05)
    raise AssertionError(f"the change feed shows {seen} of {count} changes")


async def publish(client: httpx.AsyncClient, tokens: Tokens, pid: str, doc: dict[str, Any]) -> int:
    added = await client.post(f"{API}/programs/{pid}/rules", json=doc, headers=tokens())
    assert added.status_code == 201, added.text
    version = int(added.json()["version"])
    published = await client.post(
        f"{API}/programs/{pid}/rules/{version}/publication", headers=tokens()
    )
    assert published.status_code == 200, published.text
    return version


def poor_rules(code: str, max_decile: int = 4) -> dict[str, Any]:
    return rules(program=code, parameters={"max_decile": {"2025-01-01": max_decile}})


async def catalogue(
    client: httpx.AsyncClient, tokens: Tokens, quota_area: str = "7303"
) -> dict[str, str]:
    """Three programmes of Bantaeng with rules in force: BAZNAS_MODAL (desil <= 4, quota 2,
    poorest first, for `quota_area`: a screening applies the quota only to a region that
    holds the programme's whole area), ZAKAT (desil <= 3, excludes PKH) and KUBE
    (desil <= 5, no quota); PKH has no rules. Returns programme ids by code."""
    assert (
        await client.post(f"{API}/organizations", json=organization(), headers=tokens())
    ).status_code == 201
    bodies = [
        program(quota=2, ranking=[{"field": "desil", "order": "asc"}], areas=[quota_area]),
        program(code="ZAKAT", quota=None, ranking=[], excludes=["PKH"]),
        program(code="KUBE", quota=None, ranking=[], areas=["730301"]),
        program(code="PKH", areas=[""], quota=None, ranking=[]),
    ]
    ids: dict[str, str] = {}
    for body in bodies[3:] + bodies[:3]:
        created = await client.post(f"{API}/programs", json=body, headers=tokens())
        assert created.status_code == 201, created.text
        ids[body["code"]] = created.json()["id"]
    await publish(client, tokens, ids["BAZNAS_MODAL"], poor_rules("BAZNAS_MODAL", 4))
    await publish(client, tokens, ids["ZAKAT"], poor_rules("ZAKAT", 3))
    await publish(client, tokens, ids["KUBE"], poor_rules("KUBE", 5))
    return ids
