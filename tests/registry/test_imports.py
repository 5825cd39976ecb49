"""Bulk import: upload, job lifecycle and modes, idempotent re-import, progress, resume,
the per-row report, and the malformed-file kinds end to end."""

from __future__ import annotations

import asyncio
import csv
import gc
import io
import json
import uuid
from collections.abc import AsyncIterator, Callable, Sequence
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy import delete, func, select
from sqlalchemy.ext.asyncio import AsyncEngine

from selaras_registry.app import create_app
from selaras_registry.imports.runner import BatchHook, ImportRunner
from selaras_registry.imports.writer import BatchWriter
from selaras_registry.models import (
    AccessLog,
    Household,
    HouseholdTag,
    HouseholdVersion,
    ImportIssue,
    ImportJob,
    Member,
)
from selaras_registry.settings import RegistrySettings
from tests.support import AUTH, on_database

from .conftest import Tokens
from .factories import OTHER_REGENCY_VILLAGE, household, member

COLUMNS = [
    "kk_number",
    "address",
    "rt",
    "rw",
    "village_code",
    "desil",
    "registry_status",
    "housing_floor",
    "housing_wall",
    "housing_roof",
    "housing_electricity_va",
    "monthly_income",
    "programs_received",
    "household_ppks",
    "data_source",
    "verified_on",
    "nik",
    "name",
    "sex",
    "birth_date",
    "relationship",
    "marital_status",
    "in_school",
    "disability_type",
    "disability_severity",
    "member_ppks",
]


def csv_rows(family: dict[str, Any]) -> list[list[str]]:
    """The CSV rows (one per member) of a household payload from the factories."""
    housing = family["housing"]
    rows = []
    for person in family["members"]:
        disability = person.get("disability") or {}
        birth = date.fromisoformat(person["birth_date"])
        values = {
            "kk_number": family["kk_number"],
            "address": family["address"],
            "rt": family["rt"],
            "rw": family["rw"],
            "village_code": family["village_code"],
            "desil": str(family["desil"]),
            "registry_status": family["registry_status"],
            "housing_floor": housing.get("floor", ""),
            "housing_wall": housing.get("wall", ""),
            "housing_roof": housing.get("roof", ""),
            "housing_electricity_va": str(housing.get("electricity_va", "")),
            "monthly_income": str(family["monthly_income"]),
            "programs_received": "|".join(family["programs_received"]),
            "household_ppks": "|".join(family["ppks"]),
            "data_source": family["data_source"],
            "verified_on": family["verified_on"],
            "nik": person["nik"],
            "name": person["name"],
            "sex": person["sex"],
            # Indonesian dates, as a regency's spreadsheet has them.
            "birth_date": birth.strftime("%d/%m/%Y"),
            "relationship": person["relationship"],
            "marital_status": person.get("marital_status", ""),
            "in_school": {True: "ya", False: "tidak", None: ""}[person.get("in_school")],
            "disability_type": disability.get("type", ""),
            "disability_severity": disability.get("severity", ""),
            "member_ppks": "|".join(person.get("ppks", [])),
        }
        rows.append([values[c] for c in COLUMNS])
    return rows


def to_csv(families: list[dict[str, Any]], delimiter: str = ",") -> bytes:
    """A CSV file of families (UTF-8 with BOM, as Excel saves it)."""
    out = io.StringIO()
    writer = csv.writer(out, delimiter=delimiter, lineterminator="\r\n")
    writer.writerow(COLUMNS)
    for family in families:
        writer.writerows(csv_rows(family))
    return ("\ufeff" + out.getvalue()).encode()


