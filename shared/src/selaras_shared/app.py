"""The common frame of every service app: lifespan resources, middleware, errors, health."""

from __future__ import annotations

from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager

from fastapi import APIRouter, FastAPI

from selaras_shared import health
from selaras_shared.auth import TokenVerifier
from selaras_shared.db import make_engine, make_sessionmaker, read_only
from selaras_shared.errors import install_error_handlers
from selaras_shared.logs import configure_logging
from selaras_shared.middleware import BodyGuardMiddleware, RequestContextMiddleware
from selaras_shared.process import tune_collector
from selaras_shared.settings import AuthSettings, ServiceSettings


def build_service_app(
    *,
    title: str,
    description: str,
    settings: ServiceSettings,
    auth: AuthSettings,
    routers: Sequence[APIRouter],
    other_media_types: dict[str, tuple[str, ...]] | None = None,
    max_bytes_by_path: dict[str, int] | None = None,
) -> FastAPI:
    """Assemble a service: engine, sessions and token verifier live on `app.state`.

    `other_media_types` and `max_bytes_by_path` open chosen path prefixes to non-JSON
    bodies (file uploads) and to bodies larger than `settings.max_body_bytes`.
    """

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        configure_logging(settings.log_level)
        engine = make_engine(
            settings.database_url,
            pool_size=settings.db_pool_size,
            max_overflow=settings.db_max_overflow,
        )
        app.state.engine = engine
        app.state.sessionmaker = make_sessionmaker(engine)
        app.state.read_sessionmaker = make_sessionmaker(read_only(engine))
        app.state.verifier = TokenVerifier(auth)
        tune_collector(settings.gc_threshold)
        try:
            yield
        finally:
            await engine.dispose()

    app = FastAPI(title=title, description=description, version="0.1.0", lifespan=lifespan)
    app.state.settings = settings
    install_error_handlers(app)
    app.include_router(health.router)
    for router in routers:
        app.include_router(router, prefix="/api/v1")
    app.add_middleware(
        BodyGuardMiddleware,
        max_bytes=settings.max_body_bytes,
        other_media_types=other_media_types,
        max_bytes_by_path=max_bytes_by_path,
    )
    app.add_middleware(RequestContextMiddleware)
    return app
