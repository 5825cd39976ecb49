"""Webhook routes: subscriptions, their delivery log, replays and a test ping."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Annotated, Any

import httpx
from fastapi import APIRouter, Depends, Header, Query, Request, Response, status

from selaras_referral.deps import Session
from selaras_referral.egress import webhook_client
from selaras_referral.schemas.webhooks import (
    DeliveryDetail,
    DeliveryRead,
    DeliveryStatus,
    PingResult,
    ReplayRequest,
    ReplayResult,
    WebhookCreate,
    WebhookRead,
    WebhookUpdate,
)
from selaras_referral.service.webhooks import WebhookService, delivery_read, subscription_read
from selaras_shared.auth import CurrentPrincipal
from selaras_shared.etag import etag_for, expected_version
from selaras_shared.pagination import DEFAULT_LIMIT, MAX_LIMIT, Page, encode_cursor, read_cursor

router = APIRouter(prefix="/webhooks", tags=["webhooks"])

#: How deliveries look and how to verify them; shown in the OpenAPI description of the
#: subscription endpoint, where a partner's developer looks first.
DELIVERY_FORMAT = """Subscribe a URL to event types; the answer carries a generated secret, once.

Every delivery is `POST <url>` with the event as JSON:

    {"id": "<event id>", "type": "referral.accepted", "occurred_at": "2026-11-22T10:15:00Z",
     "organization": "baznas-7303", "region": "7303012001",
     "subject": {"type": "referral", "id": "..."}, "data": {...}}

with the headers `Selaras-Event-Id`, `Selaras-Event-Type`, `Selaras-Timestamp`,
`Selaras-Delivery-Id`, `Selaras-Delivery-Attempt` and

    Selaras-Signature: t=<unix seconds>,v1=<hex HMAC-SHA256(secret, "<t>." + raw body)>

A receiver recomputes the HMAC over the raw body bytes, compares in constant time, rejects
a `t` more than five minutes from its clock, answers 2xx quickly, and ignores an event id
it has already processed: delivery is at least once, and a retry or a replay carries the
same event id. Anything but a 2xx within the timeout is retried with exponential backoff
and jitter; after the last attempt the delivery is `failed` until replayed.
"""

IfMatch = Annotated[str | None, Header(description="ETag of the version being changed")]
Limit = Annotated[int, Query(ge=1, le=MAX_LIMIT)]
Cursor = Annotated[str | None, Query(max_length=200, description="next_cursor of the last page")]


async def get_webhook_service(
    session: Session, principal: CurrentPrincipal, request: Request
) -> WebhookService:
    """The webhook service for this request's principal."""
    return WebhookService(session, principal, request.app.state.settings)


Service = Annotated[WebhookService, Depends(get_webhook_service)]


def _subscription_after(cursor: str | None) -> tuple[datetime, uuid.UUID] | None:
    if cursor is None:
        return None
    return read_cursor(cursor, "after", lambda v: (datetime.fromisoformat(v[0]), uuid.UUID(v[1])))


@router.post("", status_code=status.HTTP_201_CREATED, description=DELIVERY_FORMAT)
async def create_webhook(body: WebhookCreate, service: Service, response: Response) -> WebhookRead:
    """Subscribe a URL to event types; the answer carries a generated secret, once."""
    created = await service.create(body)
    response.headers["ETag"] = etag_for(created.version)
    response.headers["Location"] = f"/api/v1/webhooks/{created.id}"
    return created


@router.get("")
async def list_webhooks(
    service: Service, limit: Limit = DEFAULT_LIMIT, cursor: Cursor = None
) -> Page[WebhookRead]:
    """The caller's subscriptions (its organisation's, or its office's), oldest first."""
    rows = await service.subscriptions(after=_subscription_after(cursor), limit=limit + 1)
    more = len(rows) > limit
    rows = rows[:limit]
    last = rows[-1] if rows else None
    next_cursor = (
        encode_cursor({"after": [last.created_at.isoformat(), str(last.id)]})
        if more and last is not None
        else None
    )
    return Page[WebhookRead](items=[subscription_read(r) for r in rows], next_cursor=next_cursor)


@router.get("/{subscription_id}")
async def get_webhook(
    subscription_id: uuid.UUID, service: Service, response: Response
) -> WebhookRead:
    """One subscription, with its ETag (never its secret)."""
    found = await service.get(subscription_id)
    response.headers["ETag"] = etag_for(found.version)
    return found


@router.patch("/{subscription_id}")
async def update_webhook(
    subscription_id: uuid.UUID,
    body: WebhookUpdate,
    service: Service,
    response: Response,
    if_match: IfMatch = None,
) -> WebhookRead:
    """Change URL, event types, active flag or secret; requires If-Match."""
    expected = expected_version(if_match, required=True)
    updated = await service.update(subscription_id, body, expected)
    response.headers["ETag"] = etag_for(updated.version)
    return updated


@router.delete("/{subscription_id}", status_code=status.HTTP_204_NO_CONTENT)
async def delete_webhook(subscription_id: uuid.UUID, service: Service) -> Response:
    """Unsubscribe; queued deliveries are dropped with the subscription."""
    await service.delete(subscription_id)
    return Response(status_code=status.HTTP_204_NO_CONTENT)


@router.get("/{subscription_id}/deliveries")
async def list_deliveries(
    subscription_id: uuid.UUID,
    service: Service,
    status: DeliveryStatus | None = None,
    limit: Limit = DEFAULT_LIMIT,
    cursor: Cursor = None,
) -> Page[DeliveryRead]:
    """The delivery log of a subscription, newest event first, optionally by status."""
    before = None if cursor is None else read_cursor(cursor, "seq", int)
    rows = await service.deliveries(
        subscription_id, status=status, before_seq=before, limit=limit + 1
    )
    more = len(rows) > limit
    rows = rows[:limit]
    position: dict[str, Any] | None = {"seq": rows[-1].event_seq} if more and rows else None
    return Page[DeliveryRead](
        items=[delivery_read(r) for r in rows],
        next_cursor=encode_cursor(position) if position else None,
    )


@router.get("/{subscription_id}/deliveries/{delivery_id}")
async def get_delivery(
    subscription_id: uuid.UUID, delivery_id: uuid.UUID, service: Service
) -> DeliveryDetail:
    """One delivery with every attempt: when, HTTP status or error, duration."""
    return await service.delivery(subscription_id, delivery_id)


@router.post("/{subscription_id}/deliveries/{delivery_id}/replay")
async def replay_delivery(
    subscription_id: uuid.UUID, delivery_id: uuid.UUID, service: Service
) -> DeliveryDetail:
    """Send a delivery again (same event id), whatever its status; due at once."""
    return await service.replay(subscription_id, delivery_id)


@router.post("/{subscription_id}/replay")
async def replay_deliveries(
    subscription_id: uuid.UUID, body: ReplayRequest, service: Service
) -> ReplayResult:
    """Queue again every delivery in `status` (default `failed`) whose event happened in
    [since, until)."""
    return ReplayResult(queued=await service.replay_many(subscription_id, body))


@router.post("/{subscription_id}/ping")
async def ping_webhook(
    subscription_id: uuid.UUID, service: Service, request: Request
) -> PingResult:
    """Send a signed `webhook.ping` now and report what the receiver answered."""
    http: httpx.AsyncClient | None = getattr(request.app.state, "webhook_http", None)
    if http is not None:
        return await service.ping(subscription_id, http)
    async with webhook_client(service.settings) as transient:
        return await service.ping(subscription_id, transient)
