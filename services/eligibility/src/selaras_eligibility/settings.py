"""Eligibility settings (`SELARAS_ELIGIBILITY_` environment variables)."""

from __future__ import annotations

from pydantic_settings import SettingsConfigDict

from selaras_shared.settings import ServiceSettings


class EligibilitySettings(ServiceSettings):
    """Settings of the eligibility service."""

    model_config = SettingsConfigDict(env_prefix="SELARAS_ELIGIBILITY_", extra="ignore")

    database_url: str = "sqlite+aiosqlite:///./var/eligibility.db"
    port: int = 8002
