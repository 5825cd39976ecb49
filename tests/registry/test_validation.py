"""Bad input: a clear problem+json naming the field, never a 500, never a partial write."""

from __future__ import annotations

import json
from datetime import date
from typing import Any

import httpx
import pytest
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from selaras_registry.models import Household, Member

from .conftest import Tokens
from .factories import household, member, nik


def _with_member(**changes: Any) -> dict[str, Any]:
    payload = household()
    payload["members"][0] = {**payload["members"][0], **changes}
    return payload


CASES: list[tuple[str, dict[str, Any], str, str]] = [
    ("nik too short", _with_member(nik="73030112345"), "members.0.nik", "nik_format"),
    ("nik with letters", _with_member(nik="73030117058OOO01"), "members.0.nik", "nik_format"),
    ("nik Excel float", _with_member(nik="7.30301E+15"), "members.0.nik", "nik_format"),
    (
        "nik unknown region",
        _with_member(nik="9999011705800001"),
        "members.0.nik",
        "nik_region_unknown",
    ),
    (
        "nik impossible date",
        _with_member(nik="7303013213800001"),
        "members.0.nik",
        "nik_birth_date_invalid",
    ),
    (
        "nik says female",
        _with_member(nik=nik(date(1980, 5, 17), "female")),
        "members.0.nik",
        "nik_sex_mismatch",
    ),
    (
        "nik other birth date",
        _with_member(nik=nik(date(1980, 5, 18), "male")),
        "members.0.nik",
        "nik_birth_date_mismatch",
    ),
    ("kk short", household(kk_number="123"), "kk_number", "kk_format"),
    (
        "unknown village",
        household(village_code="9999012001"),
        "village_code",
        "village_code_unknown",
    ),
    (
        "village not 10 digits",
        household(village_code="730301"),
        "village_code",
        "village_code_unknown",
    ),
    (
        "village bad kind digit",
        household(village_code="7303013001"),
        "village_code",
        "village_code_unknown",
    ),
    ("unknown field", household(colour="red"), "colour", "extra_forbidden"),
    ("unknown member field", _with_member(hobby="x"), "members.0.hobby", "extra_forbidden"),
    ("desil out of range", household(desil=11), "desil", "less_than_equal"),
    ("desil wrong type", household(desil="dua"), "desil", "int_parsing"),
    ("income negative", household(monthly_income=-5), "monthly_income", "greater_than_equal"),
    ("income float", household(monthly_income=1.5), "monthly_income", "int_from_float"),
    ("bad ppks", household(ppks=["miskin"]), "ppks.0", "enum"),
    (
        "bad programme code",
        household(programs_received=["pkh lama"]),
        "programs_received.0",
        "string_pattern_mismatch",
    ),
    ("no members", household(members=[]), "members", "too_short"),
    (
        "two heads",
        household(members=[member(), member("B", "male", date(1981, 1, 1))]),
        "members",
        "head_count",
    ),
    (
        "future birth",
        _with_member(birth_date="2999-01-01"),
        "members.0.birth_date",
        "birth_date_future",
    ),
    ("pregnant man", _with_member(pregnant=True), "members.0", "pregnant_male"),
    (
        "bad date",
        _with_member(birth_date="17/05/1980"),
        "members.0.birth_date",
        "date_from_datetime_parsing",
    ),
    ("bad sex", _with_member(sex="L"), "members.0.sex", "enum"),
    (
        "duplicate nik in request",
        household(
            members=[
                member(nik="7303011705800001"),
                member("B", "male", date(1980, 5, 17), "anak", nik="7303011705800001"),
            ]
        ),
        "members",
        "nik_duplicate_in_request",
    ),
    (
        "missing address",
        {k: v for k, v in household().items() if k != "address"},
        "address",
        "missing",
    ),
    ("bad housing", household(housing={"floor": "marmer"}), "housing.floor", "enum"),
]


@pytest.mark.parametrize(("case", "payload", "field", "code"), CASES, ids=[c[0] for c in CASES])
async def test_bad_household_is_rejected_with_field(
    client: httpx.AsyncClient,
    tokens: Tokens,
    session: AsyncSession,
    case: str,
    payload: dict[str, Any],
    field: str,
    code: str,
) -> None:
    response = await client.post("/api/v1/households", json=payload, headers=tokens())
    assert response.status_code == 422, response.text
    assert response.headers["content-type"] == "application/problem+json"
    problem = response.json()
    assert problem["type"] == "urn:selaras:problem:validation-error"
    assert {"field": field, "code": code} in [
        {"field": e["field"], "code": e["code"]} for e in problem["errors"]
    ]
    assert await session.scalar(select(func.count()).select_from(Household)) == 0
    assert await session.scalar(select(func.count()).select_from(Member)) == 0


async def test_messages_follow_accept_language(client: httpx.AsyncClient, tokens: Tokens) -> None:
    payload = _with_member(nik=nik(date(1980, 5, 18), "male"))
    indonesian = (await client.post("/api/v1/households", json=payload, headers=tokens())).json()
    english = (
        await client.post(
            "/api/v1/households",
            json=payload,
            headers={**tokens(), "Accept-Language": "en-US,en;q=0.9"},
        )
    ).json()
    assert indonesian["title"] == "Data tidak valid"
    assert "Tanggal lahir pada NIK" in indonesian["errors"][0]["message"]
    assert english["title"] == "Invalid data"
    assert "Birth date encoded in the NIK" in english["errors"][0]["message"]


async def test_wrong_content_type(client: httpx.AsyncClient, tokens: Tokens) -> None:
    response = await client.post(
        "/api/v1/households",
        content=json.dumps(household()),
        headers={**tokens(), "Content-Type": "text/plain"},
    )
    assert response.status_code == 415
    assert response.headers["content-type"] == "application/problem+json"


async def test_malformed_json(client: httpx.AsyncClient, tokens: Tokens) -> None:
    response = await client.post(
        "/api/v1/households",
        content=b'{"kk_number": "73',
        headers={**tokens(), "Content-Type": "application/json"},
    )
    assert response.status_code == 422
    assert response.json()["errors"][0]["code"] == "json_invalid"


async def test_body_that_is_not_an_object(client: httpx.AsyncClient, tokens: Tokens) -> None:
    response = await client.post("/api/v1/households", json=[1, 2, 3], headers=tokens())
    assert response.status_code == 422


async def test_oversized_body(
    client: httpx.AsyncClient, tokens: Tokens, session: AsyncSession
) -> None:
    payload = household(address="x" * 100, notes=["y" * 1000] * 100)
    response = await client.post("/api/v1/households", json=payload, headers=tokens())
    assert response.status_code == 413
    assert response.headers["content-type"] == "application/problem+json"
    assert await session.scalar(select(func.count()).select_from(Household)) == 0


async def test_bad_ids_and_etags(client: httpx.AsyncClient, tokens: Tokens) -> None:
    assert (await client.get("/api/v1/households/not-a-uuid", headers=tokens())).status_code == 422
    created = (await client.post("/api/v1/households", json=household(), headers=tokens())).json()
    response = await client.patch(
        f"/api/v1/households/{created['id']}",
        json={"desil": 3},
        headers={**tokens(), "If-Match": "garbage"},
    )
    assert response.status_code == 412
