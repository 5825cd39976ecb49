"""Benchmark: bulk import of a CSV of N households (1M by default) on PostgreSQL.

Generates the CSV from the demo generator (streaming, into a temporary file), then in two
fresh migrated databases measures (1) the baseline: a bare asyncpg `copy_records_to_table`
of the same household and member rows, already parsed, no validation, no versions; and
(2) the real import job (full validation, cross-file and database checks, versions, tags)
run in this process with its worker processes. Prints seconds, throughput, the ratio to
the baseline, and peak memory, against the targets (90 s, 3x). Not part of the tests.

    .venv/bin/python bench/import_csv.py [--households 1000000] [--keep]
        [--postgres postgresql://postgres@127.0.0.1:5432/postgres]
"""

from __future__ import annotations

import argparse
import asyncio
import csv
import os
import resource
import tempfile
import time
import uuid
from collections.abc import Iterator
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

import asyncpg
import orjson
from sqlalchemy.engine import make_url

from selaras_registry.cli import MIGRATIONS, import_file
from selaras_registry.demo import generate_rows
from selaras_registry.imports.writer import HOUSEHOLD_COLUMNS, MEMBER_COLUMNS
from selaras_registry.regions import fold
from selaras_registry.settings import RegistrySettings
from selaras_shared.auth import Principal, Role
from selaras_shared.migrations import upgrade

COLUMNS = [
    *("kk_number", "address", "rt", "rw", "village_code", "desil", "registry_status"),
    *("housing_floor", "housing_wall", "housing_roof", "housing_toilet", "housing_water"),
    *("housing_electricity_va", "housing_land_ownership", "monthly_income"),
    *("programs_received", "household_ppks", "data_source", "verified_on"),
    *("nik", "name", "sex", "birth_date", "relationship", "marital_status", "education"),
    *("in_school", "occupation", "disability_type", "disability_severity"),
    *("chronic_illness", "pregnant", "member_ppks"),
]
TARGET_SECONDS = 90.0
TARGET_RATIO = 3.0


