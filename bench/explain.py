"""Benchmark: explain one household against the whole demo catalogue.

Two figures, each next to a baseline measured in the same run (not part of the tests):
- in-process: the median time to evaluate every demo programme's published rule set for one
  household (target 1 ms or less), against a bare Python check of one field per programme;
- over HTTP: the median time of `POST /eligibility/explain` with a household id, through real
  uvicorn processes of the registry and the eligibility service on the embedded default
  (SQLite), including the registry fetch (target 20 ms or less), against the eligibility
  service's `/healthz` and the registry's `GET /households/{id}` in the same run.

    .tools/bin/uv run python bench/explain.py [--households 2000] [--requests 300]
"""

from __future__ import annotations

import argparse
import asyncio
import os
import statistics
import tempfile
import time
from datetime import date
from pathlib import Path
from typing import Any

import httpx
from common import PYTHON, free_port, served
from sqlalchemy import select

from selaras_eligibility.cli import load_files
from selaras_eligibility.cli import migrate as migrate_eligibility
from selaras_eligibility.models import RuleSet
from selaras_eligibility.rules.explain import evaluate
from selaras_eligibility.service.explain import compiled_rule_set
from selaras_eligibility.settings import EligibilitySettings
from selaras_registry.cli import load_demo
from selaras_registry.cli import migrate as migrate_registry
from selaras_registry.demo import generate_rows
from selaras_registry.settings import RegistrySettings
from selaras_shared.auth import Principal, Role, mint_token
from selaras_shared.db import make_engine

CATALOGUE = Path(__file__).parent.parent / "services/eligibility/demo/catalogue.yaml"
SECRET = "bench-secret-0123456789-0123456789-abcdef"
ON = date(2026, 11, 22)


def _median_ms(samples: list[float]) -> float:
    return statistics.median(samples) * 1000


def _p90_ms(samples: list[float]) -> float:
    return statistics.quantiles(samples, n=10)[-1] * 1000


async def _published(url: str) -> list[RuleSet]:
    engine = make_engine(url)
    try:
        async with engine.connect() as connection:
            rows = await connection.execute(
                select(RuleSet).where(RuleSet.status == "published")  # type: ignore[arg-type]
            )
            return [RuleSet(**row._mapping) for row in rows]
    finally:
        await engine.dispose()


def in_process(rule_sets: list[Any], households: list[dict[str, Any]]) -> tuple[float, float]:
    """Median seconds per household: every rule set, and the bare baseline."""
    compiled = [compiled_rule_set(r) for r in rule_sets]
    timed, bare = [], []
    for household in households:
        started = time.perf_counter()
        for rule_set in compiled:
            evaluate(rule_set, household, ON)
        timed.append(time.perf_counter() - started)
        started = time.perf_counter()
        for _ in compiled:
            desil = household.get("desil")
            _ = desil is not None and desil <= 4
        bare.append(time.perf_counter() - started)
    return statistics.median(timed), statistics.median(bare)


def over_http(tmp: Path, requests: int) -> dict[str, list[float]]:
    """Per-request seconds of explain, and of the two baselines, through real processes."""
    registry_url = f"sqlite+aiosqlite:///{tmp / 'registry.db'}"
    eligibility_url = f"sqlite+aiosqlite:///{tmp / 'eligibility.db'}"
    registry_port, eligibility_port = free_port(), free_port()
    env = {
        "SELARAS_AUTH_JWT_SECRET": SECRET,
        "SELARAS_REGISTRY_DATABASE_URL": registry_url,
        "SELARAS_REGISTRY_IMPORT_DIR": str(tmp / "imports"),
        "SELARAS_REGISTRY_LOG_LEVEL": "WARNING",
        "SELARAS_ELIGIBILITY_DATABASE_URL": eligibility_url,
        "SELARAS_ELIGIBILITY_REGISTRY_URL": f"http://127.0.0.1:{registry_port}",
        "SELARAS_ELIGIBILITY_LOG_LEVEL": "WARNING",
    }
    registry = RegistrySettings(database_url=registry_url)
    migrate_registry(registry)
    asyncio.run(load_demo(registry, 500, seed=2016))
    token = mint_token(Principal(subject="bench", role=Role.front_office, jurisdiction=""), SECRET)
    headers = {"Authorization": f"Bearer {token}"}
    times: dict[str, list[float]] = {"explain": [], "healthz": [], "registry": []}
    with (
        served(
            [PYTHON, "-m", "selaras_registry", "serve", "--port", str(registry_port)],
            registry_port,
            env,
        ),
        served(
            [PYTHON, "-m", "selaras_eligibility", "serve", "--port", str(eligibility_port)],
            eligibility_port,
            env,
        ),
        httpx.Client(headers=headers, timeout=30) as client,
    ):
        found = client.get(
            f"http://127.0.0.1:{registry_port}/api/v1/households", params={"limit": 200}
        ).json()["items"]
        ids = [h["id"] for h in found]
        explain = f"http://127.0.0.1:{eligibility_port}/api/v1/eligibility/explain"
        for i in range(requests + 20):
            household_id = ids[i % len(ids)]
            calls = {
                "explain": lambda h=household_id: client.post(explain, json={"household_id": h}),
                "healthz": lambda: client.get(f"http://127.0.0.1:{eligibility_port}/healthz"),
                "registry": lambda h=household_id: client.get(
                    f"http://127.0.0.1:{registry_port}/api/v1/households/{h}"
                ),
            }
            for name, call in calls.items():
                started = time.perf_counter()
                response = call()
                spent = time.perf_counter() - started
                response.raise_for_status()
                if i >= 20:  # the first requests warm the processes up
                    times[name].append(spent)
    return times


def main() -> None:
    """Run the benchmark and print its figures."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--households", type=int, default=2000)
    parser.add_argument("--requests", type=int, default=300)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as directory:
        tmp = Path(directory)
        os.environ["SELARAS_ELIGIBILITY_DATABASE_URL"] = f"sqlite+aiosqlite:///{tmp}/eligibility.db"
        settings = EligibilitySettings()
        migrate_eligibility(settings)
        asyncio.run(load_files(settings, [CATALOGUE], publish=True))
        rule_sets = asyncio.run(_published(settings.database_url))
        households = list(generate_rows(args.households))
        median, bare = in_process(rule_sets, households)
        times = over_http(tmp, args.requests)
    print(f"programmes (published rule sets)  {len(rule_sets):>8}")
    print(
        f"in-process, per household         {median * 1000:>8.3f} ms median  "
        f"(bare check {bare * 1e6:.1f} us, ratio {median / bare:,.0f}x)  target <= 1 ms"
    )
    print(
        f"over HTTP, explain by id          {_median_ms(times['explain']):>8.1f} ms median, "
        f"p90 {_p90_ms(times['explain']):.1f} ms  target <= 20 ms"
    )
    print(f"  baseline: eligibility /healthz  {_median_ms(times['healthz']):>8.1f} ms median")
    print(f"  baseline: registry GET by id    {_median_ms(times['registry']):>8.1f} ms median")


if __name__ == "__main__":
    main()
