"""The registry app: `create_app()` assembles routes on the shared service frame."""

from __future__ import annotations

from fastapi import FastAPI

from selaras_registry.api import router
from selaras_registry.settings import RegistrySettings
from selaras_shared.app import build_service_app
from selaras_shared.settings import AuthSettings

SYNC_MAX_BYTES = 8 * 1024 * 1024


def create_app(
    settings: RegistrySettings | None = None, auth: AuthSettings | None = None
) -> FastAPI:
    """Build the registry service (port 8001 by default)."""
    return build_service_app(
        title="Selaras registry",
        description="Households (keluarga), members, regions, history and access log.",
        settings=settings or RegistrySettings(),
        auth=auth or AuthSettings(),
        routers=[router],
        # A sync batch carries up to 500 whole households.
        max_bytes_by_path={"/api/v1/sync": SYNC_MAX_BYTES},
    )
