"""Referral tables, one module per domain, on the referral service's own metadata."""

from __future__ import annotations

from selaras_referral.models.base import ReferralModel, metadata
from selaras_referral.models.outbox import OutboxEvent

__all__ = ["OutboxEvent", "ReferralModel", "metadata"]