@dataclass
class Importer:
    """A client of an app whose requests commit, and its import runner."""

    client: httpx.AsyncClient
    runner: ImportRunner
    make_runner: Callable[..., ImportRunner]
    engine: AsyncEngine

    async def submit(
        self, body: bytes, headers: dict[str, str], *, mode: str, media: str = "text/csv"
    ) -> httpx.Response:
        return await self.client.post(
            "/api/v1/imports",
            params={"mode": mode},
            content=body,
            headers={**headers, "Content-Type": media},
        )

    async def run(
        self, body: bytes, headers: dict[str, str], *, mode: str, media: str = "text/csv"
    ) -> dict[str, Any]:
        """Submit a file, run the job to its end, and return the job."""
        submitted = await self.submit(body, headers, mode=mode, media=media)
        assert submitted.status_code == 202, submitted.text
        assert await self.runner.run_pending() == 1
        response = await self.client.get(submitted.headers["location"], headers=headers)
        assert response.status_code == 200
        return response.json()  # type: ignore[no-any-return]

    async def count(self, model: Any, *conditions: Any) -> int:
        async with self.engine.connect() as connection:
            total = await connection.scalar(
                select(func.count()).select_from(model).where(*conditions)
            )
        return int(total or 0)


@pytest.fixture
async def importer(
    registry_url: str, registry_engine: AsyncEngine, tmp_path: Path
) -> AsyncIterator[Importer]:
    settings = RegistrySettings(
        database_url=registry_url,
        max_body_bytes=64 * 1024,
        import_dir=tmp_path,
        import_max_bytes=256 * 1024,
        import_runner=False,
    )
    app = on_database(create_app(settings, AUTH), registry_engine)
    sessionmaker = app.state.sessionmaker
    runners: list[ImportRunner] = []

    def make_runner(
        after_batch: BatchHook | None = None,
        stale_seconds: float = 60.0,
        workers: int = 0,
        gc_threshold: int | None = None,
    ) -> ImportRunner:
        # Two families per batch, so that small files make several batches.
        runner = ImportRunner(
            sessionmaker,
            import_dir=tmp_path,
            workers=workers,
            families_per_batch=2,
            stale_seconds=stale_seconds,
            heartbeat_seconds=0.05,
            poll_seconds=0.05,
            after_batch=after_batch,
            gc_threshold=gc_threshold,
        )
        runners.append(runner)
        app.state.import_runner = runner
        return runner

    runner = make_runner()
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://registry") as client:
        yield Importer(client, runner, make_runner, registry_engine)
    for each in runners:
        await each.stop()
    async with registry_engine.begin() as connection:
        for table in (
            AccessLog,
            HouseholdTag,
            HouseholdVersion,
            Member,
            Household,
            ImportIssue,
            ImportJob,
        ):
            await connection.execute(delete(table))


async def _report(
    importer: Importer, job: dict[str, Any], headers: dict[str, str]
) -> list[dict[str, Any]]:
    response = await importer.client.get(job["links"]["errors"], headers=headers)
    assert response.status_code == 200, response.text
    return response.json()["items"]  # type: ignore[no-any-return]


# --- modes ----------------------------------------------------------------------------


async def test_dry_run_checks_everything_and_writes_no_household(
    importer: Importer, tokens: Tokens
) -> None:
    families = [household() for _ in range(3)]
    job = await importer.run(to_csv(families), tokens(), mode="dry_run")
    assert job["status"] == "succeeded", job
    assert job["households_created"] == 3 and job["error_count"] == 0
    assert job["rows_done"] == job["rows_total"] == 9
    assert await importer.count(Household) == 0
    assert await importer.count(HouseholdVersion) == 0


async def test_all_or_nothing_with_one_bad_row_writes_nothing(
    importer: Importer, tokens: Tokens
) -> None:
    families = [household() for _ in range(4)]
    families[3]["members"][1]["sex"] = "x"  # the last family's second member
    job = await importer.run(to_csv(families), tokens(), mode="all_or_nothing")
    assert job["status"] == "failed"
    assert job["households_created"] == 0 and job["households_rejected"] == 1
    assert job["error_count"] == 1
    assert await importer.count(Household) == 0
    assert await importer.count(Member) == 0
    [issue] = await _report(importer, job, tokens())
    assert issue["row"] == 1 + 3 * 3 + 2 and issue["field"] == "sex" and issue["value"] == "x"


