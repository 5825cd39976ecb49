"""Shared by the benchmarks: fresh PostgreSQL databases, served processes, peak memory."""

from __future__ import annotations

import contextlib
import csv
import io
import json
import os
import resource
import socket
import subprocess
import sys
import time
import uuid
from collections.abc import Iterable, Iterator
from datetime import UTC, datetime
from typing import Any

import asyncpg
import httpx
from sqlalchemy.engine import make_url

from selaras_registry.demo import generate_rows
from selaras_registry.imports.writer import HOUSEHOLD_COLUMNS, MEMBER_COLUMNS
from selaras_registry.regions import fold

DEFAULT_SERVER = "postgresql://postgres@127.0.0.1:5432/postgres"


def server_url() -> str:
    """The PostgreSQL server the benchmarks use (SELARAS_BENCH_POSTGRES_URL)."""
    return os.environ.get("SELARAS_BENCH_POSTGRES_URL", DEFAULT_SERVER)


async def fresh_database(name: str) -> str:
    """Drop and create database `name`; returns its SQLAlchemy asyncpg URL."""
    admin = make_url(server_url())
    connection = await asyncpg.connect(
        host=admin.host, port=admin.port or 5432, user=admin.username, database=admin.database
    )
    try:
        await connection.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        await connection.execute(f'CREATE DATABASE "{name}"')
    finally:
        await connection.close()
    url = admin.set(drivername="postgresql+asyncpg", database=name)
    return url.render_as_string(hide_password=False)


async def drop_database(name: str) -> None:
    """Drop database `name` if it exists."""
    admin = make_url(server_url())
    connection = await asyncpg.connect(
        host=admin.host, port=admin.port or 5432, user=admin.username, database=admin.database
    )
    try:
        await connection.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    finally:
        await connection.close()


def free_port() -> int:
    """A TCP port free on loopback right now."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@contextlib.contextmanager
def served(
    argv: list[str], port: int, env: dict[str, str] | None = None, ready: str = "/healthz"
) -> Iterator[subprocess.Popen[bytes]]:
    """Run a server process until the block ends; waits until `ready` answers 200."""
    process = subprocess.Popen(
        argv, env={**os.environ, **(env or {})}, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE
    )
    try:
        deadline = time.monotonic() + 60
        while True:
            if process.poll() is not None:
                error = process.stderr.read().decode() if process.stderr else ""
                raise SystemExit(f"{argv} exited with {process.returncode}:\n{error[-2000:]}")
            try:
                if httpx.get(f"http://127.0.0.1:{port}{ready}", timeout=1).status_code == 200:
                    break
            except httpx.TransportError:
                pass
            if time.monotonic() > deadline:
                raise SystemExit(f"{argv} did not answer on port {port}")
            time.sleep(0.2)
        yield process
    finally:
        process.terminate()
        try:
            process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            process.kill()


def peak_rss_mib(children: bool = False) -> float:
    """Peak resident memory of this process (or of its finished children), in MiB."""
    who = resource.RUSAGE_CHILDREN if children else resource.RUSAGE_SELF
    return resource.getrusage(who).ru_maxrss / 1024


PYTHON = sys.executable

# --- loading the registry with COPY ------------------------------------------------------

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


def _csv_chunks(
    count: int, regencies: Iterable[str] | None = None
) -> Iterator[tuple[bytes, bytes, bytes, int]]:
    """CSV text of households, members and versions, `CHUNK` households at a time."""
    now = datetime.now(UTC).isoformat()
    rows = generate_rows(count, regencies=regencies)
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


async def load_households(
    connection: asyncpg.Connection, count: int, regencies: Iterable[str] | None = None
) -> int:
    """Load `count` synthetic households (in `regencies`, by default all the demo's), their
    members and one version row each (empty documents: the snapshot reads the tables) with
    COPY; returns the member count."""
    members = 0
    started = time.perf_counter()
    for households_csv, members_csv, versions_csv, member_count in _csv_chunks(count, regencies):
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
