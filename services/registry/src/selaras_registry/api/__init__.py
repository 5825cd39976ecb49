"""Registry routes under /api/v1, one module per domain."""

from __future__ import annotations

from fastapi import APIRouter

from selaras_registry.api import changes, households, regions, snapshots

router = APIRouter()
for module in (regions, households, changes, snapshots):
    router.include_router(module.router)