def _cell(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "ya" if value else "tidak"
    if isinstance(value, list):
        return "|".join(value)
    return str(value)


def csv_lines(household: dict[str, Any]) -> Iterator[list[str]]:
    """The CSV rows of one generated household (one per member)."""
    housing = household.get("housing") or {}
    base = {
        **{k: household.get(k) for k in COLUMNS if k in household},
        **{f"housing_{k}": v for k, v in housing.items()},
        "household_ppks": household.get("ppks", []),
    }
    for person in household["members"]:
        disability = person.get("disability") or {}
        birth = date.fromisoformat(person["birth_date"])
        row = {
            **base,
            **{k: v for k, v in person.items() if k in COLUMNS},
            "birth_date": birth.strftime("%d/%m/%Y"),
            "disability_type": disability.get("type"),
            "disability_severity": disability.get("severity"),
            "member_ppks": person.get("ppks", []),
        }
        yield [_cell(row.get(c)) for c in COLUMNS]


def write_csv(path: Path, count: int) -> tuple[int, int]:
    """Write the benchmark file; returns (households, members)."""
    members = 0
    with path.open("w", encoding="utf-8", newline="") as out:
        writer = csv.writer(out, lineterminator="\n")
        writer.writerow(COLUMNS)
        for household in generate_rows(count):
            for line in csv_lines(household):
                writer.writerow(line)
                members += 1
    return count, members


async def admin(url: str, sql: str) -> None:
    """Run one statement on the server's maintenance database."""
    connection = await asyncpg.connect(url)
    try:
        await connection.execute(sql)
    finally:
        await connection.close()


async def fresh_database(server: str, name: str) -> str:
    """Create (again) a migrated database; its SQLAlchemy URL."""
    await admin(server, f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    await admin(server, f'CREATE DATABASE "{name}"')
    url = make_url(server).set(drivername="postgresql+asyncpg", database=name)
    rendered = url.render_as_string(hide_password=False)
    await asyncio.to_thread(upgrade, MIGRATIONS, rendered)
    return rendered


async def baseline(server: str, name: str, count: int) -> float:
    """Seconds spent in a bare COPY of the same household and member rows."""
    url = make_url(server).set(database=name).render_as_string(hide_password=False)
    connection = await asyncpg.connect(url.replace("+asyncpg", ""))
    spent = 0.0
    chunk = 50_000
    try:
        rows = generate_rows(count)
        while True:
            households, members = [], []
            now = datetime.now(UTC)
            for household in _take(rows, chunk):
                hid = uuid.uuid4()
                verified = household.get("verified_on")
                households.append(
                    (
                        hid,
                        household["kk_number"],
                        household["address"],
                        household.get("rt"),
                        household.get("rw"),
                        household["village_code"],
                        household.get("desil"),
                        household.get("registry_status", "local"),
                        orjson.dumps(household.get("housing") or {}).decode(),
                        household.get("monthly_income"),
                        orjson.dumps(household.get("programs_received", [])).decode(),
                        orjson.dumps(household.get("ppks", [])).decode(),
                        household.get("data_source", "puskesos"),
                        date.fromisoformat(verified) if verified else None,
                        "active",
                        1,
                        now,
                        now,
                    )
                )
                for position, person in enumerate(household["members"]):
                    disability = person.get("disability") or {}
                    members.append(
                        (
                            uuid.uuid4(),
                            hid,
                            person["nik"],
                            person["name"],
                            fold(person["name"]),
                            person["sex"],
                            date.fromisoformat(person["birth_date"]),
                            person["relationship"],
                            person.get("marital_status"),
                            person.get("education"),
                            person.get("in_school"),
                            person.get("occupation"),
                            disability.get("type"),
                            disability.get("severity"),
                            person.get("chronic_illness"),
                            bool(person.get("pregnant", False)),
                            orjson.dumps(person.get("ppks", [])).decode(),
                            position,
                            "active",
                        )
                    )
            if not households:
                break
            started = time.perf_counter()
            async with connection.transaction():
                await connection.copy_records_to_table(
                    "household", records=households, columns=HOUSEHOLD_COLUMNS
                )
                await connection.copy_records_to_table(
                    "member", records=members, columns=MEMBER_COLUMNS
                )
            spent += time.perf_counter() - started
    finally:
        await connection.close()
    return spent


def _take(rows: Iterator[dict[str, Any]], n: int) -> Iterator[dict[str, Any]]:
    for _ in range(n):
        row = next(rows, None)
        if row is None:
            return
        yield row


async def main() -> None:
    """Run the benchmark and print its figures."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--households", type=int, default=1_000_000)
    parser.add_argument(
        "--postgres",
        default=os.environ.get(
            "SELARAS_BENCH_POSTGRES_URL", "postgresql://postgres@127.0.0.1:5432/postgres"
        ),
    )
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--keep", action="store_true", help="keep the databases")
    args = parser.parse_args()
    name, base_name = "selaras_bench_import", "selaras_bench_import_base"

    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "households.csv"
        started = time.perf_counter()
        households, members = await asyncio.to_thread(write_csv, path, args.households)
        print(
            f"file                  {path.stat().st_size / 2**20:>12,.0f} MiB  "
            f"({households:,} households, {members:,} members; "
            f"written in {time.perf_counter() - started:.0f} s)"
        )
        await fresh_database(args.postgres, base_name)
        base_seconds = await baseline(args.postgres, base_name, args.households)
        url = await fresh_database(args.postgres, name)
        settings = RegistrySettings(
            database_url=url, import_dir=Path(tmp) / "spool", import_workers=args.workers
        )
        principal = Principal(subject="bench", role=Role.manager, jurisdiction="")
        started = time.perf_counter()
        job = await import_file(settings, path, mode="all_or_nothing", principal=principal)
        seconds = time.perf_counter() - started
    if not args.keep:
        for each in (name, base_name):
            await admin(args.postgres, f'DROP DATABASE IF EXISTS "{each}" WITH (FORCE)')

    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    workers_peak = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024
    ratio = seconds / base_seconds
    print(f"job                   {job['status']:>12}  created {job['households_created']:,}")
    print(f"errors                {job['error_count']:>12,}")
    print(f"bare COPY baseline    {base_seconds:>12.1f} s")
    print(
        f"import                {seconds:>12.1f} s  ({households / seconds:,.0f} households/s, "
        f"{members / seconds:,.0f} members/s)  target <= {TARGET_SECONDS:.0f} s: "
        f"{'met' if seconds <= TARGET_SECONDS else 'MISSED'}"
    )
    print(
        f"ratio to baseline     {ratio:>12.1f} x  target <= {TARGET_RATIO:.0f} x: "
        f"{'met' if ratio <= TARGET_RATIO else 'MISSED'}"
    )
    print(f"peak RSS (this)       {peak:>12.0f} MiB")
    print(f"peak RSS (a worker)   {workers_peak:>12.0f} MiB")


if __name__ == "__main__":
    asyncio.run(main())
