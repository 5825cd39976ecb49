"""`selaras-registry`: migrate the database, load demo data, serve the API."""

from __future__ import annotations

import argparse
import asyncio
import sys
import time

from selaras_registry.settings import RegistrySettings
from selaras_shared.auth import Principal, Role
from selaras_shared.db import make_engine, make_sessionmaker
from selaras_shared.migrations import upgrade

MIGRATIONS = "selaras_registry:migrations"


def migrate(settings: RegistrySettings) -> None:
    """Bring the registry database to the latest migration."""
    upgrade(MIGRATIONS, settings.database_url)


async def load_demo(
    settings: RegistrySettings, households: int, seed: int, batch: int = 250
) -> int:
    """Register `households` synthetic households through the service; returns how many
    were added (0 when the same demo set is already there)."""
    from selaras_registry.demo import generate
    from selaras_registry.models import Household
    from selaras_registry.service import Caller, RegistryService

    loader = Caller(
        Principal(subject="demo-loader", role=Role.manager, jurisdiction=""), source="demo"
    )
    engine = make_engine(settings.database_url)
    sessions = make_sessionmaker(engine)
    added = 0
    try:
        pending = list(generate(households, seed=seed))
        async with sessions() as session:
            first = pending[0].id if pending else None
            if first is not None and await session.get(Household, first) is not None:
                return 0
        for start in range(0, len(pending), batch):
            async with sessions.begin() as session:
                service = RegistryService(session, loader)
                for household in pending[start : start + batch]:
                    await service.create(household)
                    added += 1
    finally:
        await engine.dispose()
    return added


def main(argv: list[str] | None = None) -> int:
    """Entry point."""
    parser = argparse.ArgumentParser(prog="selaras-registry", description=__doc__)
    commands = parser.add_subparsers(dest="command", required=True)
    commands.add_parser("migrate", help="apply database migrations")
    demo = commands.add_parser("demo", help="load deterministic synthetic households")
    demo.add_argument("--households", type=int, default=3000)
    demo.add_argument("--seed", type=int, default=2016)
    serve = commands.add_parser("serve", help="run the API with uvicorn")
    serve.add_argument("--host", default="127.0.0.1")
    serve.add_argument("--port", type=int, default=None)
    serve.add_argument("--workers", type=int, default=1)
    args = parser.parse_args(argv)
    settings = RegistrySettings()

    if args.command == "migrate":
        migrate(settings)
        return 0
    if args.command == "demo":
        started = time.perf_counter()
        added = asyncio.run(load_demo(settings, args.households, args.seed))
        elapsed = time.perf_counter() - started
        print(f"registry demo data: {added} households added in {elapsed:.1f}s", file=sys.stderr)
        return 0
    import uvicorn

    uvicorn.run(
        "selaras_registry.app:create_app",
        factory=True,
        host=args.host,
        port=args.port or settings.port,
        workers=args.workers,
        access_log=False,
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
