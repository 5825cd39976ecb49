"""Registry settings (`SELARAS_REGISTRY_` environment variables)."""

from __future__ import annotations

from pydantic import Field
from pydantic_settings import SettingsConfigDict

from selaras_shared.settings import ServiceSettings


class RegistrySettings(ServiceSettings):
    """Settings of the registry service."""

    model_config = SettingsConfigDict(env_prefix="SELARAS_REGISTRY_", extra="ignore")

    database_url: str = "sqlite+aiosqlite:///./var/registry.db"
    port: int = 8001
    # How long the answer to an offline sync batch is kept for replay on retry.
    idempotency_retention_days: int = Field(default=7, ge=1)
