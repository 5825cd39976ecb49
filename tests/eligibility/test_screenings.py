"""Screening jobs against a real registry (in-process): full runs, re-runs that follow the
change feed, quotas, ranking and exclusions, paging and CSV, jurisdiction, a registry that
is down or slow, bad input, and a job orphaned by a dead process."""

from __future__ import annotations

import asyncio
import csv
import io
import uuid
from pathlib import Path
from typing import Any

import httpx
from alembic import command
from alembic.config import Config
from fastapi import FastAPI
from sqlalchemy import func, insert, inspect, select, text
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession

from selaras_eligibility.cli import MIGRATIONS
from selaras_eligibility.clients import RegistryClient
from selaras_eligibility.models import Screening, ScreeningRow, ScreeningSeries
from selaras_eligibility.screening import state
from selaras_eligibility.screening.runner import ScreeningRunner
from selaras_eligibility.settings import EligibilitySettings
from selaras_shared.db import make_engine, utcnow
from tests.eligibility.conftest import Tokens
from tests.eligibility.screening_support import (
    API,
    ON,
    app,
    catalogue,
    feed_shows,
    fresh_village,
    new_household,
    poor_rules,
    publish,
    registry,
    registry_app,
    registry_engine,
    session,
    update_household,
)
from tests.eligibility.test_explain import closed_port

__all__ = ["app", "registry", "registry_app", "registry_engine", "session"]

SCREENINGS = f"{API}/screenings"


async def run(
    app: FastAPI, client: httpx.AsyncClient, headers: dict[str, str], body: dict[str, Any]
) -> dict[str, Any]:
    """Submit a screening, wait for the runner to end it, and return the job as served."""
    submitted = await client.post(SCREENINGS, json=body, headers=headers)
    assert submitted.status_code == 202, submitted.text
    job = submitted.json()
    assert job["status"] == "queued"
    assert submitted.headers["Location"] == f"{SCREENINGS}/{job['id']}"
    runner: ScreeningRunner = app.state.screening_runner
    await asyncio.wait_for(runner.ended(uuid.UUID(job["id"])).wait(), 30)
    done = await client.get(f"{SCREENINGS}/{job['id']}", headers=headers)
    assert done.status_code == 200, done.text
    return dict(done.json())


async def all_results(
    client: httpx.AsyncClient, headers: dict[str, str], job_id: str, **params: Any
) -> list[dict[str, Any]]:
    """Every result page by page (small pages, to exercise the cursor)."""
    items: list[dict[str, Any]] = []
    cursor = None
    while True:
        query = {**params, "limit": 2, **({"cursor": cursor} if cursor else {})}
        page = await client.get(f"{SCREENINGS}/{job_id}/results", params=query, headers=headers)
        assert page.status_code == 200, page.text
        items += page.json()["items"]
        cursor = page.json()["next_cursor"]
        if cursor is None:
            return items


def outcome(items: list[dict[str, Any]], program: str) -> dict[str, str]:
    """Household id -> status (with reason) for one programme."""
    found = {}
    for item in items:
        if program in item["programs"]:
            result = item["programs"][program]
            found[item["household_id"]] = result["status"] + (
                f":{result['reason']}" if result["reason"] else ""
            )
    return found


