"""Bearer-token authentication (HS256) and the Principal's permissions and jurisdiction."""

from __future__ import annotations

import time

import httpx
import jwt
import pytest
from pydantic import ValidationError

from selaras_shared.auth import (
    REGION_PREFIX_PATTERN,
    ROLE_PERMISSIONS,
    Permission,
    Principal,
    Role,
    TokenVerifier,
    mint_token,
    principal_claims,
)
from selaras_shared.errors import Forbidden, Unauthorized
from selaras_shared.settings import AuthSettings

from .service import AUTH, SECRET, assert_problem, bearer, token

VALID = {"name": "Ani", "age": 30}


# ---- Principal -----------------------------------------------------------------------------


def _principal(role: Role = Role.front_office, jurisdiction: str = "73") -> Principal:
    return Principal(subject="ani", role=role, jurisdiction=jurisdiction)


@pytest.mark.parametrize(
    ("jurisdiction", "region", "covered"),
    [
        ("", "7371010001", True),
        ("", "11", True),
        ("73", "7371", True),
        ("73", "7371010001", True),
        ("73", "73", True),
        ("73", "74", False),
        ("73", "7471", False),
        ("7371", "7371010001", True),
        ("7371", "7372", False),
        ("7371", "73", False),
        ("737101", "7371020001", False),
    ],
)
def test_covers(jurisdiction: str, region: str, covered: bool) -> None:
    principal = _principal(jurisdiction=jurisdiction)
    assert principal.covers(region) is covered
    if covered:
        principal.require_covers(region)
    else:
        with pytest.raises(Forbidden) as raised:
            principal.require_covers(region)
        problem = raised.value.to_problem("en")
        assert problem["status"] == 403
        assert problem["detail"] == (
            f"Region {region} is outside your jurisdiction ({jurisdiction})"
        )


def test_require_covers_message_in_indonesian() -> None:
    with pytest.raises(Forbidden) as raised:
        _principal(jurisdiction="7371").require_covers("7472")
    assert raised.value.to_problem("id")["detail"] == (
        "Wilayah 7472 di luar wilayah kerja Anda (7371)"
    )


def test_role_permissions() -> None:
    assert set(ROLE_PERMISSIONS) == set(Role)
    for role, permissions in ROLE_PERMISSIONS.items():
        assert Permission.read in permissions, role
    without_personal_data = {
        role
        for role, permissions in ROLE_PERMISSIONS.items()
        if Permission.personal_data not in permissions
    }
    assert without_personal_data == {Role.partner, Role.admin}
    assert ROLE_PERMISSIONS[Role.partner] == {Permission.read}
    assert ROLE_PERMISSIONS[Role.admin] == {Permission.read, Permission.catalogue}
    assert {r for r, p in ROLE_PERMISSIONS.items() if Permission.catalogue in p} == {
        Role.admin,
        Role.manager,
    }
    assert Permission.write not in ROLE_PERMISSIONS[Role.supervisor]
    assert Permission.write not in ROLE_PERMISSIONS[Role.service]
    assert Permission.deactivate in ROLE_PERMISSIONS[Role.back_office]
    assert Permission.deactivate not in ROLE_PERMISSIONS[Role.front_office]


def test_can_and_require() -> None:
    partner = _principal(Role.partner)
    assert partner.can(Permission.read)
    assert not partner.can(Permission.personal_data)
    partner.require(Permission.read)
    with pytest.raises(Forbidden) as raised:
        partner.require(Permission.personal_data)
    assert raised.value.status == 403
    assert raised.value.to_problem("en")["detail"] == (
        "Role partner may not do this (personal_data)"
    )
    assert raised.value.to_problem("id")["detail"] == (
        "Peran partner tidak berhak atas tindakan ini (personal_data)"
    )
    manager = _principal(Role.manager)
    for permission in Permission:
        assert manager.can(permission)
        manager.require(permission)


@pytest.mark.parametrize("jurisdiction", ["", "73", "7371", "737101", "7371010001"])
def test_valid_jurisdictions(jurisdiction: str) -> None:
    assert _principal(jurisdiction=jurisdiction).jurisdiction == jurisdiction


