"""Benchmark: the columnar snapshot export on PostgreSQL (1M households by default).

Creates a fresh database, migrates it, loads synthetic households and their members from
`selaras_registry.demo.generate_rows` with COPY (a bench-only loader: one version row per
household is written too, with empty documents, since the export reads the household and
member tables), then times

  (a) the baseline: bare `COPY (SELECT * FROM household ...) TO STDOUT` and the same for
      member, output discarded: what the database alone takes to hand over the rows;
  (b) the export through the service code path the endpoint streams (in-process),
      consuming every byte of the Arrow IPC stream;

and prints seconds, households/s, the ratio to the baseline, bytes produced and peak RSS.
The database is dropped at the end unless --keep (a kept one is reused by a later run with
--reuse). Not part of the test suite.

    .tools/bin/uv run python bench/snapshot.py [--households 1000000]
        [--database-url postgresql://postgres@127.0.0.1:5432/postgres] [--keep] [--reuse]
"""

from __future__ import annotations

import argparse
import asyncio
import csv
import io
import json
import resource
import time
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

import asyncpg
import pyarrow as pa
from sqlalchemy.engine import make_url

from selaras_registry.cli import MIGRATIONS
from selaras_registry.demo import generate_rows
from selaras_registry.imports.writer import HOUSEHOLD_COLUMNS, MEMBER_COLUMNS
from selaras_registry.regions import fold
from selaras_registry.service.changes import open_snapshot
from selaras_shared.db import make_engine
from selaras_shared.migrations import upgrade

DATABASE = "selaras_bench_snapshot"
CHUNK = 20_000

VERSION_COLUMNS = (
    "household_id",
    "version",
    "village_code",
    "changed_at",
    "actor",
    "actor_role",
    "source",
    "change",
    "changes",
    "document",
)


def _csv_chunks(count: int) -> Iterator[tuple[bytes, bytes, bytes, int]]:
    """CSV text of households, members and versions, `CHUNK` households at a time."""
    now = datetime.now(UTC).isoformat()
    rows = generate_rows(count)
    done = 0
    while done < count:
        size = min(CHUNK, count - done)
        households, members, versions = io.StringIO(), io.StringIO(), io.StringIO()
        h_out, m_out, v_out = csv.writer(households), csv.writer(members), csv.writer(versions)
        member_count = 0
        for _ in range(size):
            row: dict[str, Any] = next(rows)
            h_out.writerow(
                (
                    row["id"],
                    row["kk_number"],
                    row["address"],
                    row["rt"],
                    row["rw"],
                    row["village_code"],
                    row["desil"],
                    row["registry_status"],
                    json.dumps(row["housing"]),
                    row["monthly_income"],
                    json.dumps(row["programs_received"]),
                    json.dumps(row["ppks"]),
                    row["data_source"],
                    row["verified_on"],
                    "active",
                    1,
                    now,
                    now,
                )
            )
            for position, person in enumerate(row["members"]):
                disability = person["disability"] or {}
                m_out.writerow(
                    (
                        uuid.uuid4(),
                        row["id"],
                        person["nik"],
                        person["name"],
                        fold(person["name"]),
                        person["sex"],
                        person["birth_date"],
                        person["relationship"],
                        person["marital_status"],
                        person["education"],
                        person["in_school"],
                        person["occupation"],
                        disability.get("type"),
                        disability.get("severity"),
                        person["chronic_illness"],
                        person["pregnant"],
                        json.dumps(person["ppks"]),
                        position,
                        "active",
                    )
                )
            member_count += len(row["members"])
            version = (row["id"], 1, row["village_code"], now, "bench", "manager", "bench")
            v_out.writerow((*version, "created", "{}", "{}"))
        done += size
        yield (
            households.getvalue().encode(),
            members.getvalue().encode(),
            versions.getvalue().encode(),
            member_count,
        )


async def _load(connection: asyncpg.Connection, count: int) -> int:
    members = 0
    started = time.perf_counter()
    for households_csv, members_csv, versions_csv, member_count in _csv_chunks(count):
        async with connection.transaction():
            await connection.copy_to_table(
                "household",
                source=io.BytesIO(households_csv),
                columns=HOUSEHOLD_COLUMNS,
                format="csv",
            )
            await connection.copy_to_table(
                "member", source=io.BytesIO(members_csv), columns=MEMBER_COLUMNS, format="csv"
            )
            await connection.copy_to_table(
                "household_version",
                source=io.BytesIO(versions_csv),
                columns=VERSION_COLUMNS,
                format="csv",
            )
        members += member_count
    await connection.execute("VACUUM ANALYZE household")
    await connection.execute("VACUUM ANALYZE member")
    await connection.execute("VACUUM ANALYZE household_version")
    print(f"loaded                {time.perf_counter() - started:>12.1f} s")
    return members