async def test_full_screening_quota_ranking_exclusions_and_paging(
    app: FastAPI, client: httpx.AsyncClient, registry: httpx.AsyncClient, tokens: Tokens
) -> None:
    village = fresh_village()
    await catalogue(client, tokens, quota_area=village)
    ids = {
        "d1": await new_household(
            registry, tokens, village_code=village, desil=1, programs_received=[]
        ),
        "d2": await new_household(registry, tokens, village_code=village, desil=2),
        "d3": await new_household(
            registry, tokens, village_code=village, desil=3, programs_received=[]
        ),
        "d3b": await new_household(
            registry, tokens, village_code=village, desil=3, programs_received=[]
        ),
        "d5": await new_household(registry, tokens, village_code=village, desil=5),
        "d8": await new_household(registry, tokens, village_code=village, desil=8),
        "none": await new_household(registry, tokens, village_code=village, desil=None),
    }
    headers = tokens(role="manager", jurisdiction="7303", sub="manager-bantaeng")
    job = await run(app, client, headers, {"region": village, "on": ON})
    assert job["status"] == "succeeded", job
    assert job["mode"] == "full"
    assert job["households"] == 7
    assert job["cursor"]
    assert job["masked"] is False
    assert job["error"] is None
    assert {r["program"] for r in job["rule_sets"]} == {"BAZNAS_MODAL", "KUBE", "ZAKAT"}
    assert all(len(r["content_sha256"]) == 64 and r["version"] == 1 for r in job["rule_sets"])
    applied = {r["program"]: r["quota_applied"] for r in job["rule_sets"]}
    assert applied == {"BAZNAS_MODAL": True, "KUBE": None, "ZAKAT": None}  # no quota: null
    assert job["skipped"] == [{"program": "PKH", "reason": "no_rule_set_in_force"}]
    assert {"download_seconds", "evaluate_seconds", "write_seconds"} <= set(job["timings"])
    counts = job["counts"]
    # desil <= 4: d1 d2 d3 d3b eligible, quota 2 by desil, ties by household id.
    assert counts["BAZNAS_MODAL"] == {
        "eligible": 4,
        "selected": 2,
        "waitlisted": 2,
        "quota_not_applied": 0,
        "not_eligible": 2,
        "excluded": 0,
        "unknown": 1,
    }
    # d2 and the household of unknown desil receive PKH, which ZAKAT excludes.
    assert counts["ZAKAT"]["excluded"] == 2
    assert counts["KUBE"]["eligible"] == 5

    items = await all_results(client, headers, job["id"])
    assert len(items) == 7
    assert [i["household_id"] for i in items] == sorted(i["household_id"] for i in items)
    modal = outcome(items, "BAZNAS_MODAL")
    assert modal[ids["d1"]] == "eligible"
    assert modal[ids["d2"]] == "eligible"
    later = sorted([ids["d3"], ids["d3b"]])
    assert modal[later[0]] == "eligible:over_quota" and modal[later[1]] == "eligible:over_quota"
    assert modal[ids["d5"]] == "not_eligible"
    assert modal[ids["none"]] == "unknown"
    zakat = outcome(items, "ZAKAT")
    assert zakat[ids["d2"]] == "not_eligible:excluded"
    assert zakat[ids["none"]] == "not_eligible:excluded"
    assert zakat[ids["d1"]] == "eligible"

    waitlisted = await all_results(
        client, headers, job["id"], program="BAZNAS_MODAL", status="waitlisted"
    )
    assert {i["household_id"] for i in waitlisted} == set(later)
    eligible = await all_results(client, headers, job["id"], program="KUBE", status="eligible")
    assert len(eligible) == 5
    elsewhere = await all_results(client, headers, job["id"], village="7303012999")
    assert elsewhere == []

    listed = await client.get(SCREENINGS, headers=headers)
    assert job["id"] in [j["id"] for j in listed.json()["items"]]


