"""Write domain events to the outbox, inside the caller's transaction."""

from __future__ import annotations

import uuid
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from selaras_referral.models import OutboxEvent


async def emit(
    session: AsyncSession,
    *,
    type: str,
    subject_type: str,
    subject_id: uuid.UUID,
    region: str,
    data: dict[str, Any],
    organization: str | None = None,
) -> OutboxEvent:
    """Record one event in the same transaction as the change it announces.

    The event commits or rolls back with that change, so a subscriber is never told of a
    change that did not happen, and no committed change goes unannounced.
    """
    event = OutboxEvent(
        type=type,
        subject_type=subject_type,
        subject_id=subject_id,
        region=region,
        organization=organization,
        data=data,
    )
    session.add(event)
    await session.flush()
    return event
