"""Eligibility settings (`SELARAS_ELIGIBILITY_` environment variables)."""

from __future__ import annotations

from pydantic import Field
from pydantic_settings import SettingsConfigDict

from selaras_shared.settings import ServiceSettings


class EligibilitySettings(ServiceSettings):
    """Settings of the eligibility service."""

    model_config = SettingsConfigDict(env_prefix="SELARAS_ELIGIBILITY_", extra="ignore")

    database_url: str = "sqlite+aiosqlite:///./var/eligibility.db"
    port: int = 8002
    #: The registry service, where households are read (`GET /api/v1/households/{id}`).
    registry_url: str = "http://127.0.0.1:8001"
    #: Seconds to open a connection to the registry.
    registry_connect_timeout: float = Field(default=2.0, gt=0)
    #: Seconds to wait for the registry's answer once connected.
    registry_read_timeout: float = Field(default=5.0, gt=0)
    #: Seconds a whole registry call may take, retries included: a request never hangs.
    registry_deadline: float = Field(default=8.0, gt=0)
    #: Extra attempts for idempotent reads after a connection failure, timeout or 502/503/504.
    registry_retries: int = Field(default=2, ge=0, le=5)