async def test_rerun_follows_the_change_feed_and_matches_a_full_run(
    app: FastAPI,
    client: httpx.AsyncClient,
    registry: httpx.AsyncClient,
    tokens: Tokens,
    session: AsyncSession,
    tmp_path: Path,
) -> None:
    village, other = fresh_village(), fresh_village()
    await catalogue(client, tokens, quota_area=village)
    region = village[:6]
    ids = [
        await new_household(registry, tokens, village_code=village, desil=d, programs_received=[])
        for d in (1, 2, 3, 4, 6)
    ]
    headers = tokens(role="supervisor", jurisdiction=region)
    first = await run(app, client, headers, {"region": village, "on": ON})
    assert first["status"] == "succeeded" and first["mode"] == "full"
    # Changes: one poorer household jumps the quota line, one becomes richer, one moves
    # out of the village, one is registered.
    await update_household(registry, tokens, ids[4], desil=1)
    await update_household(registry, tokens, ids[0], desil=9)
    await update_household(registry, tokens, ids[1], village_code=other)
    added = await new_household(
        registry, tokens, village_code=village, desil=5, programs_received=[]
    )
    await feed_shows(registry, tokens, first["cursor"], village, 4)

    second = await run(app, client, headers, {"region": village, "on": ON})
    assert second["status"] == "succeeded", second
    assert second["mode"] == "changes"
    assert second["households_changed"] == 4
    assert second["households"] == 5
    rerun = await all_results(client, headers, second["id"])
    assert ids[1] not in {i["household_id"] for i in rerun}
    assert added in {i["household_id"] for i in rerun}
    assert outcome(rerun, "BAZNAS_MODAL")[ids[4]] == "eligible"
    assert outcome(rerun, "BAZNAS_MODAL")[ids[0]] == "not_eligible"
    # The first screening's results are still served as they were.
    before = await all_results(client, headers, first["id"])
    assert outcome(before, "BAZNAS_MODAL")[ids[0]] == "eligible"
    assert len(before) == 5

    # A fresh full run (no state kept) gives exactly the same outcomes.
    for kept in await asyncio.to_thread(lambda: list(tmp_path.glob("screenings/*.arrow"))):
        await asyncio.to_thread(kept.unlink)
    third = await run(app, client, headers, {"region": village, "on": ON})
    assert third["mode"] == "full"
    assert await all_results(client, headers, third["id"]) == rerun
    assert third["counts"] == second["counts"]
    # Nothing changed since: a re-run writes no row.
    fourth = await run(app, client, headers, {"region": village, "on": ON})
    assert fourth["mode"] == "changes" and fourth["rows_written"] == 0
    assert await all_results(client, headers, fourth["id"]) == rerun
    open_rows = await session.scalar(
        select(func.count()).select_from(ScreeningRow).where(ScreeningRow.valid_to.is_(None))  # type: ignore[union-attr]
    )
    assert open_rows == 5