async def _discard(_chunk: bytes) -> None:
    return None


async def _baseline(connection: asyncpg.Connection) -> float:
    started = time.perf_counter()
    async with connection.transaction(isolation="repeatable_read", readonly=True):
        await connection.copy_from_query(
            "SELECT * FROM household WHERE status = 'active'", output=_discard, format="csv"
        )
        await connection.copy_from_query(
            "SELECT * FROM member WHERE status = 'active'", output=_discard, format="csv"
        )
    return time.perf_counter() - started


async def _export(url: str) -> tuple[float, int, int]:
    """Seconds, bytes and households of one export through the service code path."""
    engine = make_engine(url, pool_size=2)
    try:
        started = time.perf_counter()
        export = await open_snapshot(engine, region="", masked=False)
        size = 0
        try:
            async for chunk in export.stream():
                size += len(chunk)
        finally:
            await export.aclose()
        return time.perf_counter() - started, size, export.households
    finally:
        await engine.dispose()


async def _count_stream(url: str) -> tuple[int, int]:
    """Households and members in the stream (a second, untimed export, read back)."""
    engine = make_engine(url, pool_size=2)
    try:
        export = await open_snapshot(engine, region="", masked=False)
        households = members = 0
        buffer = bytearray()
        try:
            async for chunk in export.stream():
                buffer += chunk
        finally:
            await export.aclose()
        reader = pa.ipc.open_stream(bytes(buffer))
        del buffer
        for batch in reader:
            households += batch.num_rows
            members += len(batch.column("members").flatten())
        return households, members
    finally:
        await engine.dispose()


async def main_async(args: argparse.Namespace) -> None:
    """Load, measure, report, clean up."""
    admin = make_url(args.database_url)
    connect = {
        "host": admin.host,
        "port": admin.port or 5432,
        "user": admin.username,
        "password": admin.password,
    }
    server = await asyncpg.connect(database=admin.database or "postgres", **connect)
    url = admin.set(drivername="postgresql+asyncpg", database=DATABASE).render_as_string(
        hide_password=False
    )
    try:
        exists = await server.fetchval("SELECT 1 FROM pg_database WHERE datname = $1", DATABASE)
        fresh = not (exists and args.reuse)
        if fresh:
            await server.execute(f'DROP DATABASE IF EXISTS "{DATABASE}" WITH (FORCE)')
            await server.execute(f'CREATE DATABASE "{DATABASE}"')
            await asyncio.to_thread(upgrade, MIGRATIONS, url)
        connection = await asyncpg.connect(database=DATABASE, **connect)
        try:
            if fresh:
                await _load(connection, args.households)
            households = await connection.fetchval(
                "SELECT count(*) FROM household WHERE status = 'active'"
            )
            members = await connection.fetchval(
                "SELECT count(*) FROM member WHERE status = 'active'"
            )
            baseline = await _baseline(connection)
        finally:
            await connection.close()

        seconds, size, exported = await _export(url)
        peak_mib = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
        print(f"households            {households:>12,}")
        print(f"members               {members:>12,}")
        rate = households / baseline
        print(f"bare COPY baseline    {baseline:>12.2f} s  ({rate:,.0f} households/s)")
        print(f"snapshot export       {seconds:>12.2f} s  ({exported / seconds:,.0f} households/s)")
        print(f"ratio to baseline     {seconds / baseline:>12.2f} x")
        print(f"Arrow IPC stream      {size / 2**20:>12.1f} MiB")
        print(f"peak memory (RSS)     {peak_mib:>12.0f} MiB")
        if args.check:
            streamed_households, streamed_members = await _count_stream(url)
            assert streamed_households == households, (streamed_households, households)
            assert streamed_members == members, (streamed_members, members)
            print("stream read back      households and members match the tables")
    finally:
        if not args.keep:
            await server.execute(f'DROP DATABASE IF EXISTS "{DATABASE}" WITH (FORCE)')
        await server.close()


def main() -> None:
    """Parse arguments and run."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--households", type=int, default=1_000_000)
    parser.add_argument("--database-url", default="postgresql://postgres@127.0.0.1:5432/postgres")
    parser.add_argument("--keep", action="store_true", help="keep the benchmark database")
    parser.add_argument(
        "--reuse", action="store_true", help="reuse a kept benchmark database instead of loading"
    )
    parser.add_argument(
        "--check", action="store_true", help="read the stream back and count its rows"
    )
    asyncio.run(main_async(parser.parse_args()))


if __name__ == "__main__":
    main()
