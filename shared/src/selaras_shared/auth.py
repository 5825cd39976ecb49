"""Bearer-token authentication: every request carries a Principal with role and jurisdiction."""

from __future__ import annotations

import time
from collections import OrderedDict
from enum import StrEnum
from typing import Annotated, Any

import anyio.to_thread
import jwt
from fastapi import Depends, Request
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from selaras_shared.errors import Forbidden, Unauthorized, UpstreamUnavailable
from selaras_shared.i18n import Text
from selaras_shared.settings import AuthSettings


class Role(StrEnum):
    """Platform roles (DESIGN section 8)."""

    facilitator = "facilitator"
    front_office = "front_office"
    back_office = "back_office"
    supervisor = "supervisor"
    manager = "manager"
    partner = "partner"
    admin = "admin"
    service = "service"


class Permission(StrEnum):
    """What a role may do; services check permissions, not roles."""

    read = "read"
    write = "write"
    deactivate = "deactivate"
    personal_data = "personal_data"
    #: Maintain the programme catalogue: organisations, programmes and their rule sets.
    catalogue = "catalogue"


_PERSONAL_READ = {Permission.read, Permission.personal_data}
ROLE_PERMISSIONS: dict[Role, frozenset[Permission]] = {
    Role.facilitator: frozenset(_PERSONAL_READ | {Permission.write}),
    Role.front_office: frozenset(_PERSONAL_READ | {Permission.write}),
    Role.back_office: frozenset(_PERSONAL_READ | {Permission.write, Permission.deactivate}),
    Role.supervisor: frozenset(_PERSONAL_READ | {Permission.deactivate}),
    Role.manager: frozenset(
        _PERSONAL_READ | {Permission.write, Permission.deactivate, Permission.catalogue}
    ),
    # Partners and administrators see registry data only with NIK and names masked.
    Role.partner: frozenset({Permission.read}),
    # Administrators maintain the programme catalogue, which holds no personal data.
    Role.admin: frozenset({Permission.read, Permission.catalogue}),
    Role.service: frozenset(_PERSONAL_READ),
}

REGION_PREFIX_PATTERN = r"^(\d{2}(\d{2}(\d{2}(\d{4})?)?)?)?$"


class Principal(BaseModel):
    """Who is calling: subject, role, jurisdiction (region code prefix) and organisation.

    An empty jurisdiction is national: it covers every region.
    """

    model_config = ConfigDict(frozen=True)

    subject: str = Field(min_length=1)
    role: Role
    jurisdiction: str = Field(pattern=REGION_PREFIX_PATTERN)
    organization: str | None = None

    def can(self, permission: Permission) -> bool:
        """Whether this principal's role grants `permission`."""
        return permission in ROLE_PERMISSIONS[self.role]

    def require(self, permission: Permission) -> None:
        """Raise Forbidden unless this principal has `permission`."""
        if not self.can(permission):
            raise Forbidden(
                Text(
                    "Peran {role} tidak berhak atas tindakan ini ({permission})",
                    "Role {role} may not do this ({permission})",
                    {"role": self.role.value, "permission": permission.value},
                )
            )

    def covers(self, region_code: str) -> bool:
        """Whether `region_code` lies within this principal's jurisdiction."""
        return region_code.startswith(self.jurisdiction)

    def require_covers(self, region_code: str) -> None:
        """Raise Forbidden unless `region_code` is within this principal's jurisdiction."""
        if not self.covers(region_code):
            raise Forbidden(
                Text(
                    "Wilayah {region} di luar wilayah kerja Anda ({jurisdiction})",
                    "Region {region} is outside your jurisdiction ({jurisdiction})",
                    {"region": region_code, "jurisdiction": self.jurisdiction or "-"},
                )
            )


def principal_claims(principal: Principal) -> dict[str, Any]:
    """The JWT claims that carry `principal`."""
    claims: dict[str, Any] = {
        "sub": principal.subject,
        "role": principal.role.value,
        "jurisdiction": principal.jurisdiction,
    }
    if principal.organization:
        claims["org"] = principal.organization
    return claims


def mint_token(principal: Principal, secret: str, *, ttl_seconds: int = 8 * 3600) -> str:
    """Sign an HS256 token for `principal` (embedded default and tests only)."""
    now = int(time.time())
    claims = {**principal_claims(principal), "iat": now, "exp": now + ttl_seconds}
    return jwt.encode(claims, secret, algorithm="HS256")