async def test_reruns_with_few_changes_match_a_full_run_each_time(
    app: FastAPI,
    client: httpx.AsyncClient,
    registry: httpx.AsyncClient,
    tokens: Tokens,
    tmp_path: Path,
) -> None:
    """Re-run after re-run (each changing a household or two, so that the kept state
    grows by a segment each time, until it is merged again), the results are those of a
    full run."""
    village, other = fresh_village(), fresh_village()
    programs = await catalogue(client, tokens, quota_area=village)
    ids = [
        await new_household(registry, tokens, village_code=village, desil=d, programs_received=[])
        for d in (1, 2, 3, 3, 4, 4, 5, 6, 8, 9)
    ]
    headers = tokens(role="supervisor", jurisdiction=village[:6])
    followed = {"region": village, "on": ON}
    # Two of the programmes, in a series of their own, screened in full every time.
    compared = ["BAZNAS_MODAL", "ZAKAT"]
    first = await run(app, client, headers, followed)
    assert first["mode"] == "full"
    manager = tokens(role="manager", jurisdiction=village[:6])

    async def deactivate(household_id: str) -> None:
        response = await registry.post(
            f"{API}/households/{household_id}/deactivation",
            json={"reason": "moved"},
            headers=manager,
        )
        assert response.status_code == 200, response.text

    steps = [
        # A household jumps the quota line.
        lambda: update_household(registry, tokens, ids[9], desil=1),
        # One now receives PKH, which ZAKAT excludes.
        lambda: update_household(registry, tokens, ids[2], programs_received=["PKH"]),
        # One moves out of the village; one is deactivated; one is registered.
        lambda: update_household(registry, tokens, ids[3], village_code=other),
        lambda: deactivate(ids[0]),
        lambda: new_household(
            registry, tokens, village_code=village, desil=1, programs_received=[]
        ),
        # No household changes, the rules do: every kept household is evaluated again.
        lambda: publish(client, tokens, programs["BAZNAS_MODAL"], poor_rules("BAZNAS_MODAL", 2)),
    ]
    for step in steps:
        await step()
        rerun = await run(app, client, headers, followed)
        assert rerun["status"] == "succeeded", rerun
        assert rerun["mode"] == "changes"
        full = await run_full(app, client, headers, {**followed, "programs": compared}, tmp_path)
        got = await all_results(client, headers, rerun["id"])
        want = await all_results(client, headers, full["id"])
        assert [(i["household_id"], i["village_code"]) for i in got] == [
            (i["household_id"], i["village_code"]) for i in want
        ]
        for program in compared:
            assert outcome(got, program) == outcome(want, program), program
            assert rerun["counts"][program] == full["counts"][program]
    assert rerun["households_changed"] == 0 and rerun["rows_written"] >= 1
    assert rerun["rule_sets"][0]["version"] == 2
    assert outcome(got, "BAZNAS_MODAL")[ids[9]] == "eligible"
    assert outcome(got, "BAZNAS_MODAL")[ids[4]] == "not_eligible"  # desil 4 > 2 now
    assert outcome(got, "ZAKAT")[ids[2]] == "not_eligible:excluded"
    assert {ids[0], ids[3]}.isdisjoint(i["household_id"] for i in got)
    assert len(got) == 9


async def test_a_change_served_again_after_a_lagging_cursor_is_no_news(
    app: FastAPI,
    client: httpx.AsyncClient,
    registry: httpx.AsyncClient,
    registry_engine: tuple[str, AsyncEngine],
    tokens: Tokens,
    tmp_path: Path,
) -> None:
    """A change committed while an older transaction is open is in the next snapshot, but
    the snapshot's cursor stays before it (PostgreSQL), so the registry serves it again
    after that cursor. The re-run that gets it again finds it is the version it holds."""
    village = fresh_village()
    await catalogue(client, tokens, quota_area=village)
    ids = [
        await new_household(registry, tokens, village_code=village, desil=d, programs_received=[])
        for d in (1, 2, 5)
    ]
    headers = tokens(role="supervisor", jurisdiction=village[:6])
    followed = {"region": village, "on": ON}
    assert (await run(app, client, headers, followed))["mode"] == "full"
    _, engine = registry_engine
    async with engine.connect() as older:
        if engine.dialect.name == "postgresql":
            # An open transaction with an id of its own holds the snapshots' xmin back.
            await older.execute(text("SELECT pg_current_xact_id()"))
        await update_household(registry, tokens, ids[2], desil=3)
        during = await run(app, client, headers, followed)
        assert during["households_changed"] == 1
        await older.rollback()
    after = await run(app, client, headers, followed)
    assert after["status"] == "succeeded" and after["mode"] == "changes", after
    assert after["households_changed"] == 0 and after["rows_written"] == 0
    full = await run_full(
        app, client, headers, {**followed, "programs": ["BAZNAS_MODAL"]}, tmp_path
    )
    got = outcome(await all_results(client, headers, after["id"]), "BAZNAS_MODAL")
    assert got == outcome(await all_results(client, headers, full["id"]), "BAZNAS_MODAL")
    assert got[ids[2]] == "eligible:over_quota"  # desil 3, behind 1 and 2