async def test_all_or_nothing_writes_everything_as_the_api_would(
    importer: Importer, tokens: Tokens
) -> None:
    families = [household() for _ in range(3)]
    # Characters that CSV and PostgreSQL's COPY format both treat specially.
    families[0]["address"] = "Jl. \"Poros\" No. 5\\7, Lr. 'A'; RT\\N"
    families[0]["members"][0]["name"] = 'Andi \\ Baso, "Daeng" Ngemba'
    job = await importer.run(to_csv(families), tokens(), mode="all_or_nothing")
    assert job["status"] == "succeeded", job
    assert job["households_created"] == 3
    assert await importer.count(Household) == 3
    assert await importer.count(Member) == 9
    assert await importer.count(HouseholdVersion) == 3

    # The same family through the API: identical but for ids and timestamps.
    imported = await _by_kk(importer, families[0]["kk_number"], tokens())
    assert imported["address"] == families[0]["address"]
    assert imported["members"][0]["name"] == families[0]["members"][0]["name"]
    twin = {**families[0], "kk_number": families[0]["kk_number"][:-4] + "9999"}
    twin["members"] = [{**m, "nik": m["nik"][:-4] + "9" + m["nik"][-3:]} for m in twin["members"]]
    created = await importer.client.post("/api/v1/households", json=twin, headers=tokens())
    assert created.status_code == 201, created.text
    assert _comparable(imported) == _comparable(created.json())
    # A read by id serves the version the import wrote: the same as the rows (the search).
    read = await importer.client.get(f"/api/v1/households/{imported['id']}", headers=tokens())
    assert read.json() == imported
    history = await importer.client.get(
        f"/api/v1/households/{imported['id']}/history", headers=tokens()
    )
    api_history = await importer.client.get(
        f"/api/v1/households/{created.json()['id']}/history", headers=tokens()
    )
    entry, api_entry = history.json()["items"][0], api_history.json()["items"][0]
    assert entry["change"] == api_entry["change"] == "created"
    assert entry["source"] == "import"
    assert set(entry["changes"]) == set(api_entry["changes"])
    # The search tags are there too.
    found = await importer.client.get(
        "/api/v1/households", params={"program": "PKH"}, headers=tokens()
    )
    assert imported["id"] in {h["id"] for h in found.json()["items"]}


def _comparable(document: dict[str, Any]) -> dict[str, Any]:
    skip = {"id", "created_at", "updated_at", "kk_number"}
    members = [{k: v for k, v in m.items() if k not in ("id", "nik")} for m in document["members"]]
    return {**{k: v for k, v in document.items() if k not in skip}, "members": members}


async def _by_kk(importer: Importer, kk_number: str, headers: dict[str, str]) -> dict[str, Any]:
    response = await importer.client.get(
        "/api/v1/households", params={"kk_number": kk_number}, headers=headers
    )
    [found] = response.json()["items"]
    return found  # type: ignore[no-any-return]


async def test_valid_only_writes_good_families_and_reports_bad(
    importer: Importer, tokens: Tokens
) -> None:
    families = [household() for _ in range(5)]
    families[1]["members"][0]["birth_date"] = "1981-05-17"  # disagrees with the NIK
    job = await importer.run(to_csv(families), tokens(), mode="valid_only")
    assert job["status"] == "succeeded"
    assert job["households_created"] == 4 and job["households_rejected"] == 1
    assert await importer.count(Household) == 4
    assert await importer.count(Household, Household.kk_number == families[1]["kk_number"]) == 0
    issues = await _report(importer, job, tokens())
    assert [(i["row"], i["field"], i["code"]) for i in issues] == [
        (5, "nik", "nik_birth_date_mismatch")
    ]