@pytest.mark.parametrize(
    "jurisdiction", ["7", "73A", "737", "73710", "73710100", "73710100011", " 73"]
)
def test_invalid_jurisdictions(jurisdiction: str) -> None:
    with pytest.raises(ValidationError):
        _principal(jurisdiction=jurisdiction)
    assert REGION_PREFIX_PATTERN.startswith("^")


def test_principal_is_frozen_and_needs_a_subject() -> None:
    principal = _principal()
    with pytest.raises(ValidationError):
        principal.jurisdiction = ""  # type: ignore[misc]
    with pytest.raises(ValidationError):
        Principal(subject="", role=Role.admin, jurisdiction="")


def test_principal_claims() -> None:
    assert principal_claims(_principal()) == {
        "sub": "ani",
        "role": "front_office",
        "jurisdiction": "73",
    }
    partner = Principal(subject="p", role=Role.partner, jurisdiction="", organization="ngo-1")
    assert principal_claims(partner)["org"] == "ngo-1"


async def test_mint_token_round_trip() -> None:
    partner = Principal(subject="p", role=Role.partner, jurisdiction="7371", organization="ngo-1")
    raw = mint_token(partner, SECRET, ttl_seconds=60)
    assert await TokenVerifier(AUTH).verify(raw) == partner
    claims = jwt.decode(raw, SECRET, algorithms=["HS256"])
    assert claims["exp"] - claims["iat"] == 60


# ---- TokenVerifier -------------------------------------------------------------------------


async def _rejected(raw: str, settings: AuthSettings = AUTH) -> str:
    with pytest.raises(Unauthorized) as raised:
        await TokenVerifier(settings).verify(raw)
    assert raised.value.headers["WWW-Authenticate"] == 'Bearer error="invalid_token"'
    detail: str = raised.value.to_problem("en")["detail"]
    return detail


async def test_verifier_accepts_a_valid_token() -> None:
    principal = await TokenVerifier(AUTH).verify(
        token(role="supervisor", jurisdiction="7371", org="d")
    )
    assert principal == Principal(
        subject="ani", role=Role.supervisor, jurisdiction="7371", organization="d"
    )


async def test_verifier_rejects_wrong_secret_and_malformed_tokens() -> None:
    assert (await _rejected(token(secret="another-secret-0123456789-0123456789"))).startswith(
        "Invalid token: "
    )
    await _rejected("not-a-jwt")
    await _rejected("a.b.c")
    await _rejected("")
    good = token()
    await _rejected(good[:-4] + ("AAAA" if not good.endswith("AAAA") else "BBBB"))


async def test_verifier_expiry_with_leeway() -> None:
    # Within the 30 s leeway a just-expired token is still accepted...
    assert (await TokenVerifier(AUTH).verify(token(ttl=-10))).subject == "ani"
    # ...beyond it, not.
    assert "expired" in (await _rejected(token(ttl=-120)))
    no_leeway = AuthSettings(jwt_secret=SECRET, leeway_seconds=0)
    await _rejected(token(ttl=-10), no_leeway)


