"""Referral routes under /api/v1, one module per domain."""

from __future__ import annotations

from fastapi import APIRouter

from selaras_referral.api import webhooks

router = APIRouter()
router.include_router(webhooks.router)