async def test_reimport_is_idempotent_and_changes_are_versioned(
    importer: Importer, tokens: Tokens
) -> None:
    families = [household() for _ in range(3)]
    first = await importer.run(to_csv(families), tokens(), mode="valid_only")
    assert first["households_created"] == 3

    again = await importer.run(to_csv(families), tokens(), mode="valid_only")
    assert again["status"] == "succeeded"
    assert (again["households_created"], again["households_unchanged"]) == (0, 3)
    assert await importer.count(Household) == 3
    assert await importer.count(HouseholdVersion) == 3

    families[2]["desil"] = 4
    families[2]["members"][1]["name"] = "Nurhayati"
    changed = await importer.run(to_csv(families), tokens(), mode="all_or_nothing")
    assert changed["status"] == "succeeded"
    assert (changed["households_updated"], changed["households_unchanged"]) == (1, 2)
    assert await importer.count(Household) == 3
    updated = await _by_kk(importer, families[2]["kk_number"], tokens())
    assert updated["version"] == 2 and updated["desil"] == 4
    history = await importer.client.get(
        f"/api/v1/households/{updated['id']}/history", headers=tokens()
    )
    last = history.json()["items"][-1]
    assert last["change"] == "imported"
    assert last["changes"]["desil"] == {"before": 2, "after": 4}
    name_change = next(v for k, v in last["changes"].items() if k.endswith(".name"))
    assert name_change == {"before": "Nurhayati Daeng Ngai", "after": "Nurhayati"}


async def test_duplicate_kk_and_nik_across_families_are_errors_on_later_rows(
    importer: Importer, tokens: Tokens
) -> None:
    a, b, c = household(), household(), household()
    repeated_kk = {**household(), "kk_number": a["kk_number"]}
    shared = household()
    shared["members"][2] = {**b["members"][2]}  # a NIK of family b again
    job = await importer.run(to_csv([a, b, c, repeated_kk, shared]), tokens(), mode="valid_only")
    assert job["households_created"] == 3 and job["households_rejected"] == 2
    issues = await _report(importer, job, tokens())
    assert [(i["row"], i["code"]) for i in issues] == [
        (11, "kk_repeated"),
        (16, "nik_in_two_families"),
    ]
    assert "2" in issues[0]["message"]  # names the first row of that KK


async def test_nik_already_active_in_the_registry(importer: Importer, tokens: Tokens) -> None:
    existing = household()
    created = await importer.client.post("/api/v1/households", json=existing, headers=tokens())
    assert created.status_code == 201
    family = household()
    family["members"][1] = {**existing["members"][1]}
    job = await importer.run(to_csv([family]), tokens("front_office"), mode="dry_run")
    [issue] = await _report(importer, job, {**tokens(), "Accept-Language": "en"})
    assert (issue["row"], issue["field"], issue["code"]) == (3, "nik", "nik_duplicate")
    assert created.json()["id"] in issue["message"]


async def test_a_nik_registered_concurrently_fails_the_job_cleanly(
    importer: Importer, tokens: Tokens, monkeypatch: pytest.MonkeyPatch
) -> None:
    # The NIK lookup happens before the bulk write; a NIK registered in between is
    # caught by the unique index and the job fails as a conflict, writing nothing.
    existing = household()
    created = await importer.client.post("/api/v1/households", json=existing, headers=tokens())
    assert created.status_code == 201
    family = household()
    family["members"][1] = {**existing["members"][1]}

    async def missed(self: BatchWriter, niks: Sequence[str]) -> dict[str, uuid.UUID]:
        return {}

    monkeypatch.setattr(BatchWriter, "holders", missed)
    job = await importer.run(to_csv([household(), family]), tokens(), mode="valid_only")
    assert job["status"] == "failed", job
    assert job["failure"]["code"] == "conflict"
    assert await importer.count(Household) == 1


