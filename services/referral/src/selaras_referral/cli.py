"""`selaras-referral`: migrate the database, run the SLA sweep, serve the API."""

from __future__ import annotations

import argparse
import asyncio

from selaras_referral.service.sla import SweepReport, sweep
from selaras_referral.settings import ReferralSettings
from selaras_shared.db import make_engine, make_sessionmaker, utcnow
from selaras_shared.migrations import upgrade

MIGRATIONS = "selaras_referral:migrations"


def migrate(settings: ReferralSettings) -> None:
    """Bring the referral database to the latest migration."""
    upgrade(MIGRATIONS, settings.database_url)


async def run_sweep(settings: ReferralSettings) -> SweepReport:
    """One SLA sweep over the configured database, committed."""
    engine = make_engine(settings.database_url, pool_size=1)
    try:
        async with make_sessionmaker(engine)() as session:
            report = await sweep(session, settings, utcnow())
            await session.commit()
        return report
    finally:
        await engine.dispose()


def main(argv: list[str] | None = None) -> int:
    """Entry point."""
    parser = argparse.ArgumentParser(prog="selaras-referral", description=__doc__)
    commands = parser.add_subparsers(dest="command", required=True)
    commands.add_parser("migrate", help="apply database migrations")
    commands.add_parser(
        "sweep", help="escalate overdue referrals and expire unanswered ones (run from cron)"
    )
    serve = commands.add_parser("serve", help="run the API with uvicorn")
    serve.add_argument("--host", default="127.0.0.1")
    serve.add_argument("--port", type=int, default=None)
    serve.add_argument("--workers", type=int, default=1)
    args = parser.parse_args(argv)
    settings = ReferralSettings()

    if args.command == "migrate":
        migrate(settings)
        return 0
    if args.command == "sweep":
        report = asyncio.run(run_sweep(settings))
        print(f"escalated {report.escalated}, expired {report.expired}")
        return 0
    import uvicorn

    uvicorn.run(
        "selaras_referral.app:create_app",
        factory=True,
        host=args.host,
        port=args.port or settings.port,
        workers=args.workers,
        access_log=False,
    )
    return 0
