"""The eligibility app: `create_app()` assembles the routes on the shared service frame."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI

from selaras_eligibility.api import router
from selaras_eligibility.clients import RegistryClient
from selaras_eligibility.documents import YAML_MEDIA_TYPES
from selaras_eligibility.screening.runner import ScreeningRunner
from selaras_eligibility.settings import EligibilitySettings
from selaras_shared.app import build_service_app
from selaras_shared.settings import AuthSettings

PROGRAMS_PATH = "/api/v1/programs/"


def create_app(
    settings: EligibilitySettings | None = None, auth: AuthSettings | None = None
) -> FastAPI:
    """Build the eligibility service (port 8002 by default)."""
    settings = settings or EligibilitySettings()
    app = build_service_app(
        title="Selaras eligibility",
        description="Organisations, programmes and their versioned eligibility rule sets.",
        settings=settings,
        auth=auth or AuthSettings(),
        routers=[router],
        # Rule-set documents may be sent as YAML, as they are written in files.
        other_media_types={PROGRAMS_PATH: YAML_MEDIA_TYPES},
    )
    frame_lifespan = app.router.lifespan_context

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        # One pooled registry client for the app's life, around the shared frame's resources.
        async with frame_lifespan(app):
            app.state.registry = RegistryClient.from_settings(settings)
            app.state.screening_runner = screening_runner(app, settings)
            if settings.screening_runner:
                app.state.screening_runner.start()
            try:
                yield
            finally:
                await app.state.screening_runner.stop()
                await app.state.registry.aclose()

    app.router.lifespan_context = lifespan
    return app


def screening_runner(app: FastAPI, settings: EligibilitySettings) -> ScreeningRunner:
    """The screening job runner over the app's sessions and registry client."""
    return ScreeningRunner(
        app.state.sessionmaker,
        app.state.registry,
        data_dir=settings.data_dir,
        stale_seconds=settings.screening_stale_seconds,
        heartbeat_seconds=settings.screening_heartbeat_seconds,
    )
