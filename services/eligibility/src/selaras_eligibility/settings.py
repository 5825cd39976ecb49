"""Eligibility settings (`SELARAS_ELIGIBILITY_` environment variables)."""

from __future__ import annotations

from pathlib import Path

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
    #: Seconds a whole snapshot download may take (a region of a million households is
    #: a few hundred MB): the read timeout still applies to every chunk.
    registry_snapshot_deadline: float = Field(default=600.0, gt=0)
    #: Where screening state (the last evaluated snapshot of each series) is kept.
    data_dir: Path = Path("./var/eligibility")
    #: Run screening jobs in this process (off for tools that only migrate or load).
    screening_runner: bool = True
    #: Seconds without a heartbeat after which a running screening is taken for dead.
    screening_stale_seconds: float = Field(default=60.0, gt=0)
    #: Seconds between heartbeats of a running screening.
    screening_heartbeat_seconds: float = Field(default=5.0, gt=0)