class TokenVerifier:
    """Verifies bearer JWTs against a shared secret (HS256) or an OIDC provider's JWKS."""

    #: Verified tokens remembered, so that a client's every request does not pay for the
    #: signature check again; an entry is used only until its token expires.
    CACHE_SIZE = 4096

    def __init__(self, settings: AuthSettings) -> None:
        self._settings = settings
        self._jwks = (
            jwt.PyJWKClient(settings.jwks_url, cache_keys=True) if settings.jwks_url else None
        )
        self._verified: OrderedDict[str, tuple[Principal, float]] = OrderedDict()

    async def verify(self, token: str) -> Principal:
        """Return the Principal of a valid token; raise Unauthorized otherwise."""
        remembered = self._verified.get(token)
        if remembered is not None:
            principal, valid_until = remembered
            if time.time() < valid_until:
                self._verified.move_to_end(token)
                return principal
            del self._verified[token]
        principal, expires = await self._verify(token)
        self._verified[token] = (principal, expires + self._settings.leeway_seconds)
        if len(self._verified) > self.CACHE_SIZE:
            self._verified.popitem(last=False)
        return principal

    async def _verify(self, token: str) -> tuple[Principal, float]:
        settings = self._settings
        try:
            header = jwt.get_unverified_header(token)
            algorithm = header.get("alg", "")
            if algorithm not in settings.algorithms or algorithm == "none":
                raise jwt.InvalidAlgorithmError(algorithm)
            key: Any
            if algorithm.startswith("HS"):
                if not settings.jwt_secret:
                    raise jwt.InvalidAlgorithmError(algorithm)
                key = settings.jwt_secret
            elif self._jwks is not None:
                jwks = self._jwks
                # PyJWKClient fetches over blocking I/O (cached afterwards): keep it off the loop.
                key = (await anyio.to_thread.run_sync(jwks.get_signing_key_from_jwt, token)).key
            else:
                raise jwt.InvalidAlgorithmError(algorithm)
            claims = jwt.decode(
                token,
                key,
                algorithms=[algorithm],
                audience=settings.audience,
                issuer=settings.issuer,
                leeway=settings.leeway_seconds,
                options={"require": ["exp", "sub"], "verify_aud": settings.audience is not None},
            )
        except jwt.PyJWKClientConnectionError as exc:
            raise UpstreamUnavailable(
                Text(
                    "Penyedia identitas (JWKS) tidak dapat dihubungi",
                    "Identity provider (JWKS) unreachable",
                )
            ) from exc
        except (jwt.PyJWTError, ValueError) as exc:
            raise _unauthorized(
                Text("Token tidak valid: {reason}", "Invalid token: {reason}", {"reason": str(exc)})
            ) from exc
        try:
            principal = Principal(
                subject=claims.get("sub"),
                role=claims.get("role"),
                jurisdiction=claims.get("jurisdiction", None),
                organization=claims.get("org"),
            )
        except ValidationError as exc:
            fields = ", ".join(str(e["loc"][0]) for e in exc.errors())
            raise _unauthorized(
                Text(
                    "Token tidak memuat klaim yang sah: {fields}",
                    "Token lacks valid claims: {fields}",
                    {"fields": fields},
                )
            ) from exc
        return principal, float(claims["exp"])


def _unauthorized(detail: Text) -> Unauthorized:
    return Unauthorized(detail, headers={"WWW-Authenticate": 'Bearer error="invalid_token"'})


async def get_principal(request: Request) -> Principal:
    """FastAPI dependency: the authenticated Principal of this request."""
    header = request.headers.get("authorization", "")
    scheme, _, token = header.partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        raise Unauthorized(
            Text(
                "Header Authorization: Bearer <token> wajib",
                "Authorization: Bearer <token> required",
            ),
            headers={"WWW-Authenticate": "Bearer"},
        )
    verifier: TokenVerifier = request.app.state.verifier
    principal = await verifier.verify(token.strip())
    # Kept on the request scope so that the access log can name who called.
    request.state.principal = principal
    return principal


CurrentPrincipal = Annotated[Principal, Depends(get_principal)]