async def test_outside_jurisdiction_is_a_row_error(importer: Importer, tokens: Tokens) -> None:
    inside, outside = household(), household(OTHER_REGENCY_VILLAGE)
    job = await importer.run(
        to_csv([inside, outside]), tokens(jurisdiction="7303"), mode="valid_only"
    )
    assert job["households_created"] == 1 and job["households_rejected"] == 1
    [issue] = await _report(importer, job, tokens(jurisdiction="7303"))
    assert issue["code"] == "outside_jurisdiction" and issue["field"] == "village_code"
    # Another regency does not see the job at all.
    other = await importer.client.get(job["links"]["self"], headers=tokens(jurisdiction="7373"))
    assert other.status_code == 404
    listed = await importer.client.get("/api/v1/imports", headers=tokens(jurisdiction="7303"))
    assert [j["id"] for j in listed.json()["items"]] == [job["id"]]


async def test_ndjson_import(importer: Importer, tokens: Tokens) -> None:
    families = [household() for _ in range(3)]
    families[1]["members"].append(member("Sitti", "female", date(2030, 1, 1), "anak"))
    body = "\n".join(json.dumps(f) for f in families).encode() + b"\nnot json\n"
    job = await importer.run(body, tokens(), mode="valid_only", media="application/x-ndjson")
    assert job["format"] == "ndjson"
    assert job["households_created"] == 2 and job["households_rejected"] == 2
    rows = {i["row"] for i in await _report(importer, job, tokens())}
    assert rows == {2, 4}


# --- the report ---------------------------------------------------------------------------


async def test_error_report_json_and_csv_in_both_languages(
    importer: Importer, tokens: Tokens
) -> None:
    family = household()
    family["members"][0]["birth_date"] = "1981-05-17"
    job = await importer.run(to_csv([family, household()]), tokens(), mode="valid_only")
    indonesian = await _report(importer, job, tokens())
    english = await _report(importer, job, {**tokens(), "Accept-Language": "en"})
    assert "Tanggal lahir pada NIK" in indonesian[0]["message"]
    assert "Birth date encoded in the NIK" in english[0]["message"]

    download = await importer.client.get(
        job["links"]["errors_csv"], headers={**tokens(), "Accept-Language": "en"}
    )
    assert download.status_code == 200
    assert download.headers["content-type"].startswith("text/csv")
    assert "attachment" in download.headers["content-disposition"]
    assert download.content.startswith("\ufeff".encode())
    lines = list(csv.DictReader(io.StringIO(download.content.decode("utf-8-sig"))))
    assert [(r["row"], r["field"], r["code"]) for r in lines] == [
        ("2", "nik", "nik_birth_date_mismatch")
    ]
    assert "Birth date encoded in the NIK" in lines[0]["message"]

    # Without personal-data rights the values are masked.
    masked = await _report(importer, job, tokens("partner", org="baznas"))
    assert masked[0]["kk_number"].endswith("*" * 10)


async def test_file_problem_fails_the_job_with_a_localized_failure(
    importer: Importer, tokens: Tokens
) -> None:
    body = to_csv([household()]).replace(b"village_code,", b"desa_x,", 1)
    job = await importer.run(body, tokens(), mode="dry_run")
    assert job["status"] == "failed"
    assert job["failure"]["code"]
    english = await importer.client.get(
        job["links"]["self"], headers={**tokens(), "Accept-Language": "en"}
    )
    assert "village_code" in english.json()["failure"]["message"]
    assert job["failure"]["message"] != english.json()["failure"]["message"]


@pytest.mark.parametrize(
    ("kind", "mangle"),
    [
        ("bad encoding", lambda body: body.replace(b"Bonto Jai", b"Bonto J\xe9\xff", 1)),
        ("missing column", lambda body: body.replace(b",nik,", b",", 1)),
        ("wrong separator", lambda body: body.replace(b",", b";").replace(b";", b"|", 30)),
        ("broken quote", lambda body: body.rstrip(b"\r\n") + b',"unterminated\r\n'),
    ],
)
async def test_malformed_files_end_to_end(
    importer: Importer, tokens: Tokens, kind: str, mangle: Callable[[bytes], bytes]
) -> None:
    body = mangle(to_csv([household(), household()]))
    job = await importer.run(body, tokens(), mode="all_or_nothing")
    assert job["status"] == "failed", (kind, job)
    assert await importer.count(Household) == 0
    if job["failure"] is None:
        assert job["error_count"] > 0, kind


