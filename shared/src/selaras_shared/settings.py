"""Settings bases: one env prefix per service, and auth settings shared by all services."""

from __future__ import annotations

from typing import Self

from pydantic import Field, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

DEV_JWT_SECRET = "selaras-dev-secret-change-me-0123456789"


class ServiceSettings(BaseSettings):
    """What every service needs; subclasses set `env_prefix` (e.g. `SELARAS_REGISTRY_`)."""

    model_config = SettingsConfigDict(extra="ignore")

    database_url: str = "sqlite+aiosqlite:///./var/selaras.db"
    max_body_bytes: int = Field(default=1_048_576, ge=1024)
    db_pool_size: int = Field(default=10, ge=1)
    #: Connections beyond the pool under load (see `selaras_shared.db.make_engine`).
    db_max_overflow: int = Field(default=0, ge=0)
    #: Allocations between first-generation garbage collections in a server process (see
    #: `selaras_shared.process.tune_collector`).
    gc_threshold: int = Field(default=10_000, ge=100)
    log_level: str = "INFO"


class AuthSettings(BaseSettings):
    """How bearer tokens are verified; the same for every service (`SELARAS_AUTH_` prefix).

    The embedded default verifies HS256 tokens with a shared secret (minted by
    `selaras-token`); production points `jwks_url` at an OIDC provider such as Keycloak.
    """

    model_config = SettingsConfigDict(env_prefix="SELARAS_AUTH_", extra="ignore")

    jwt_secret: str | None = DEV_JWT_SECRET
    jwks_url: str | None = None
    issuer: str | None = None
    audience: str | None = None
    algorithms: list[str] = ["HS256", "RS256", "ES256"]
    leeway_seconds: int = 30

    @model_validator(mode="after")
    def _no_dev_secret_with_oidc(self) -> Self:
        # The development secret is public; once an OIDC provider is configured it must
        # not keep accepting tokens anyone can mint.
        if self.jwks_url and self.jwt_secret == DEV_JWT_SECRET:
            self.jwt_secret = None
        return self
