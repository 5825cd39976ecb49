"""Referral tables, one module per domain, on the referral service's own metadata."""

from __future__ import annotations

from selaras_referral.models.base import ReferralModel, metadata
from selaras_referral.models.cases import IdempotencyRecord, IntakeCase, Note
from selaras_referral.models.outbox import OutboxEvent
from selaras_referral.models.referrals import Referral, TrailEntry
from selaras_referral.models.webhooks import WebhookAttempt, WebhookDelivery, WebhookSubscription

__all__ = [
    "IdempotencyRecord",
    "IntakeCase",
    "Note",
    "OutboxEvent",
    "Referral",
    "ReferralModel",
    "TrailEntry",
    "WebhookAttempt",
    "WebhookDelivery",
    "WebhookSubscription",
    "metadata",
]