async def run_full(
    app: FastAPI,
    client: httpx.AsyncClient,
    headers: dict[str, str],
    body: dict[str, Any],
    data_dir: Path,
) -> dict[str, Any]:
    """Screen `body` in full: the kept state of its series, if any, is removed first."""
    async with app.state.sessionmaker() as session:
        for series in await session.scalars(select(ScreeningSeries)):
            if series.programs == body["programs"]:
                index = state.state_path(data_dir, series.id)
                await asyncio.to_thread(index.unlink, missing_ok=True)
    job = await run(app, client, headers, body)
    assert job["status"] == "succeeded" and job["mode"] == "full", job
    return job


async def test_csv_download_with_bom_and_filters(
    app: FastAPI, client: httpx.AsyncClient, registry: httpx.AsyncClient, tokens: Tokens
) -> None:
    await catalogue(client, tokens)
    village = fresh_village()
    for desil in (1, 2, 7):
        await new_household(
            registry, tokens, village_code=village, desil=desil, programs_received=[]
        )
    headers = tokens(role="manager", jurisdiction="73")
    job = await run(
        app, client, headers, {"region": village, "on": ON, "programs": ["KUBE", "ZAKAT"]}
    )
    assert [r["program"] for r in job["rule_sets"]] == ["KUBE", "ZAKAT"]
    response = await client.get(f"{SCREENINGS}/{job['id']}/results.csv", headers=headers)
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/csv")
    assert response.content.startswith(b"\xef\xbb\xbf")
    rows = list(csv.reader(io.StringIO(response.content[3:].decode())))
    assert rows[0] == ["household_id", "village_code", "KUBE", "ZAKAT"]
    assert sorted(r[2] for r in rows[1:]) == ["eligible", "eligible", "not_eligible"]
    assert all(r[1] == village for r in rows[1:])
    filtered = await client.get(
        f"{SCREENINGS}/{job['id']}/results",
        params={"format": "csv", "program": "ZAKAT", "status": "eligible"},
        headers=headers,
    )
    assert len(filtered.content[3:].decode().strip().splitlines()) == 3


async def test_quota_of_a_wider_area_is_not_applied_to_part_of_it(
    app: FastAPI, client: httpx.AsyncClient, registry: httpx.AsyncClient, tokens: Tokens
) -> None:
    """BAZNAS_MODAL's quota of 2 is for the whole regency: a screening of one village
    cannot say which of its households are within it, so none is selected or waitlisted;
    a screening of the regency applies it."""
    await catalogue(client, tokens, quota_area="7303")
    village = fresh_village()
    ids = [
        await new_household(registry, tokens, village_code=village, desil=d, programs_received=[])
        for d in (1, 2, 3, 6)
    ]
    headers = tokens(role="manager", jurisdiction="7303")
    job = await run(
        app, client, headers, {"region": village, "on": ON, "programs": ["BAZNAS_MODAL"]}
    )
    assert job["status"] == "succeeded", job
    [used] = job["rule_sets"]
    assert used["quota"] == 2 and used["quota_applied"] is False
    assert job["counts"]["BAZNAS_MODAL"] == {
        "eligible": 3,
        "selected": 0,
        "waitlisted": 0,
        "quota_not_applied": 3,
        "not_eligible": 1,
        "excluded": 0,
        "unknown": 0,
    }
    modal = outcome(await all_results(client, headers, job["id"]), "BAZNAS_MODAL")
    assert [modal[i] for i in ids] == ["eligible:quota_not_applied"] * 3 + ["not_eligible"]
    eligible = await all_results(
        client, headers, job["id"], program="BAZNAS_MODAL", status="eligible"
    )
    assert len(eligible) == 3
    selected = await all_results(
        client, headers, job["id"], program="BAZNAS_MODAL", status="selected"
    )
    assert selected == []
    response = await client.get(f"{SCREENINGS}/{job['id']}/results.csv", headers=headers)
    rows = list(csv.reader(io.StringIO(response.content[3:].decode())))
    assert sorted(r[2] for r in rows[1:]) == ["eligible_quota_not_applied"] * 3 + ["not_eligible"]

    # The whole regency holds the programme's area: the quota applies.
    regency = await run(
        app, client, headers, {"region": "7303", "on": ON, "programs": ["BAZNAS_MODAL"]}
    )
    assert regency["status"] == "succeeded", regency
    assert regency["rule_sets"][0]["quota_applied"] is True
    counts = regency["counts"]["BAZNAS_MODAL"]
    assert counts["selected"] == 2 and counts["quota_not_applied"] == 0
    assert counts["waitlisted"] == counts["eligible"] - 2


