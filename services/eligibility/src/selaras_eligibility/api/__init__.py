"""Eligibility routes under /api/v1, one module per domain."""

from __future__ import annotations

from fastapi import APIRouter

from selaras_eligibility.api import catalogue

router = APIRouter()
for module in (catalogue,):
    router.include_router(module.router)
