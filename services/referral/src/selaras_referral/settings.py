"""Referral settings (`SELARAS_REFERRAL_` environment variables)."""

from __future__ import annotations

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
