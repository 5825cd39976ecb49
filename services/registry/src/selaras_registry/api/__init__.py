"""Registry routes under /api/v1, one module per domain."""

from __future__ import annotations

from fastapi import APIRouter

from selaras_registry.api import households, regions

router = APIRouter()
for module in (regions, households):
    router.include_router(module.router)
