"""Benchmark: GET one household by id under 64 concurrent clients, on PostgreSQL.

Serves the registry with uvicorn on a fresh PostgreSQL database holding demo households, and
a bare FastAPI app returning a constant with the same uvicorn setup (`bench/bare_app.py`),
then drives both with `wrk` (64 connections, random household ids, a front-office token, so
every read is also written to the access log). Prints requests/s of each, their ratio
(target >= 0.4) and the registry's latency percentiles (target p99 <= 50 ms).
Not part of the test suite. Needs `wrk` (Debian package `wrk`).

    .tools/bin/uv run python bench/get_household.py [--households 5000] [--seconds 15]
"""

from __future__ import annotations

import argparse
import asyncio
import random
import re
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

from common import PYTHON, drop_database, free_port, fresh_database, served
from sqlalchemy import select

from selaras_registry.cli import load_demo, migrate
from selaras_registry.models import Household
from selaras_registry.settings import RegistrySettings
from selaras_shared.auth import Principal, Role, mint_token
from selaras_shared.db import make_engine

DATABASE = "selaras_bench_get"
SECRET = "bench-secret-0123456789-0123456789-abcdef"

_WRK_SCRIPT = """
local ids = {}
for line in io.lines("%(ids)s") do ids[#ids + 1] = line end
math.randomseed(2016)
request = function()
  local id = ids[math.random(#ids)]
  return wrk.format("GET", "%(prefix)s" .. id, {["Authorization"] = "Bearer %(token)s"})
end
"""

_UNITS = {"us": 1e-3, "ms": 1.0, "s": 1000.0}


async def _prepare(households: int) -> tuple[str, list[str]]:
    url = await fresh_database(DATABASE)
    settings = RegistrySettings(database_url=url)
    await asyncio.to_thread(migrate, settings)
    await load_demo(settings, households, seed=2016)
    engine = make_engine(url)
    async with engine.connect() as connection:
        ids = [str(i) for i in (await connection.scalars(select(Household.id))).all()]
    await engine.dispose()
    return url, ids


def _wrk(url_prefix: str, ids_file: Path, token: str, port: int, seconds: int) -> dict[str, float]:
    script = Path(ids_file.parent, f"get-{port}.lua")
    script.write_text(_WRK_SCRIPT % {"ids": ids_file, "prefix": url_prefix, "token": token})
    output = subprocess.run(
        [
            "wrk",
            "-t2",
            "-c64",
            f"-d{seconds}s",
            "--latency",
            "-s",
            str(script),
            f"http://127.0.0.1:{port}",
        ],
        check=True,
        capture_output=True,
        text=True,
    ).stdout
    figures = {"rps": float(re.search(r"Requests/sec:\s+([\d.]+)", output).group(1))}  # type: ignore[union-attr]
    for label in ("50", "90", "99"):
        value, unit = re.search(rf"\s{label}%\s+([\d.]+)(us|ms|s)", output).groups()  # type: ignore[union-attr]
        figures[f"p{label}"] = float(value) * _UNITS[unit]
    errors = re.search(r"Non-2xx or 3xx responses: (\d+)", output)
    figures["non_2xx"] = float(errors.group(1)) if errors else 0.0
    return figures


def main() -> None:
    """Run the benchmark and print its figures."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--households", type=int, default=5000)
    parser.add_argument("--seconds", type=int, default=15)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--keep", action="store_true", help="keep the database afterwards")
    args = parser.parse_args()
    if shutil.which("wrk") is None:
        sys.exit("wrk is needed: apt-get install wrk")

    url, ids = asyncio.run(_prepare(args.households))
    token = mint_token(Principal(subject="bench", role=Role.front_office, jurisdiction=""), SECRET)
    with tempfile.TemporaryDirectory() as tmp:
        ids_file = Path(tmp, "ids.txt")
        ids_file.write_text("\n".join(random.Random(1).sample(ids, len(ids))) + "\n")
        uvicorn_args = ["--workers", str(args.workers)]
        bare_port = free_port()
        with served(
            [
                PYTHON,
                "-m",
                "uvicorn",
                "--app-dir",
                str(Path(__file__).parent),
                "bare_app:app",
                "--port",
                str(bare_port),
                "--log-level",
                "warning",
                "--no-access-log",
                *uvicorn_args,
            ],
            bare_port,
        ):
            bare = _wrk("/constant/", ids_file, token, bare_port, args.seconds)
        port = free_port()
        env = {
            "SELARAS_REGISTRY_DATABASE_URL": url,
            "SELARAS_AUTH_JWT_SECRET": SECRET,
            "SELARAS_REGISTRY_LOG_LEVEL": "WARNING",
        }
        with served(
            [PYTHON, "-m", "selaras_registry", "serve", "--port", str(port), *uvicorn_args],
            port,
            env,
        ):
            registry = _wrk("/api/v1/households/", ids_file, token, port, args.seconds)
    if not args.keep:
        asyncio.run(drop_database(DATABASE))

    ratio = registry["rps"] / bare["rps"]
    print(f"households in database   {len(ids):>10,}")
    print(f"uvicorn workers          {args.workers:>10}")
    print(f"bare FastAPI constant    {bare['rps']:>10,.0f} req/s")
    print(
        f"GET /households/{{id}}     {registry['rps']:>10,.0f} req/s   "
        f"non-2xx {registry['non_2xx']:.0f}"
    )
    print(f"ratio to baseline        {ratio:>10.2f}      (target >= 0.40)")
    print(
        f"latency p50 / p90 / p99  {registry['p50']:.1f} / {registry['p90']:.1f} / "
        f"{registry['p99']:.1f} ms   (target p99 <= 50 ms)"
    )


if __name__ == "__main__":
    main()