async def test_a_remembered_token_is_used_only_until_it_expires(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    verifier = TokenVerifier(AuthSettings(jwt_secret=SECRET, leeway_seconds=0))
    checks = 0
    check = verifier._verify

    async def counted(raw: str) -> tuple[Principal, float]:
        nonlocal checks
        checks += 1
        return await check(raw)

    monkeypatch.setattr(verifier, "_verify", counted)
    raw = token(ttl=60)
    assert (await verifier.verify(raw)).subject == "ani"
    assert (await verifier.verify(raw)).subject == "ani"
    assert checks == 1  # the second answer came from memory
    later = time.time() + 61
    monkeypatch.setattr(time, "time", lambda: later)
    await verifier.verify(raw)  # PyJWT reads the real clock, so the token still passes it...
    assert checks == 2  # ...but the remembered answer was not used past the token's expiry


async def test_remembered_tokens_are_bounded() -> None:
    verifier = TokenVerifier(AUTH)
    verifier.CACHE_SIZE = 3
    raws = [token(sub=f"user-{i}") for i in range(5)]
    for raw in raws:
        await verifier.verify(raw)
    assert len(verifier._verified) == 3
    assert list(verifier._verified) == raws[2:]


async def test_verifier_rejects_alg_none() -> None:
    now = int(time.time())
    claims = {"sub": "ani", "role": "admin", "jurisdiction": "", "exp": now + 600}
    unsigned = jwt.encode(claims, "", algorithm="none")
    await _rejected(unsigned)
    # Even when "none" is listed among the allowed algorithms.
    await _rejected(unsigned, AuthSettings(jwt_secret=SECRET, algorithms=["HS256", "none"]))


async def test_verifier_rejects_algorithms_not_allowed() -> None:
    long_secret = "s" * 64
    hs512 = AuthSettings(jwt_secret=long_secret)
    await _rejected(token(algorithm="HS512", secret=long_secret), hs512)
    assert (await TokenVerifier(hs512).verify(token(secret=long_secret))).subject == "ani"
    await _rejected(token(), AuthSettings(jwt_secret=SECRET, algorithms=["RS256"]))


async def test_verifier_rejects_hs256_without_secret() -> None:
    await _rejected(token(), AuthSettings(jwt_secret=None))
    await _rejected(token(), AuthSettings(jwt_secret=""))


async def test_verifier_rejects_rs256_without_jwks() -> None:
    from cryptography.hazmat.primitives.asymmetric import rsa

    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    now = int(time.time())
    claims = {"sub": "ani", "role": "admin", "jurisdiction": "", "exp": now + 600}
    await _rejected(jwt.encode(claims, key, algorithm="RS256"))


@pytest.mark.parametrize(
    ("claims", "named"),
    [
        ({"role": "superuser"}, "role"),
        ({"role": None}, "role"),
        ({"jurisdiction": "73A"}, "jurisdiction"),
        ({"jurisdiction": "737"}, "jurisdiction"),
        ({"jurisdiction": None}, "jurisdiction"),
        ({"jurisdiction": 73}, "jurisdiction"),
        ({"sub": ""}, "subject"),
        ({"org": 5}, "organization"),
    ],
)
async def test_verifier_rejects_invalid_claims(claims: dict[str, object], named: str) -> None:
    detail = await _rejected(token(**claims))  # type: ignore[arg-type]
    assert detail == f"Token lacks valid claims: {named}"


async def test_verifier_requires_exp_and_sub() -> None:
    claims = {"sub": "ani", "role": "admin", "jurisdiction": ""}
    assert "exp" in await _rejected(jwt.encode(claims, SECRET, algorithm="HS256"))
    now = int(time.time())
    no_sub = {"role": "admin", "jurisdiction": "", "exp": now + 60}
    assert "sub" in await _rejected(jwt.encode(no_sub, SECRET, algorithm="HS256"))


async def test_verifier_checks_audience_and_issuer() -> None:
    settings = AuthSettings(jwt_secret=SECRET, audience="selaras", issuer="https://idp.example")
    good = token(aud="selaras", iss="https://idp.example")
    assert (await TokenVerifier(settings).verify(good)).subject == "ani"
    await _rejected(token(iss="https://idp.example"), settings)
    await _rejected(token(aud="other", iss="https://idp.example"), settings)
    await _rejected(token(aud="selaras", iss="https://evil.example"), settings)
    await _rejected(token(aud="selaras"), settings)
    # Without a configured audience, a token's audience is not checked.
    assert (await TokenVerifier(AUTH).verify(token(aud="anything"))).subject == "ani"


# ---- through the HTTP stack ----------------------------------------------------------------


async def test_missing_authorization_is_401_with_challenge(client: httpx.AsyncClient) -> None:
    response = await client.post("/api/v1/echo", json=VALID)
    body = assert_problem(response, 401, "unauthorized")
    assert response.headers["www-authenticate"] == "Bearer"
    assert body["title"] == "Autentikasi diperlukan"
    assert body["detail"] == "Header Authorization: Bearer <token> wajib"


@pytest.mark.parametrize(
    "authorization", ["Basic YWxpY2U6c2VjcmV0", "Bearer", "Bearer    ", "Token abc", ""]
)
async def test_other_schemes_are_401(client: httpx.AsyncClient, authorization: str) -> None:
    response = await client.post(
        "/api/v1/echo", json=VALID, headers={"Authorization": authorization}
    )
    assert_problem(response, 401, "unauthorized")
    assert response.headers["www-authenticate"] == "Bearer"


async def test_malformed_token_is_401(client: httpx.AsyncClient) -> None:
    response = await client.post(
        "/api/v1/echo", json=VALID, headers={**bearer("garbage"), "Accept-Language": "en"}
    )
    body = assert_problem(response, 401, "unauthorized")
    assert response.headers["www-authenticate"] == 'Bearer error="invalid_token"'
    assert body["detail"].startswith("Invalid token: ")


async def test_wrong_secret_is_401(client: httpx.AsyncClient) -> None:
    response = await client.post(
        "/api/v1/echo", json=VALID, headers=bearer(secret="wrong-secret-0123456789-0123456789")
    )
    body = assert_problem(response, 401, "unauthorized")
    assert body["detail"].startswith("Token tidak valid: ")


async def test_expired_token_is_401(client: httpx.AsyncClient) -> None:
    response = await client.post("/api/v1/echo", json=VALID, headers=bearer(ttl=-3600))
    body = assert_problem(response, 401, "unauthorized")
    assert "expired" in body["detail"]


async def test_alg_none_token_is_401(client: httpx.AsyncClient) -> None:
    claims = {"sub": "ani", "role": "admin", "jurisdiction": "", "exp": int(time.time()) + 600}
    unsigned = jwt.encode(claims, "", algorithm="none")
    response = await client.post("/api/v1/echo", json=VALID, headers=bearer(unsigned))
    assert_problem(response, 401, "unauthorized")


@pytest.mark.parametrize(
    ("claims", "named"), [({"role": "root"}, "role"), ({"jurisdiction": "73A"}, "jurisdiction")]
)
async def test_invalid_claims_are_401_naming_the_claim(
    client: httpx.AsyncClient, claims: dict[str, str], named: str
) -> None:
    headers = {**bearer(**claims), "Accept-Language": "en"}
    response = await client.post("/api/v1/echo", json=VALID, headers=headers)
    body = assert_problem(response, 401, "unauthorized")
    assert body["detail"] == f"Token lacks valid claims: {named}"
    headers = bearer(**claims)
    response = await client.post("/api/v1/echo", json=VALID, headers=headers)
    assert response.json()["detail"] == f"Token tidak memuat klaim yang sah: {named}"


async def test_valid_token_gives_the_principal(client: httpx.AsyncClient) -> None:
    headers = bearer(sub="budi", role="partner", jurisdiction="7371", org="ngo-7")
    response = await client.post("/api/v1/echo", json=VALID, headers=headers)
    assert response.status_code == 200, response.text
    assert response.json() == {
        "principal": {
            "subject": "budi",
            "role": "partner",
            "jurisdiction": "7371",
            "organization": "ngo-7",
        },
        "input": {"name": "Ani", "age": 30, "address": None, "fail": None},
    }


async def test_scheme_is_case_insensitive(client: httpx.AsyncClient) -> None:
    response = await client.post(
        "/api/v1/echo", json=VALID, headers={"Authorization": f"bearer {token()}"}
    )
    assert response.status_code == 200, response.text


async def test_authentication_comes_before_body_validation(client: httpx.AsyncClient) -> None:
    response = await client.post("/api/v1/echo", json={"nonsense": True})
    assert_problem(response, 401, "unauthorized")


async def test_jurisdiction_and_permission_through_http(client: httpx.AsyncClient) -> None:
    inside = await client.get("/api/v1/regions/7371010001", headers=bearer(jurisdiction="7371"))
    assert inside.status_code == 200, inside.text
    assert inside.json() == {"region": "7371010001"}

    outside = await client.get("/api/v1/regions/7471010001", headers=bearer(jurisdiction="7371"))
    body = assert_problem(outside, 403, "forbidden")
    assert body["detail"] == "Wilayah 7471010001 di luar wilayah kerja Anda (7371)"

    national_partner = bearer(role="partner", jurisdiction="")
    response = await client.get("/api/v1/regions/7371010001", headers=national_partner)
    body = assert_problem(response, 403, "forbidden")
    assert "personal_data" in body["detail"]
