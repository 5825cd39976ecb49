"""Benchmark: 32 concurrent clients each register a case with two referrals and drive both
to closed (request, accept, start, complete, close), on PostgreSQL.

Three real uvicorn processes on fresh PostgreSQL databases: the registry (demo households),
the eligibility service (demo catalogue) and the referral service, whose case creation and
referrals ask the other two over HTTP as deployed. The baseline is the bare FastAPI
constant endpoint (`bench/bare_app.py`) under the same 32 clients in the same run. Prints
p50/p99 per request kind and per whole operation (one case: 13 requests), and the ratio to
the baseline. Target p99 <= 50 ms per request. Not part of the test suite.

    .tools/bin/uv run python bench/referral_flow.py [--cases-per-client 6] [--clients 32]
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import time
from collections import defaultdict
from contextlib import ExitStack
from pathlib import Path
from typing import Any

import httpx
from common import PYTHON, drop_database, free_port, fresh_database, served

from selaras_eligibility.cli import load_files
from selaras_eligibility.cli import migrate as migrate_eligibility
from selaras_eligibility.settings import EligibilitySettings
from selaras_referral.cli import migrate as migrate_referral
from selaras_referral.settings import ReferralSettings
from selaras_registry.cli import load_demo
from selaras_registry.cli import migrate as migrate_registry
from selaras_registry.settings import RegistrySettings
from selaras_shared.auth import Principal, Role, mint_token

CATALOGUE = Path(__file__).parent.parent / "services/eligibility/demo/catalogue.yaml"
SECRET = "bench-secret-0123456789-0123456789-abcdef"
#: Two programmes of one owner sent without a manager's approval.
PROGRAMS = ("PKH", "BPNT")
OWNER = "kemensos"
DATABASES = ("bench_flow_registry", "bench_flow_eligibility", "bench_flow_referral")


def _token(role: Role, organization: str | None = None) -> dict[str, str]:
    principal = Principal(
        subject=f"bench-{role.value}", role=role, jurisdiction="", organization=organization
    )
    return {"Authorization": f"Bearer {mint_token(principal, SECRET)}"}


def _ms(samples: list[float], q: int) -> float:
    return statistics.quantiles(samples, n=100)[q - 1] * 1000


class Timer:
    """Per-kind request latencies."""

    def __init__(self) -> None:
        self.samples: dict[str, list[float]] = defaultdict(list)

    async def call(
        self, kind: str, client: httpx.AsyncClient, method: str, url: str, **kw: Any
    ) -> dict[str, Any]:
        """Send one request, record its latency, insist on success."""
        started = time.perf_counter()
        response = await client.request(method, url, **kw)
        self.samples[kind].append(time.perf_counter() - started)
        if response.status_code >= 300:
            raise SystemExit(f"{method} {url}: {response.status_code} {response.text[:500]}")
        body: dict[str, Any] = response.json()
        return body


async def one_case(
    timer: Timer, client: httpx.AsyncClient, base: str, household: dict[str, Any]
) -> None:
    """A case, two referrals, both driven to closed."""
    fo, partner = _token(Role.front_office), _token(Role.partner, OWNER)
    case = await timer.call(
        "create case",
        client,
        "POST",
        f"{base}/cases",
        headers=fo,
        json={
            "household_id": household["id"],
            "village_code": household["village_code"],
            "channel": "puskesos_walk_in",
            "type": "service_request",
            "sector": "social",
            "description": "bench",
            "consent": {"scope": ["referral"], "given_at": "2026-11-20", "given_by": "KK"},
        },
    )
    for program in PROGRAMS:
        made = await timer.call(
            "create referral",
            client,
            "POST",
            f"{base}/referrals",
            headers=fo,
            json={"case_id": case["id"], "program": program},
        )
        for to, headers, extra in (
            ("requested", fo, {}),
            ("accepted", partner, {}),
            ("in_progress", partner, {}),
            (
                "completed",
                partner,
                {"outcome": {"service_delivered": "bench", "amount_rupiah": 100_000}},
            ),
            ("closed", fo, {}),
        ):
            await timer.call(
                f"transition {to}",
                client,
                "POST",
                f"{base}/referrals/{made['id']}/transitions",
                headers=headers,
                json={"to": to, **extra},
            )


async def drive_flows(
    base: str, households: list[dict[str, Any]], clients: int, per_client: int
) -> tuple[Timer, list[float]]:
    """`clients` concurrent clients, each running `per_client` whole operations."""
    timer, operations = Timer(), []
    limits = httpx.Limits(max_connections=clients, max_keepalive_connections=clients)
    async with httpx.AsyncClient(timeout=60, limits=limits) as client:

        async def worker(index: int) -> None:
            for n in range(per_client):
                started = time.perf_counter()
                await one_case(
                    timer, client, base, households[(index * per_client + n) % len(households)]
                )
                operations.append(time.perf_counter() - started)

        await asyncio.gather(*(worker(i) for i in range(clients)))
    return timer, operations


async def drive_baseline(url: str, clients: int, requests: int) -> list[float]:
    """The bare constant endpoint under the same concurrency."""
    samples: list[float] = []
    limits = httpx.Limits(max_connections=clients, max_keepalive_connections=clients)
    async with httpx.AsyncClient(timeout=60, limits=limits) as client:

        async def worker() -> None:
            for _ in range(requests):
                started = time.perf_counter()
                (await client.get(url)).raise_for_status()
                samples.append(time.perf_counter() - started)

        await asyncio.gather(*(worker() for _ in range(clients)))
    return samples


def main() -> None:
    """Set up, run, print."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--clients", type=int, default=32)
    parser.add_argument("--cases-per-client", type=int, default=6)
    parser.add_argument("--households", type=int, default=400)
    args = parser.parse_args()
    registry_url, eligibility_url, referral_url = (
        asyncio.run(fresh_database(name)) for name in DATABASES
    )
    registry = RegistrySettings(database_url=registry_url)
    migrate_registry(registry)
    asyncio.run(load_demo(registry, args.households, seed=2016))
    eligibility = EligibilitySettings(database_url=eligibility_url)
    migrate_eligibility(eligibility)
    asyncio.run(load_files(eligibility, [CATALOGUE], publish=True))
    migrate_referral(ReferralSettings(database_url=referral_url))

    ports = {name: free_port() for name in ("registry", "eligibility", "referral", "bare")}
    env = {
        "SELARAS_AUTH_JWT_SECRET": SECRET,
        "SELARAS_REGISTRY_DATABASE_URL": registry_url,
        "SELARAS_REGISTRY_LOG_LEVEL": "WARNING",
        "SELARAS_ELIGIBILITY_DATABASE_URL": eligibility_url,
        "SELARAS_ELIGIBILITY_REGISTRY_URL": f"http://127.0.0.1:{ports['registry']}",
        "SELARAS_ELIGIBILITY_LOG_LEVEL": "WARNING",
        "SELARAS_REFERRAL_DATABASE_URL": referral_url,
        "SELARAS_REFERRAL_REGISTRY_URL": f"http://127.0.0.1:{ports['registry']}",
        "SELARAS_REFERRAL_ELIGIBILITY_URL": f"http://127.0.0.1:{ports['eligibility']}",
        "SELARAS_REFERRAL_LOG_LEVEL": "WARNING",
        "SELARAS_REFERRAL_SWEEP_INTERVAL_SECONDS": "0",
    }
    try:
        with ExitStack() as stack:
            for service in ("registry", "eligibility", "referral"):
                port = str(ports[service])
                stack.enter_context(
                    served(
                        [PYTHON, "-m", f"selaras_{service}", "serve", "--port", port],
                        ports[service],
                        env,
                    )
                )
            stack.enter_context(
                served(
                    [
                        PYTHON,
                        "-m",
                        "uvicorn",
                        "--app-dir",
                        str(Path(__file__).parent),
                        "bare_app:app",
                        "--port",
                        str(ports["bare"]),
                        "--log-level",
                        "warning",
                        "--no-access-log",
                    ],
                    ports["bare"],
                )
            )
            listed = httpx.get(
                f"http://127.0.0.1:{ports['registry']}/api/v1/households",
                params={"limit": 200},
                headers=_token(Role.front_office),
                timeout=30,
            ).json()["items"]
            base = f"http://127.0.0.1:{ports['referral']}/api/v1"
            asyncio.run(drive_flows(base, listed, 4, 1))  # warm-up
            timer, operations = asyncio.run(
                drive_flows(base, listed, args.clients, args.cases_per_client)
            )
            bare = asyncio.run(
                drive_baseline(f"http://127.0.0.1:{ports['bare']}/constant/x", args.clients, 100)
            )
    finally:
        for name in DATABASES:
            asyncio.run(drop_database(name))

    every = [s for samples in timer.samples.values() for s in samples]
    bare_p50, bare_p99 = _ms(bare, 50), _ms(bare, 99)
    print(
        f"clients {args.clients}, cases {args.clients * args.cases_per_client}, "
        f"requests {len(every)}"
    )
    print(f"{'request':<26}{'n':>7}{'p50 ms':>10}{'p99 ms':>10}{'p99/bare':>10}")
    for kind, samples in sorted(timer.samples.items()):
        print(
            f"{kind:<26}{len(samples):>7}{_ms(samples, 50):>10.1f}{_ms(samples, 99):>10.1f}"
            f"{_ms(samples, 99) / bare_p99:>10.1f}"
        )
    print(
        f"{'every request':<26}{len(every):>7}{_ms(every, 50):>10.1f}{_ms(every, 99):>10.1f}"
        f"{_ms(every, 99) / bare_p99:>10.1f}   target p99 <= 50 ms"
    )
    print(
        f"{'operation (13 requests)':<26}{len(operations):>7}{_ms(operations, 50):>10.1f}"
        f"{_ms(operations, 99):>10.1f}"
    )
    print(f"{'baseline: bare constant':<26}{len(bare):>7}{bare_p50:>10.1f}{bare_p99:>10.1f}")


if __name__ == "__main__":
    main()
