"""The referral app: `create_app()` assembles the routes on the shared service frame."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI

from selaras_referral.api import router
from selaras_referral.clock import system_clock
from selaras_referral.service.delivery import with_webhook_dispatcher
from selaras_referral.service.sla import sweep
from selaras_referral.service.upstream import Upstream
from selaras_referral.settings import ReferralSettings
from selaras_shared.app import build_service_app
from selaras_shared.settings import AuthSettings

_log = logging.getLogger("selaras.referral.sweep")


async def sweep_forever(app: FastAPI, interval: float) -> None:
    """Run the SLA sweep every `interval` seconds for the app's life. Replicas may sweep at
    once: every change is a conditional UPDATE, so a breach is still escalated once."""
    while True:
        await asyncio.sleep(interval)
        try:
            async with app.state.sessionmaker() as session:
                report = await sweep(session, app.state.settings, app.state.clock())
                await session.commit()
            if report.escalated or report.expired:
                _log.info("sweep: escalated %d, expired %d", report.escalated, report.expired)
        except Exception:  # a failed sweep must not end the loop; the next one retries
            _log.exception("SLA sweep failed")


def create_app(
    settings: ReferralSettings | None = None, auth: AuthSettings | None = None
) -> FastAPI:
    """Build the referral service (port 8003 by default)."""
    settings = settings or ReferralSettings()
    app = build_service_app(
        title="Selaras referral",
        description="Intake cases, closed-loop referrals with SLAs, partner webhooks and audit.",
        settings=settings,
        auth=auth or AuthSettings(),
        routers=[router],
    )
    app.state.clock = system_clock
    frame_lifespan = app.router.lifespan_context

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        # Pooled registry and eligibility clients for the app's life, around the frame's.
        async with frame_lifespan(app):
            app.state.upstream = Upstream.from_settings(settings)
            sweeper = (
                asyncio.create_task(sweep_forever(app, settings.sweep_interval_seconds))
                if settings.sweep_interval_seconds > 0
                else None
            )
            try:
                yield
            finally:
                if sweeper is not None:
                    sweeper.cancel()
                    with contextlib.suppress(asyncio.CancelledError):
                        await sweeper
                await app.state.upstream.aclose()

    app.router.lifespan_context = lifespan
    # Webhooks: an HTTP client for receivers and the outbox dispatcher (see service/delivery).
    app.router.lifespan_context = with_webhook_dispatcher(app.router.lifespan_context, settings)
    return app
