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
import resource
import time

import asyncpg
import pyarrow as pa
from common import load_households
from sqlalchemy.engine import make_url

from selaras_registry.cli import MIGRATIONS
from selaras_registry.service.changes import open_snapshot
from selaras_shared.db import make_engine
from selaras_shared.migrations import upgrade

DATABASE = "selaras_bench_snapshot"


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
                await load_households(connection, args.households)
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
