"""Referral routes under /api/v1, one module per domain."""

from __future__ import annotations

from fastapi import APIRouter

from selaras_referral.api import cases, notes, referrals, stats, webhooks

router = APIRouter()
router.include_router(cases.router)
router.include_router(referrals.router)
router.include_router(notes.router)
router.include_router(stats.router)
router.include_router(webhooks.router)
