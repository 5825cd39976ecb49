"""RS256 tokens verified against an OIDC provider's JWKS, served from a local HTTP server."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import httpx
import jwt
import pytest
from cryptography.hazmat.primitives.asymmetric import rsa
from jwt.algorithms import RSAAlgorithm
from sqlalchemy.ext.asyncio import AsyncEngine

from selaras_shared.auth import Principal, Role, TokenVerifier
from selaras_shared.errors import Unauthorized, UpstreamUnavailable
from selaras_shared.settings import DEV_JWT_SECRET, AuthSettings

from .service import assert_problem, make_app, token

KID = "selaras-test-key"


@pytest.fixture(scope="module")
def signing_key() -> rsa.RSAPrivateKey:
    return rsa.generate_private_key(public_exponent=65537, key_size=2048)


@pytest.fixture(scope="module")
def other_key() -> rsa.RSAPrivateKey:
    return rsa.generate_private_key(public_exponent=65537, key_size=2048)


class JwksServer:
    """A JWKS endpoint on a loopback port that counts its requests."""

    def __init__(self, jwks: dict[str, Any]) -> None:
        body = json.dumps(jwks).encode()
        self.requests = 0
        outer = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                outer.requests += 1
                if self.path != "/jwks.json":
                    self.send_error(404)
                    return
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, format: str, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/jwks.json"

    def __enter__(self) -> JwksServer:
        self.thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.server.shutdown()
        self.server.server_close()
        self.thread.join(timeout=5)


@pytest.fixture(scope="module")
def jwks_server(signing_key: rsa.RSAPrivateKey) -> Iterator[JwksServer]:
    jwk = RSAAlgorithm.to_jwk(signing_key.public_key(), as_dict=True)
    jwk |= {"kid": KID, "use": "sig", "alg": "RS256"}
    with JwksServer({"keys": [jwk]}) as server:
        yield server


@pytest.fixture
def jwks_auth(jwks_server: JwksServer) -> AuthSettings:
    return AuthSettings(jwt_secret=None, jwks_url=jwks_server.url)


def rs256(key: rsa.RSAPrivateKey, *, kid: str | None = KID, **claims: Any) -> str:
    now = int(time.time())
    payload = {"sub": "kc-user", "role": "back_office", "jurisdiction": "7371", "exp": now + 600}
    payload |= claims
    headers = {"kid": kid} if kid else None
    return jwt.encode(payload, key, algorithm="RS256", headers=headers)


async def _reject(verifier: TokenVerifier, raw: str) -> str:
    with pytest.raises(Unauthorized) as raised:
        await verifier.verify(raw)
    detail: str = raised.value.to_problem("en")["detail"]
    return detail


async def test_rs256_token_from_the_jwks_is_accepted(
    jwks_auth: AuthSettings, signing_key: rsa.RSAPrivateKey
) -> None:
    verifier = TokenVerifier(jwks_auth)
    assert await verifier.verify(rs256(signing_key)) == Principal(
        subject="kc-user", role=Role.back_office, jurisdiction="7371"
    )


async def test_keys_are_cached(
    jwks_auth: AuthSettings, jwks_server: JwksServer, signing_key: rsa.RSAPrivateKey
) -> None:
    verifier = TokenVerifier(jwks_auth)
    await verifier.verify(rs256(signing_key))
    fetched = jwks_server.requests
    for _ in range(3):
        await verifier.verify(rs256(signing_key, sub="again"))
    assert jwks_server.requests == fetched


async def test_token_signed_by_another_key_is_rejected(
    jwks_auth: AuthSettings, other_key: rsa.RSAPrivateKey
) -> None:
    verifier = TokenVerifier(jwks_auth)
    # Same key id as the published key, wrong signature.
    assert "Signature verification failed" in await _reject(verifier, rs256(other_key))
    # A key id the provider does not publish.
    await _reject(verifier, rs256(other_key, kid="unknown-kid"))


async def test_hs256_rejected_when_only_jwks_is_configured(jwks_auth: AuthSettings) -> None:
    verifier = TokenVerifier(jwks_auth)
    await _reject(verifier, token(secret=DEV_JWT_SECRET))
    await _reject(verifier, token())


async def test_configuring_jwks_alone_disables_the_dev_secret(jwks_server: JwksServer) -> None:
    verifier = TokenVerifier(AuthSettings(jwks_url=jwks_server.url))
    await _reject(verifier, token(secret=DEV_JWT_SECRET, role="admin", jurisdiction=""))


async def test_jwks_claims_are_validated(
    jwks_auth: AuthSettings, signing_key: rsa.RSAPrivateKey
) -> None:
    verifier = TokenVerifier(jwks_auth)
    detail = await _reject(verifier, rs256(signing_key, jurisdiction="73A"))
    assert detail == "Token lacks valid claims: jurisdiction"
    assert "expired" in await _reject(verifier, rs256(signing_key, exp=int(time.time()) - 3600))


async def test_unreachable_jwks_is_503_not_401(signing_key: rsa.RSAPrivateKey) -> None:
    # A port that was just free: connection refused. The token may be fine; the
    # identity provider is what failed, so the caller should retry, not re-login.
    with JwksServer({"keys": []}) as server:
        url = server.url
    verifier = TokenVerifier(AuthSettings(jwt_secret=None, jwks_url=url))
    with pytest.raises(UpstreamUnavailable):
        await verifier.verify(rs256(signing_key))


async def test_rs256_through_the_http_stack(
    db_url: str,
    engine: AsyncEngine,
    jwks_auth: AuthSettings,
    signing_key: rsa.RSAPrivateKey,
    other_key: rsa.RSAPrivateKey,
) -> None:
    app = make_app(db_url, engine, auth=jwks_auth)
    payload = {"name": "Ani", "age": 3}
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://t") as c:
        good = await c.post(
            "/api/v1/echo", json=payload, headers={"Authorization": f"Bearer {rs256(signing_key)}"}
        )
        assert good.status_code == 200, good.text
        assert good.json()["principal"]["subject"] == "kc-user"
        bad = await c.post(
            "/api/v1/echo", json=payload, headers={"Authorization": f"Bearer {rs256(other_key)}"}
        )
        assert_problem(bad, 401, "unauthorized")
        assert bad.headers["www-authenticate"] == 'Bearer error="invalid_token"'
