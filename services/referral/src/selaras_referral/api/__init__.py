"""Referral routes under /api/v1, one module per domain."""

from __future__ import annotations

from fastapi import APIRouter

from selaras_referral.api import cases, referrals, webhooks

router = APIRouter()
router.include_router(cases.router)
router.include_router(referrals.router)
router.include_router(webhooks.router)