async def test_nik_in_scientific_notation_is_reported(importer: Importer, tokens: Tokens) -> None:
    family = household()
    body = to_csv([family]).replace(family["members"][1]["nik"].encode(), b"7.30301E+15")
    job = await importer.run(body, tokens(), mode="valid_only")
    [issue] = await _report(importer, job, tokens())
    assert (issue["row"], issue["code"]) == (3, "nik_scientific_notation")


# --- upload -----------------------------------------------------------------------------


async def test_upload_limits_media_types_and_permissions(
    importer: Importer, tokens: Tokens
) -> None:
    too_big = b"x" * (256 * 1024 + 1)
    response = await importer.submit(too_big, tokens(), mode="dry_run")
    assert response.status_code == 413
    response = await importer.submit(b"a,b\n", tokens(), mode="dry_run", media="application/pdf")
    assert response.status_code == 415
    assert response.headers["content-type"] == "application/problem+json"
    response = await importer.submit(to_csv([household()]), tokens("partner"), mode="dry_run")
    assert response.status_code == 403
    response = await importer.submit(b"", tokens(), mode="dry_run")
    assert response.status_code in (415, 422)
    assert await importer.count(ImportJob) == 0
    assert list(importer.runner.import_dir.iterdir()) == []


async def test_client_disconnect_during_upload_leaves_no_job(
    importer: Importer, tokens: Tokens
) -> None:
    app = importer.client._transport.app  # type: ignore[attr-defined]
    body = to_csv([household() for _ in range(3)])
    incoming = [
        {"type": "http.request", "body": body[:100], "more_body": True},
        {"type": "http.disconnect"},  # the client goes away mid-upload
    ]
    sent: list[dict[str, Any]] = []

    async def receive() -> dict[str, Any]:
        return incoming.pop(0)

    async def send(message: dict[str, Any]) -> None:
        sent.append(message)

    headers = [(k.lower().encode(), v.encode()) for k, v in tokens().items()]
    scope = {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": "POST",
        "scheme": "http",
        "path": "/api/v1/imports",
        "raw_path": b"/api/v1/imports",
        "query_string": b"mode=valid_only",
        "root_path": "",
        "headers": [*headers, (b"content-type", b"text/csv"), (b"transfer-encoding", b"chunked")],
        "client": ("127.0.0.1", 5000),
        "server": ("registry", 80),
        "state": {},
    }
    await app(scope, receive, send)
    assert sent[0]["status"] == 400
    assert await importer.count(ImportJob) == 0
    assert list(importer.runner.import_dir.iterdir()) == []


async def test_template_and_layout(importer: Importer, tokens: Tokens) -> None:
    template = await importer.client.get("/api/v1/imports/template", headers=tokens())
    assert template.status_code == 200
    assert "attachment" in template.headers["content-disposition"]
    layout = await importer.client.get("/api/v1/imports/layout", headers=tokens())
    names = {c["name"] for c in layout.json()}
    assert {"kk_number", "nik", "birth_date"} <= names
    # The template itself imports cleanly.
    job = await importer.run(template.content, tokens(), mode="dry_run")
    assert job["status"] == "succeeded" and job["error_count"] == 0, job


# --- running in the background --------------------------------------------------------


async def test_rows_validated_in_worker_processes(importer: Importer, tokens: Tokens) -> None:
    """As the service runs an import: rows validated in a worker process, whose garbage
    collector is tuned like the server's, with the result of validating them in this one."""
    runner = importer.make_runner(workers=1, gc_threshold=5000)
    runner.start()
    families = [household() for _ in range(5)]
    families[3]["members"][1]["sex"] = "x"
    submitted = await importer.submit(to_csv(families), tokens(), mode="valid_only")
    assert submitted.status_code == 202
    await asyncio.wait_for(runner.ended(uuid.UUID(submitted.json()["id"])).wait(), 60)
    job = (await importer.client.get(submitted.headers["location"], headers=tokens())).json()
    assert job["status"] == "succeeded", job
    assert job["households_created"] == 4 and job["households_rejected"] == 1
    [issue] = await _report(importer, job, tokens())
    assert issue["row"] == 1 + 3 * 3 + 2 and issue["field"] == "sex"
    assert await importer.count(Household) == 4
    worker = runner._executor()
    assert worker.submit(gc.get_threshold).result(timeout=30)[0] == 5000
    assert worker.submit(gc.get_freeze_count).result(timeout=30) > 0


