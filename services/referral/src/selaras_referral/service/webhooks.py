"""Webhook subscriptions: who may subscribe to what, validation of URL, secret and event
types, the delivery log and replays."""

from __future__ import annotations

import ipaddress
import secrets
import uuid
from datetime import datetime

import httpx
from sqlalchemy.ext.asyncio import AsyncSession

from selaras_referral.egress import AddressPolicy, literal_address
from selaras_referral.events import EVENT_FAMILIES, EVENT_TYPES
from selaras_referral.models.webhooks import WebhookDelivery, WebhookSubscription
from selaras_referral.repository.webhooks import Owner, WebhookRepository
from selaras_referral.schemas.webhooks import (
    AttemptRead,
    DeliveryDetail,
    DeliveryRead,
    DeliveryStatus,
    PingResult,
    ReplayRequest,
    WebhookCreate,
    WebhookRead,
    WebhookUpdate,
)
from selaras_referral.sealing import Sealer, SecretUnreadable
from selaras_referral.service.delivery import Clock, post_signed
from selaras_referral.settings import ReferralSettings
from selaras_shared.auth import Permission, Principal, Role
from selaras_shared.db import utcnow
from selaras_shared.errors import FieldIssue, Forbidden, InvalidInput, NotFound
from selaras_shared.etag import stale
from selaras_shared.i18n import Text

_LOOPBACK_NAMES = {"localhost", "localhost.localdomain"}


def webhook_not_found(subscription_id: uuid.UUID) -> NotFound:
    """No such subscription, or not the caller's."""
    return NotFound(
        Text(
            "Langganan webhook {id} tidak ditemukan",
            "Webhook subscription {id} not found",
            {"id": str(subscription_id)},
        )
    )


def delivery_not_found(delivery_id: uuid.UUID) -> NotFound:
    """No such delivery for this subscription."""
    return NotFound(
        Text(
            "Pengiriman {id} tidak ditemukan",
            "Delivery {id} not found",
            {"id": str(delivery_id)},
        )
    )


def _invalid(field: str, code: str, message: Text) -> InvalidInput:
    return InvalidInput(message, errors=[FieldIssue(field, code, message)])


def _is_loopback(host: str) -> bool:
    address = literal_address(host)
    return host.lower() in _LOOPBACK_NAMES or (address is not None and address.is_loopback)


def check_url(url: str, *, allow_http: bool, policy: AddressPolicy) -> str:
    """An absolute https URL (http only to loopback, or when the settings allow it), whose
    host, when it is an address (or a name of loopback), the address policy allows; the
    addresses a name resolves to are checked on every delivery (`egress`)."""
    try:
        parsed = httpx.URL(url)
    except (httpx.InvalidURL, ValueError, TypeError) as exc:
        raise _invalid("url", "url_invalid", Text("URL tidak valid", "Not a valid URL")) from exc
    if parsed.scheme not in ("https", "http") or not parsed.host:
        raise _invalid(
            "url",
            "url_invalid",
            Text("URL harus lengkap: https://host/path", "Give a full URL: https://host/path"),
        )
    if parsed.scheme == "http" and not (allow_http or _is_loopback(parsed.host)):
        raise _invalid(
            "url",
            "url_not_https",
            Text("URL webhook harus memakai https", "Webhook URLs must use https"),
        )
    if parsed.userinfo or parsed.fragment:
        raise _invalid(
            "url",
            "url_invalid",
            Text(
                "URL tidak boleh memuat kredensial atau fragmen (#)",
                "The URL may not carry credentials or a fragment (#)",
            ),
        )
    address = literal_address(parsed.host)
    if address is None and parsed.host.lower() in _LOOPBACK_NAMES:
        address = ipaddress.ip_address("127.0.0.1")
    reason = policy.refusal(address) if address is not None else None
    if reason is not None:
        raise _invalid("url", "url_not_allowed", reason)
    return url


def check_secret(secret: str) -> str:
    """A secret of printable ASCII without spaces, so every receiver's HMAC agrees."""
    if not all(33 <= ord(c) < 127 for c in secret):
        raise _invalid(
            "secret",
            "secret_invalid",
            Text(
                "Rahasia hanya boleh memuat karakter ASCII tanpa spasi",
                "The secret may contain printable ASCII without spaces only",
            ),
        )
    return secret


def check_event_types(event_types: list[str]) -> list[str]:
    """Known event types or `<family>.*`, each once, in the order given."""
    issues = [
        FieldIssue(
            f"event_types.{i}",
            "event_type_unknown",
            Text(
                "Jenis kejadian {type} tidak dikenal; pilihan: {known}",
                "Unknown event type {type}; choose from {known}",
                {
                    "type": t,
                    "known": ", ".join(
                        sorted(EVENT_TYPES) + [f"{f}.*" for f in sorted(EVENT_FAMILIES)]
                    ),
                },
            ),
        )
        for i, t in enumerate(event_types)
        if t not in EVENT_TYPES and not (t.endswith(".*") and t[:-2] in EVENT_FAMILIES)
    ]
    if issues:
        raise InvalidInput(issues[0].message, errors=issues)
    return list(dict.fromkeys(event_types))


