"""The referral app: `create_app()` assembles the routes on the shared service frame."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI

from selaras_referral.api import router
from selaras_referral.clock import system_clock
from selaras_referral.service.delivery import with_webhook_dispatcher
from selaras_referral.service.upstream import Upstream
from selaras_referral.settings import ReferralSettings
from selaras_shared.app import build_service_app
from selaras_shared.settings import AuthSettings


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
            try:
                yield
            finally:
                await app.state.upstream.aclose()

    app.router.lifespan_context = lifespan
    # Webhooks: an HTTP client for receivers and the outbox dispatcher (see service/delivery).
    app.router.lifespan_context = with_webhook_dispatcher(app.router.lifespan_context, settings)
    return app
