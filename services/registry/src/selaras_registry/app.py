"""The registry app: `create_app()` assembles routes on the shared service frame, and its
lifespan opens the export engine and starts the import job runner."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI

from selaras_registry.api import router
from selaras_registry.api.imports import MEDIA_TYPES
from selaras_registry.imports.runner import ImportRunner
from selaras_registry.settings import RegistrySettings
from selaras_shared.app import build_service_app
from selaras_shared.db import is_sqlite, make_engine
from selaras_shared.settings import AuthSettings

IMPORTS_PATH = "/api/v1/imports"
#: A sync batch carries up to 500 whole households.
SYNC_MAX_BYTES = 8 * 1024 * 1024


def create_app(
    settings: RegistrySettings | None = None, auth: AuthSettings | None = None
) -> FastAPI:
    """Build the registry service (port 8001 by default)."""
    settings = settings or RegistrySettings()
    app = build_service_app(
        title="Selaras registry",
        description="Households (keluarga), members, regions, history, bulk import and access log.",
        settings=settings,
        auth=auth or AuthSettings(),
        routers=[router],
        other_media_types={IMPORTS_PATH: tuple(MEDIA_TYPES)},
        max_bytes_by_path={
            IMPORTS_PATH: settings.import_max_bytes,
            "/api/v1/sync": SYNC_MAX_BYTES,
        },
    )
    frame = app.router.lifespan_context

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        async with frame(app):
            # Exports stream for as long as the client reads, on connections of their own:
            # they never hold the pooled ones that every other request waits for.
            exports = app.state.engine
            if not is_sqlite(settings.database_url):
                exports = make_engine(settings.database_url, pooled=False)
            app.state.export_engine = exports
            runner = None
            if settings.import_runner:
                runner = import_runner(app, settings)
                runner.start()
            app.state.import_runner = runner
            try:
                yield
            finally:
                if runner is not None:
                    await runner.stop()
                if exports is not app.state.engine:
                    await exports.dispose()

    app.router.lifespan_context = lifespan
    return app


def import_runner(app: FastAPI, settings: RegistrySettings) -> ImportRunner:
    """The import job runner over the app's sessions, configured by `settings`."""
    return ImportRunner(
        app.state.sessionmaker,
        import_dir=settings.import_dir,
        workers=settings.workers(),
        families_per_batch=settings.import_batch_families,
        stale_seconds=settings.import_stale_seconds,
        heartbeat_seconds=settings.import_heartbeat_seconds,
        poll_seconds=settings.import_poll_seconds,
        gc_threshold=settings.gc_threshold,
    )
