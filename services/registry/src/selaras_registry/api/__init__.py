"""Registry routes under /api/v1, one module per domain."""

from __future__ import annotations

from fastapi import APIRouter

from selaras_registry.api import changes, households, imports, regions, snapshots, sync

router = APIRouter()
for module in (regions, households, changes, snapshots, imports, sync):
    router.include_router(module.router)
