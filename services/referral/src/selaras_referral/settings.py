"""Referral settings (`SELARAS_REFERRAL_` environment variables)."""

from __future__ import annotations

import math
from typing import Self

from pydantic import Field, model_validator
from pydantic_settings import SettingsConfigDict

from selaras_shared.settings import ServiceSettings


class ReferralSettings(ServiceSettings):
    """Settings of the referral service."""

    model_config = SettingsConfigDict(env_prefix="SELARAS_REFERRAL_", extra="ignore")

    database_url: str = "sqlite+aiosqlite:///./var/referral.db"
    port: int = 8003
    #: The registry service, where households and members are checked.
    registry_url: str = "http://127.0.0.1:8001"
    #: The eligibility service, which says which programmes a household qualifies for.
    eligibility_url: str = "http://127.0.0.1:8002"

    # --- webhooks -----------------------------------------------------------------------
    #: Run the webhook dispatcher inside the API process; `false` on replicas that only
    #: serve the API while `selaras-referral deliver` runs elsewhere.
    webhook_dispatcher: bool = True
    #: Accept plain-http webhook URLs to any host (loopback is always accepted).
    webhook_allow_http: bool = False
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
