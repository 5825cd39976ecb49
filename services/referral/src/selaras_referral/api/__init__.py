"""Referral routes under /api/v1, one module per domain."""

from __future__ import annotations

from fastapi import APIRouter

router = APIRouter()