async def test_progress_is_visible_while_running(importer: Importer, tokens: Tokens) -> None:
    reached, release = asyncio.Event(), asyncio.Event()

    async def pause(job_id: uuid.UUID, batch: int) -> None:
        if batch == 1:
            reached.set()
            await release.wait()

    runner = importer.make_runner(after_batch=pause)
    runner.start()
    submitted = await importer.submit(
        to_csv([household() for _ in range(5)]), tokens(), mode="all_or_nothing"
    )
    assert submitted.status_code == 202
    await asyncio.wait_for(reached.wait(), 10)
    running = (await importer.client.get(submitted.headers["location"], headers=tokens())).json()
    assert running["status"] == "running"
    assert running["rows_total"] == 15
    assert 0 < running["rows_done"] < 15
    assert running["households_created"] == 2
    ended = runner.ended(uuid.UUID(running["id"]))
    release.set()
    await asyncio.wait_for(ended.wait(), 10)
    job = await importer.client.get(submitted.headers["location"], headers=tokens())
    assert job.json()["status"] == "succeeded"
    assert await importer.count(Household) == 5


async def test_job_survives_the_submitting_client(importer: Importer, tokens: Tokens) -> None:
    importer.runner.start()
    transport = httpx.ASGITransport(app=importer.client._transport.app)  # type: ignore[attr-defined]
    async with httpx.AsyncClient(transport=transport, base_url="http://registry") as gone:
        submitted = await gone.post(
            "/api/v1/imports",
            params={"mode": "valid_only"},
            content=to_csv([household() for _ in range(3)]),
            headers={**tokens(), "Content-Type": "text/csv"},
        )
    assert submitted.status_code == 202
    job_id = uuid.UUID(submitted.json()["id"])
    await asyncio.wait_for(importer.runner.ended(job_id).wait(), 10)
    job = await importer.client.get(submitted.headers["location"], headers=tokens())
    assert job.json()["status"] == "succeeded"
    assert await importer.count(Household) == 3


@pytest.mark.parametrize("mode", ["valid_only", "all_or_nothing"])
async def test_interrupted_import_resumes_without_duplicates(
    importer: Importer, tokens: Tokens, mode: str
) -> None:
    reached = asyncio.Event()

    async def crash_here(job_id: uuid.UUID, batch: int) -> None:
        if batch == 2:
            reached.set()
            await asyncio.Event().wait()  # until cancelled

    families = [household() for _ in range(7)]
    families[5]["members"][0]["sex"] = "x"
    first = importer.make_runner(after_batch=crash_here)
    first.start()
    submitted = await importer.submit(to_csv(families), tokens(), mode=mode)
    await asyncio.wait_for(reached.wait(), 10)
    assert first.task is not None
    first.task.cancel()  # the process dies: no hand-over
    with pytest.raises(asyncio.CancelledError):
        await first.task

    second = importer.make_runner(stale_seconds=0)
    assert await second.run_pending() == 1
    job = (await importer.client.get(submitted.headers["location"], headers=tokens())).json()
    if mode == "valid_only":
        assert job["status"] == "succeeded"
        assert job["households_created"] == 6 and job["households_rejected"] == 1
        assert await importer.count(Household) == 6
    else:
        assert job["status"] == "failed" and job["households_rejected"] == 1
        assert await importer.count(Household) == 0
    assert job["error_count"] == 1
    assert len(await _report(importer, job, tokens())) == 1
    assert await importer.count(Member) == 3 * (6 if mode == "valid_only" else 0)
