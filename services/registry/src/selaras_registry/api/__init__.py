"""Registry routes under /api/v1, one module per domain."""

from __future__ import annotations

from fastapi import APIRouter

from selaras_registry.api import households, imports, regions, sync

router = APIRouter()
for module in (regions, households, imports, sync):
    router.include_router(module.router)