async def test_region_outside_the_jurisdiction(
    app: FastAPI, client: httpx.AsyncClient, registry: httpx.AsyncClient, tokens: Tokens
) -> None:
    await catalogue(client, tokens)
    village = fresh_village()
    await new_household(registry, tokens, village_code=village)
    palopo = tokens(role="manager", jurisdiction="7373")
    refused = await client.post(SCREENINGS, json={"region": village, "on": ON}, headers=palopo)
    assert refused.status_code == 403
    assert refused.headers["content-type"] == "application/problem+json"
    mine = tokens(role="manager", jurisdiction="7303")
    job = await run(app, client, mine, {"region": village, "on": ON})
    hidden = await client.get(f"{SCREENINGS}/{job['id']}", headers=palopo)
    assert hidden.status_code == 404
    hidden = await client.get(f"{SCREENINGS}/{job['id']}/results", headers=palopo)
    assert hidden.status_code == 404
    listed = await client.get(SCREENINGS, headers=palopo)
    assert job["id"] not in [j["id"] for j in listed.json()["items"]]
    field = await client.post(
        SCREENINGS, json={"region": village, "on": ON}, headers=tokens(role="facilitator")
    )
    assert field.status_code == 403


async def test_partner_screening_is_masked_so_ages_are_unknown(
    app: FastAPI, client: httpx.AsyncClient, registry: httpx.AsyncClient, tokens: Tokens
) -> None:
    await catalogue(client, tokens)
    village = fresh_village()
    await new_household(registry, tokens, village_code=village, desil=1)
    job = await run(
        app,
        client,
        tokens(role="partner", jurisdiction="7303", org="baznas-7303"),
        {"region": village, "on": ON},
    )
    assert job["status"] == "succeeded"
    assert job["masked"] is True


async def test_bad_input_is_a_problem_naming_the_field(
    client: httpx.AsyncClient, registry: httpx.AsyncClient, tokens: Tokens
) -> None:
    await catalogue(client, tokens)
    headers = {**tokens(role="manager", jurisdiction="73"), "Accept-Language": "en"}
    cases = [
        ({"region": "73030"}, "region"),
        ({"region": "7303", "on": "2025-13-40"}, "on"),
        ({"region": "7303", "programs": ["NOPE"]}, "programs.0"),
        ({"region": "7303", "programs": ["PKH"]}, "programs"),
        ({"region": "7303", "programs": []}, "programs"),
        ({"region": "7303", "extra": 1}, "extra"),
        ({"region": "7399"}, "region"),  # no such regency
        ({"region": "7373", "programs": ["KUBE"]}, "programs.0"),  # outside its area
        ({"region": "7303", "on": "2030-01-01"}, "region"),  # nothing active then
    ]
    for body, field in cases:
        response = await client.post(SCREENINGS, json=body, headers=headers)
        assert response.status_code == 422, (body, response.text)
        assert response.headers["content-type"] == "application/problem+json"
        assert field in [e["field"] for e in response.json()["errors"]], (body, response.json())
    missing = await client.get(f"{SCREENINGS}/{uuid.uuid4()}", headers=headers)
    assert missing.status_code == 404
    bad_cursor = await client.get(SCREENINGS, params={"cursor": "@@"}, headers=headers)
    assert bad_cursor.status_code == 422


