"""Eligibility routes under /api/v1, one module per domain."""

from __future__ import annotations

from fastapi import APIRouter

from selaras_eligibility.api import catalogue, explain, screenings, simulations

router = APIRouter()
# explain first: its /programs/{id}/rules/jsonlogic must match before /rules/{version}.
for module in (explain, catalogue, screenings, simulations):
    router.include_router(module.router)
