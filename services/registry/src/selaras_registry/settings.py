"""Registry settings (`SELARAS_REGISTRY_` environment variables)."""

from __future__ import annotations

from pathlib import Path

from pydantic import Field
from pydantic_settings import SettingsConfigDict

from selaras_shared.db import is_sqlite
from selaras_shared.settings import ServiceSettings


class RegistrySettings(ServiceSettings):
    """Settings of the registry service."""

    model_config = SettingsConfigDict(env_prefix="SELARAS_REGISTRY_", extra="ignore")

    database_url: str = "sqlite+aiosqlite:///./var/registry.db"
    port: int = 8001
    # How long the answer to an offline sync batch is kept for replay on retry.
    idempotency_retention_days: int = Field(default=7, ge=1)

    #: Where uploaded import files are spooled until their job ends.
    import_dir: Path = Path("./var/imports")
    #: The largest import file accepted (bytes).
    import_max_bytes: int = Field(default=2 * 1024**3, ge=1024)
    #: Worker processes validating import batches; 0 validates in the service process.
    #: None chooses: 2 on PostgreSQL, 0 on SQLite (whose single writer is the bottleneck).
    import_workers: int | None = Field(default=None, ge=0, le=64)
    #: Families per batch (one validation unit, one commit in `valid_only` mode).
    import_batch_families: int = Field(default=2000, ge=1, le=100_000)
    #: A running job whose heartbeat is older than this is taken to be orphaned and resumed.
    import_stale_seconds: float = Field(default=60.0, ge=0)
    #: How often a running job refreshes its heartbeat and persisted progress.
    import_heartbeat_seconds: float = Field(default=1.0, gt=0)
    #: How often an idle runner looks for queued or orphaned jobs (other replicas' uploads).
    import_poll_seconds: float = Field(default=5.0, gt=0)
    #: Whether this process runs import jobs at all (off for API-only replicas).
    import_runner: bool = True

    def workers(self) -> int:
        """The number of validation worker processes to use."""
        if self.import_workers is not None:
            return self.import_workers
        return 0 if is_sqlite(self.database_url) else 2