def subscription_read(subscription: WebhookSubscription, secret: str | None = None) -> WebhookRead:
    """The served form of a subscription (the secret only when just generated)."""
    fields = subscription.model_dump(exclude={"secret"})
    return WebhookRead.model_validate({**fields, "secret": secret})


def delivery_read(delivery: WebhookDelivery) -> DeliveryRead:
    """The served form of a delivery."""
    fields = delivery.model_dump()
    if delivery.status != DeliveryStatus.pending:
        fields["next_attempt_at"] = None
    return DeliveryRead.model_validate(fields)


class WebhookService:
    """Subscriptions and their deliveries for one caller; the session is the request's."""

    def __init__(
        self,
        session: AsyncSession,
        principal: Principal,
        settings: ReferralSettings,
        *,
        clock: Clock = utcnow,
    ) -> None:
        self.session = session
        self.principal = principal
        self.settings = settings
        self.clock = clock
        self.repo = WebhookRepository(session)
        self.policy = AddressPolicy.from_settings(settings)
        self.sealer = Sealer.from_settings(settings)
        self.owner = self._owner()

    def _owner(self) -> Owner:
        principal = self.principal
        if principal.role == Role.partner:
            if not principal.organization:
                raise Forbidden(
                    Text(
                        "Akun mitra tanpa organisasi tidak dapat berlangganan webhook",
                        "A partner account without an organisation cannot subscribe webhooks",
                    )
                )
            return Owner(principal.organization, principal.jurisdiction)
        if principal.role in (Role.manager, Role.admin) or principal.can(Permission.write):
            return Owner(None, principal.jurisdiction)
        raise Forbidden(
            Text(
                "Peran {role} tidak dapat mengelola webhook",
                "Role {role} cannot manage webhooks",
                {"role": principal.role.value},
            )
        )

    def _jurisdiction(self, wanted: str | None) -> str:
        if wanted is None:
            return self.owner.jurisdiction
        if self.owner.organization is not None:
            raise _invalid(
                "jurisdiction",
                "jurisdiction_not_allowed",
                Text(
                    "Langganan mitra mengikuti organisasinya, bukan wilayah",
                    "A partner's subscription follows its organisation, not a region",
                ),
            )
        if not wanted.startswith(self.owner.jurisdiction):
            raise _invalid(
                "jurisdiction",
                "jurisdiction_outside",
                Text(
                    "Wilayah {region} di luar wilayah kerja Anda ({own})",
                    "Region {region} is outside your jurisdiction ({own})",
                    {"region": wanted, "own": self.owner.jurisdiction or "-"},
                ),
            )
        return wanted

    async def create(self, body: WebhookCreate) -> WebhookRead:
        """Subscribe; a secret is generated (and returned this once) when none is given."""
        url = check_url(body.url, allow_http=self.settings.webhook_allow_http, policy=self.policy)
        given = check_secret(body.secret) if body.secret is not None else None
        event_types = check_event_types(body.event_types)
        jurisdiction = self._jurisdiction(body.jurisdiction)
        secret = given or secrets.token_urlsafe(32)
        now = self.clock()
        subscription = WebhookSubscription(
            url=url,
            secret=self.sealer.seal(secret),
            event_types=event_types,
            active=body.active,
            organization=self.owner.organization,
            jurisdiction=jurisdiction,
            created_by=self.principal.subject,
            created_at=now,
            updated_at=now,
        )
        self.session.add(subscription)
        await self.session.flush()
        return subscription_read(subscription, None if given else secret)

    async def _subscription(self, subscription_id: uuid.UUID) -> WebhookSubscription:
        found = await self.repo.subscription(self.owner, subscription_id)
        if found is None:
            raise webhook_not_found(subscription_id)
        return found

    async def get(self, subscription_id: uuid.UUID) -> WebhookRead:
        """One of the caller's subscriptions."""
        return subscription_read(await self._subscription(subscription_id))

    async def subscriptions(
        self, *, after: tuple[datetime, uuid.UUID] | None, limit: int
    ) -> list[WebhookSubscription]:
        """A page of the caller's subscriptions (rows, for the handler's cursor)."""
        return list(await self.repo.subscriptions(self.owner, after=after, limit=limit))

    async def update(
        self, subscription_id: uuid.UUID, body: WebhookUpdate, expected: int | None
    ) -> WebhookRead:
        """Change a subscription; `expected` is the version from If-Match."""
        subscription = await self._subscription(subscription_id)
        if expected is not None and expected != subscription.version:
            raise stale(subscription.version, f'"{expected}"')
        if body.secret is not None and body.rotate_secret:
            raise _invalid(
                "rotate_secret",
                "secret_conflict",
                Text(
                    "Kirim secret atau rotate_secret, bukan keduanya",
                    "Send secret or rotate_secret, not both",
                ),
            )
        generated: str | None = None
        changed = False
        if body.url is not None:
            subscription.url = check_url(
                body.url, allow_http=self.settings.webhook_allow_http, policy=self.policy
            )
            changed = True
        if body.event_types is not None:
            subscription.event_types = check_event_types(body.event_types)
            changed = True
        if body.active is not None:
            subscription.active = body.active
            changed = True
        if body.secret is not None:
            subscription.secret = self.sealer.seal(check_secret(body.secret))
            changed = True
        elif body.rotate_secret:
            generated = secrets.token_urlsafe(32)
            subscription.secret = self.sealer.seal(generated)
            changed = True
        if changed:
            subscription.version += 1
            subscription.updated_at = self.clock()
            await self.session.flush()
        return subscription_read(subscription, generated)

    async def delete(self, subscription_id: uuid.UUID) -> None:
        """Unsubscribe; its queued deliveries and their log go with it."""
        subscription = await self._subscription(subscription_id)
        await self.session.delete(subscription)
        await self.session.flush()

    async def deliveries(
        self,
        subscription_id: uuid.UUID,
        *,
        status: DeliveryStatus | None,
        before_seq: int | None,
        limit: int,
    ) -> list[WebhookDelivery]:
        """A page of a subscription's deliveries, newest event first (rows, for the cursor)."""
        await self._subscription(subscription_id)
        return list(
            await self.repo.deliveries(
                subscription_id,
                status=status.value if status else None,
                before_seq=before_seq,
                limit=limit,
            )
        )

    async def delivery(self, subscription_id: uuid.UUID, delivery_id: uuid.UUID) -> DeliveryDetail:
        """One delivery with its attempt log."""
        await self._subscription(subscription_id)
        delivery = await self.repo.delivery(subscription_id, delivery_id)
        if delivery is None:
            raise delivery_not_found(delivery_id)
        log = [
            AttemptRead.model_validate(a, from_attributes=True)
            for a in await self.repo.attempts(delivery.id)
        ]
        return DeliveryDetail.model_validate(
            {**delivery_read(delivery).model_dump(), "attempt_log": log}
        )

    async def replay(self, subscription_id: uuid.UUID, delivery_id: uuid.UUID) -> DeliveryDetail:
        """Queue one delivery again, due now, with the same event id (a pending one is
        simply made due now)."""
        await self._subscription(subscription_id)
        delivery = await self.repo.delivery(subscription_id, delivery_id)
        if delivery is None:
            raise delivery_not_found(delivery_id)
        await self.repo.requeue(
            subscription_id, now=self.clock(), status=delivery.status, delivery_id=delivery_id
        )
        await self.session.refresh(delivery)
        return await self.delivery(subscription_id, delivery_id)

    async def replay_many(self, subscription_id: uuid.UUID, body: ReplayRequest) -> int:
        """Queue again every delivery in `body.status` whose event happened in
        [since, until); returns how many."""
        await self._subscription(subscription_id)
        return await self.repo.requeue(
            subscription_id,
            now=self.clock(),
            status=body.status.value,
            since=body.since,
            until=body.until,
        )

    async def ping(self, subscription_id: uuid.UUID, http: httpx.AsyncClient) -> PingResult:
        """Send a signed `webhook.ping` now and report the receiver's answer (not logged)."""
        subscription = await self._subscription(subscription_id)
        now = self.clock()
        payload = {
            "id": str(uuid.uuid4()),
            "type": "webhook.ping",
            "occurred_at": now.isoformat().replace("+00:00", "Z"),
            "organization": subscription.organization,
            "region": subscription.jurisdiction,
            "subject": {"type": "webhook", "id": str(subscription.id)},
            "data": {"event_types": subscription.event_types},
        }
        try:
            secret = self.sealer.open(subscription.secret)
        except SecretUnreadable as exc:
            return PingResult(delivered=False, status_code=None, error=str(exc), duration_ms=0)
        outcome = await post_signed(
            http,
            url=subscription.url,
            secret=secret,
            payload=payload,
            clock=self.clock,
            limit_seconds=self.settings.webhook_timeout_seconds,
        )
        return PingResult(
            delivered=outcome.delivered,
            status_code=outcome.status_code,
            error=outcome.error,
            duration_ms=outcome.duration_ms,
        )


async def reseal_secrets(session: AsyncSession, sealer: Sealer) -> int:
    """Seal every stored secret with the newest key (and any kept in the clear); returns
    how many were resealed. Run after adding a key, before removing an old one."""
    repo = WebhookRepository(session)
    stored = await repo.stored_secrets()
    for subscription_id, secret in stored:
        await repo.store_secret(subscription_id, sealer.reseal(secret))
    return len(stored)
