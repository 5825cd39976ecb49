"""Referral tables, one module per domain, on the referral service's own metadata."""

from __future__ import annotations

from selaras_referral.models.base import ReferralModel, metadata
from selaras_referral.models.outbox import OutboxEvent
from selaras_referral.models.webhooks import WebhookAttempt, WebhookDelivery, WebhookSubscription  # noqa: F401

__all__ = ["OutboxEvent", "ReferralModel", "metadata"]
