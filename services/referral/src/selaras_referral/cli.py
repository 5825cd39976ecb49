"""`selaras-referral`: migrate the database, run the SLA sweep, serve the API, deliver
webhooks, reseal webhook secrets."""

from __future__ import annotations

import argparse
import asyncio
import signal
import sys

from selaras_referral.egress import webhook_client
from selaras_referral.sealing import Sealer, SecretUnreadable
from selaras_referral.service.delivery import Dispatcher
from selaras_referral.service.sla import SweepReport, sweep
from selaras_referral.service.webhooks import reseal_secrets
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


async def deliver(settings: ReferralSettings, *, once: bool) -> int:
    """Deliver webhooks: what is due now (`once`), or until SIGINT/SIGTERM; returns how
    many deliveries were sent (with `once`)."""
    engine = make_engine(
        settings.database_url,
        pool_size=settings.db_pool_size,
        max_overflow=settings.db_max_overflow,
    )
    try:
        async with webhook_client(settings) as http:
            dispatcher = Dispatcher(make_sessionmaker(engine), http, settings)
            if once:
                return await dispatcher.run_until_idle()
            stop = asyncio.Event()
            loop = asyncio.get_running_loop()
            for signum in (signal.SIGINT, signal.SIGTERM):
                loop.add_signal_handler(signum, stop.set)
            await dispatcher.run(stop)
            return 0
    finally:
        await engine.dispose()


async def reseal(settings: ReferralSettings) -> int:
    """Seal every webhook secret with the newest configured key, in one transaction;
    returns how many."""
    engine = make_engine(settings.database_url, pool_size=1)
    try:
        async with make_sessionmaker(engine)() as session:
            count = await reseal_secrets(session, Sealer.from_settings(settings))
            await session.commit()
        return count
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
    deliver_command = commands.add_parser(
        "deliver", help="send due webhook deliveries (alongside or instead of the API's)"
    )
    deliver_command.add_argument(
        "--once", action="store_true", help="send what is due now, then exit"
    )
    commands.add_parser(
        "reseal", help="seal every webhook secret with the newest key (after adding a key)"
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
    if args.command == "deliver":
        sent = asyncio.run(deliver(settings, once=args.once))
        if args.once:
            print(f"{sent} deliveries sent", file=sys.stderr)
        return 0
    if args.command == "reseal":
        try:
            count = asyncio.run(reseal(settings))
        except SecretUnreadable as exc:
            print(f"nothing changed: {exc}; configure the key it was sealed with", file=sys.stderr)
            return 1
        print(f"{count} webhook secrets sealed with the newest key")
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
