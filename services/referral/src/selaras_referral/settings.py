"""Referral settings (`SELARAS_REFERRAL_` environment variables)."""

from __future__ import annotations

import ipaddress
import math
from datetime import timedelta
from pathlib import Path
from typing import Self

from cryptography.fernet import Fernet
from pydantic import BaseModel, Field, SecretStr, field_validator, model_validator
from pydantic_settings import SettingsConfigDict

from selaras_referral.codes import Priority
from selaras_shared.settings import ServiceSettings


class SlaTerms(BaseModel):
    """Days a receiver has to answer a requested referral and to resolve an accepted one."""

    response_days: float = Field(gt=0, le=365)
    resolution_days: float = Field(gt=0, le=365)


DEFAULT_SLA: dict[Priority, SlaTerms] = {
    Priority.urgent: SlaTerms(response_days=1, resolution_days=3),
    Priority.high: SlaTerms(response_days=2, resolution_days=7),
    Priority.normal: SlaTerms(response_days=3, resolution_days=14),
    Priority.low: SlaTerms(response_days=5, resolution_days=30),
}


class ReferralSettings(ServiceSettings):
    """Settings of the referral service."""

    model_config = SettingsConfigDict(env_prefix="SELARAS_REFERRAL_", extra="ignore")

    database_url: str = "sqlite+aiosqlite:///./var/referral.db"
    port: int = 8003
    #: The registry service, where households and members are checked.
    registry_url: str = "http://127.0.0.1:8001"
    #: The eligibility service, which says which programmes a household qualifies for.
    eligibility_url: str = "http://127.0.0.1:8002"
    #: Seconds to open a connection to the registry or the eligibility service.
    upstream_connect_timeout: float = Field(default=1.0, gt=0)
    #: Seconds to wait for an upstream's answer once connected.
    upstream_read_timeout: float = Field(default=2.5, gt=0)
    #: Extra attempts of a read after a connection failure, timeout or 502/503/504.
    upstream_retries: int = Field(default=1, ge=0, le=5)
    #: Seconds any one upstream check may take, retries included: past it the case or
    #: referral is recorded unchecked and the answer says what could not be checked.
    upstream_budget_seconds: float = Field(default=3.0, gt=0, le=30)
    #: SLA terms by priority (JSON in `SELARAS_REFERRAL_SLA`).
    sla: dict[Priority, SlaTerms] = Field(default_factory=lambda: dict(DEFAULT_SLA))
    #: Per programme code, terms replacing the defaults for some priorities
    #: (`SELARAS_REFERRAL_SLA_BY_PROGRAM='{"BAZNAS_ZAKAT": {"normal": {...}}}'`).
    sla_by_program: dict[str, dict[Priority, SlaTerms]] = Field(default_factory=dict)
    #: Share of the time to a due date after which a referral is `at_risk`.
    sla_at_risk_ratio: float = Field(default=0.8, gt=0, lt=1)
    #: Days after its response due date at which a requested referral nobody answered
    #: expires (cancelled with reason `expired`); it is escalated before that.
    expiry_grace_days: float = Field(default=7, ge=0, le=365)
    #: Seconds between two runs of the SLA sweep in the app; 0 leaves it to
    #: `selaras-referral sweep` (cron) alone.
    sweep_interval_seconds: float = Field(default=60, ge=0)

    # --- webhooks -----------------------------------------------------------------------
    #: Run the webhook dispatcher inside the API process; `false` on replicas that only
    #: serve the API while `selaras-referral deliver` runs elsewhere.
    webhook_dispatcher: bool = True
    #: Accept plain-http webhook URLs to any host (loopback is always accepted).
    webhook_allow_http: bool = False
    #: Networks (CIDR) that webhooks may reach besides public addresses, e.g. a partner on
    #: a government intranet, or ["127.0.0.0/8", "::1/128"] for a receiver on this machine.
    #: Everything else that is not a public address is refused (see `egress`).
    webhook_allow_networks: list[str] = Field(default_factory=list)
    #: Fernet keys (urlsafe base64 of 32 bytes) sealing the stored signing secrets, newest
    #: first: the first seals, each opens (see `sealing`). Give them in production, the
    #: same to every replica; without them ...
    webhook_secret_keys: list[SecretStr] = Field(default_factory=list)
    #: ... this file holds a key, created on first use (one machine only).
    webhook_key_file: Path = Path("var/referral-webhook.key")
    #: Seconds a receiver has to answer one delivery, connection included.
    webhook_timeout_seconds: float = Field(default=5.0, gt=0, le=60)
    #: The first retry waits this long; each further one twice as long ...
    webhook_backoff_base_seconds: float = Field(default=10.0, gt=0)
    #: ... up to this cap.
    webhook_backoff_cap_seconds: float = Field(default=3600.0, gt=0)
    #: Fraction of each wait taken off at random, so that retries of many deliveries
    #: to one receiver that was down do not arrive all at once when it comes back.
    webhook_backoff_jitter: float = Field(default=0.2, ge=0, le=1)
    #: Attempts before a delivery is given up as `failed` (a replay queues it again).
    webhook_max_attempts: int = Field(default=12, ge=1, le=100)
    #: Deliveries a dispatcher claims at a time ...
    webhook_batch_size: int = Field(default=50, ge=1, le=1000)
    #: ... and how many of them it sends at once (per dispatcher).
    webhook_concurrency: int = Field(default=16, ge=1, le=1000)
    #: How long a claim holds: another dispatcher may take a delivery over only after
    #: this (a dispatcher that crashed mid-send), so it is kept well above the timeout.
    webhook_lease_seconds: float = Field(default=60.0, gt=0)
    #: Seconds an idle dispatcher waits before looking for due deliveries again.
    webhook_poll_seconds: float = Field(default=1.0, gt=0)

    def sla_terms(self, program: str, priority: Priority) -> tuple[timedelta, timedelta]:
        """Response and resolution durations for a referral to `program` at `priority`."""
        terms = self.sla_by_program.get(program, {}).get(priority) or self.sla.get(
            priority, DEFAULT_SLA[priority]
        )
        return timedelta(days=terms.response_days), timedelta(days=terms.resolution_days)

    @field_validator("webhook_secret_keys")
    @classmethod
    def _fernet_keys(cls, value: list[SecretStr]) -> list[SecretStr]:
        for position, key in enumerate(value):
            try:
                Fernet(key.get_secret_value())
            except ValueError as exc:
                raise ValueError(
                    f"key {position + 1} is not a Fernet key (urlsafe base64 of 32 bytes)"
                ) from exc
        return value

    @field_validator("webhook_allow_networks")
    @classmethod
    def _networks(cls, value: list[str]) -> list[str]:
        for network in value:
            try:
                ipaddress.ip_network(network)
            except ValueError as exc:
                raise ValueError(f"{network!r} is not a network in CIDR form ({exc})") from exc
        return value

    @model_validator(mode="after")
    def _lease_outlasts_a_batch(self) -> Self:
        # A claim must hold until the slowest batch is sent, or another dispatcher could
        # send the same delivery at the same time.
        rounds = math.ceil(self.webhook_batch_size / self.webhook_concurrency)
        if self.webhook_lease_seconds <= rounds * self.webhook_timeout_seconds:
            raise ValueError(
                "webhook_lease_seconds must exceed the time to send a batch: "
                f"{rounds} rounds x webhook_timeout_seconds = "
                f"{rounds * self.webhook_timeout_seconds:g} s"
            )
        return self
