"""Referral settings (`SELARAS_REFERRAL_` environment variables)."""

from __future__ import annotations

from pydantic import Field
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
    #: Seconds to open a connection to the registry or the eligibility service.
    upstream_connect_timeout: float = Field(default=1.0, gt=0)
    #: Seconds to wait for an upstream's answer once connected.
    upstream_read_timeout: float = Field(default=2.5, gt=0)
    #: Extra attempts of a read after a connection failure, timeout or 502/503/504.
    upstream_retries: int = Field(default=1, ge=0, le=5)
    #: Seconds any one upstream check may take, retries included: past it the case or
    #: referral is recorded unchecked and the answer says what could not be checked.
    upstream_budget_seconds: float = Field(default=3.0, gt=0, le=30)