async def test_results_filters_are_checked(
    app: FastAPI, client: httpx.AsyncClient, registry: httpx.AsyncClient, tokens: Tokens
) -> None:
    await catalogue(client, tokens)
    village = fresh_village()
    await new_household(registry, tokens, village_code=village)
    headers = tokens(role="manager", jurisdiction="7303")
    job = await run(app, client, headers, {"region": village, "on": ON})
    url = f"{SCREENINGS}/{job['id']}/results"
    for params, field in (
        ({"program": "PKH"}, "program"),
        ({"status": "eligible"}, "status"),
        ({"program": "KUBE", "status": "maybe"}, "status"),
        ({"cursor": "###"}, "cursor"),
        ({"village": "12"}, None),
    ):
        response = await client.get(url, params=params, headers=headers)
        if field is None:
            assert response.status_code == 200 and response.json()["items"] == []
            continue
        assert response.status_code == 422, (params, response.text)
        assert field in [e["field"] for e in response.json()["errors"]]


async def test_registry_down_fails_the_job_with_a_clear_error(
    app: FastAPI, client: httpx.AsyncClient, registry: httpx.AsyncClient, tokens: Tokens
) -> None:
    await catalogue(client, tokens)
    village = fresh_village()
    headers = {**tokens(role="manager", jurisdiction="7303"), "Accept-Language": "en"}
    submitted = await client.post(SCREENINGS, json={"region": village, "on": ON}, headers=headers)
    assert submitted.status_code == 202
    job_id = submitted.json()["id"]
    runner: ScreeningRunner = app.state.screening_runner
    # The registry goes away between submission and the run.
    down = RegistryClient.from_settings(
        EligibilitySettings(
            registry_url=f"http://127.0.0.1:{closed_port()}",
            registry_connect_timeout=0.5,
            registry_deadline=2.0,
        )
    )
    runner.registry = down
    try:
        await asyncio.wait_for(runner.ended(uuid.UUID(job_id)).wait(), 10)
    finally:
        await down.aclose()
    job = (await client.get(f"{SCREENINGS}/{job_id}", headers=headers)).json()
    assert job["status"] == "failed"
    assert job["error"]["type"] == "urn:selaras:problem:upstream-unavailable"
    assert "registry" in job["error"]["detail"]
    results = await client.get(f"{SCREENINGS}/{job_id}/results", headers=headers)
    assert results.status_code == 422
    # Submitting while it is down is refused at once (the region is checked upfront).
    app.state.registry = runner.registry = RegistryClient.from_settings(
        EligibilitySettings(
            registry_url=f"http://127.0.0.1:{closed_port()}",
            registry_connect_timeout=0.5,
            registry_deadline=2.0,
        )
    )
    refused = await client.post(SCREENINGS, json={"region": village, "on": ON}, headers=headers)
    await app.state.registry.aclose()
    assert refused.status_code == 503
    assert refused.json()["type"] == "urn:selaras:problem:upstream-unavailable"


async def test_registry_too_slow_fails_the_job_without_hanging(
    app: FastAPI, client: httpx.AsyncClient, registry: httpx.AsyncClient, tokens: Tokens
) -> None:
    await catalogue(client, tokens)
    village = fresh_village()
    headers = tokens(role="manager", jurisdiction="7303")
    submitted = await client.post(SCREENINGS, json={"region": village, "on": ON}, headers=headers)
    job_id = submitted.json()["id"]

    async def slow(scope: Any, receive: Any, send: Any) -> None:
        await asyncio.sleep(30)

    runner: ScreeningRunner = app.state.screening_runner
    slow_client = RegistryClient.from_settings(
        EligibilitySettings(registry_url="http://registry", registry_snapshot_deadline=0.5),
        httpx.ASGITransport(app=slow),
    )
    runner.registry = slow_client
    try:
        await asyncio.wait_for(runner.ended(uuid.UUID(job_id)).wait(), 10)
    finally:
        await slow_client.aclose()
    job = (await client.get(f"{SCREENINGS}/{job_id}", headers=headers)).json()
    assert job["status"] == "failed"
    assert job["error"]["type"] == "urn:selaras:problem:upstream-timeout"


async def test_a_job_left_by_a_dead_process_is_failed_on_startup(
    app: FastAPI,
    client: httpx.AsyncClient,
    registry: httpx.AsyncClient,
    tokens: Tokens,
    session: AsyncSession,
) -> None:
    await catalogue(client, tokens)
    village = fresh_village()
    headers = {**tokens(role="manager", jurisdiction="7303"), "Accept-Language": "en"}
    submitted = await client.post(SCREENINGS, json={"region": village, "on": ON}, headers=headers)
    job_id = uuid.UUID(submitted.json()["id"])
    runner: ScreeningRunner = app.state.screening_runner
    await asyncio.wait_for(runner.ended(job_id).wait(), 30)
    # Another job, marked running by a process that died long ago.
    orphan = await session.get(Screening, job_id)
    assert orphan is not None
    orphan.status, orphan.heartbeat_at = "running", utcnow().replace(year=2000)
    await session.commit()
    fresh = ScreeningRunner(
        app.state.sessionmaker, app.state.registry, data_dir=Path("/nonexistent")
    )
    assert await fresh.sweep() == 1
    job = (await client.get(f"{SCREENINGS}/{job_id}", headers=headers)).json()
    assert job["status"] == "failed"
    assert job["error"]["type"] == "urn:selaras:problem:interrupted"
    assert "submit it again" in job["error"]["detail"]


async def test_migration_0002_goes_down_to_0001_and_up_again(databases: Any) -> None:
    url = await databases.new("eligibility_0002")
    config = Config()
    config.set_main_option("script_location", MIGRATIONS)
    config.set_main_option("sqlalchemy.url", url)
    await asyncio.to_thread(command.upgrade, config, "head")
    await asyncio.to_thread(command.downgrade, config, "0001")
    engine = make_engine(url)
    try:
        async with engine.connect() as connection:
            tables = await connection.run_sync(lambda c: set(inspect(c).get_table_names()))
        assert "screening" not in tables and "program" in tables
        await asyncio.to_thread(command.upgrade, config, "head")
        async with engine.connect() as connection:
            tables = await connection.run_sync(lambda c: set(inspect(c).get_table_names()))
        assert {"screening", "screening_series", "screening_row"} <= tables
    finally:
        await engine.dispose()


async def test_migration_0003_drops_the_series_key_of_rows_and_0002_brings_it_back(
    databases: Any,
) -> None:
    url = await databases.new("eligibility_0003")
    config = Config()
    config.set_main_option("script_location", MIGRATIONS)
    config.set_main_option("sqlalchemy.url", url)
    engine = make_engine(url)

    async def row_keys() -> list[Any]:
        # A fresh connection: SQLite's pooled ones keep the schema they first read.
        await engine.dispose()
        async with engine.connect() as connection:
            return await connection.run_sync(lambda c: inspect(c).get_foreign_keys("screening_row"))

    try:
        await asyncio.to_thread(command.upgrade, config, "head")
        assert await row_keys() == []
        async with engine.begin() as connection:
            # A row whose series is gone (possible without the key) goes on the way down.
            await connection.execute(
                insert(ScreeningRow).values(
                    series_id=uuid.uuid4(),
                    household_id=uuid.uuid4(),
                    valid_from=1,
                    village_code="7303012001",
                    outcomes="S",
                )
            )
        await asyncio.to_thread(command.downgrade, config, "0002")
        [key] = await row_keys()
        assert key["referred_table"] == "screening_series"
        assert key["constrained_columns"] == ["series_id"]
        async with engine.connect() as connection:
            assert (await connection.scalar(text("SELECT count(*) FROM screening_row"))) == 0
        await asyncio.to_thread(command.upgrade, config, "head")
        assert await row_keys() == []
    finally:
        await engine.dispose()
