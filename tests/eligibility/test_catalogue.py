"""Organisations, programmes and rule-set versions through the API: CRUD, validation,
If-Match, permissions, draft/publish workflow, immutability, content hash, YAML."""

from __future__ import annotations

import hashlib
import json
from typing import Any

import httpx
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from selaras_eligibility.models import RuleSet
from tests.eligibility.conftest import Tokens

API = "/api/v1"


def organization(**overrides: Any) -> dict[str, Any]:
    return {
        "code": "baznas-7303",
        "name": "BAZNAS Kabupaten Bantaeng",
        "kind": "baznas",
        "region": "7303",
        **overrides,
    }


def program(**overrides: Any) -> dict[str, Any]:
    return {
        "code": "BAZNAS_MODAL",
        "name_id": "Bantuan Modal Usaha",
        "name_en": "Micro-business grant",
        "source_level": "csr",
        "owner": "baznas-7303",
        "areas": ["7303"],
        "unit": "household",
        "benefit": {"amount_rupiah": 2_000_000, "period": "once"},
        "legal_basis": "Keputusan Ketua BAZNAS 2024",
        "quota": 50,
        "ranking": [{"field": "desil", "order": "asc"}],
        "requires_manager_approval": True,
        "active_from": "2024-01-01",
        "active_to": "2026-12-31",
        **overrides,
    }


def rules(**overrides: Any) -> dict[str, Any]:
    return {
        "program": "BAZNAS_MODAL",
        "effective_from": "2025-01-01",
        "parameters": {"max_decile": {"2025-01-01": 4}},
        "criteria": [
            {
                "id": "poor",
                "label": {"id": "Miskin", "en": "Poor"},
                "rule": {"<=": [{"var": "desil"}, {"param": "max_decile"}]},
            }
        ],
        **overrides,
    }


def stored(**overrides: Any) -> dict[str, Any]:
    """A document as the service stores it: the rule language's normal form."""
    return {"effective_to": None, **rules(**overrides)}


async def make_program(client: httpx.AsyncClient, tokens: Tokens, **overrides: Any) -> str:
    created = await client.post(f"{API}/organizations", json=organization(), headers=tokens())
    assert created.status_code == 201, created.text
    response = await client.post(f"{API}/programs", json=program(**overrides), headers=tokens())
    assert response.status_code == 201, response.text
    return str(response.json()["id"])


# --- organisations ----------------------------------------------------------------------


async def test_organization_crud_and_etag(client: httpx.AsyncClient, tokens: Tokens) -> None:
    created = await client.post(f"{API}/organizations", json=organization(), headers=tokens())
    assert created.status_code == 201
    assert created.headers["etag"] == '"1"'
    body = created.json()
    assert body["code"] == "baznas-7303" and body["kind"] == "baznas" and body["version"] == 1
    got = await client.get(created.headers["location"], headers=tokens("partner"))
    assert got.status_code == 200 and got.json() == body

    patched = await client.patch(
        created.headers["location"],
        json={"name": "BAZNAS Bantaeng"},
        headers={**tokens(), "If-Match": '"1"'},
    )
    assert patched.status_code == 200
    assert patched.json()["name"] == "BAZNAS Bantaeng" and patched.headers["etag"] == '"2"'

    stale = await client.patch(
        created.headers["location"],
        json={"name": "Lost update"},
        headers={**tokens(), "If-Match": '"1"'},
    )
    assert stale.status_code == 412
    assert stale.headers["content-type"] == "application/problem+json"
    missing = await client.patch(
        created.headers["location"], json={"name": "No precondition"}, headers=tokens()
    )
    assert missing.status_code == 428
    again = await client.get(created.headers["location"], headers=tokens())
    assert again.json()["name"] == "BAZNAS Bantaeng"


async def test_organization_duplicate_code_conflicts(
    client: httpx.AsyncClient, tokens: Tokens
) -> None:
    assert (
        await client.post(f"{API}/organizations", json=organization(), headers=tokens())
    ).status_code == 201
    duplicate = await client.post(f"{API}/organizations", json=organization(), headers=tokens())
    assert duplicate.status_code == 409
    assert duplicate.json()["errors"][0]["field"] == "code"


async def test_organization_validation_names_the_field(
    client: httpx.AsyncClient, tokens: Tokens
) -> None:
    response = await client.post(
        f"{API}/organizations",
        json=organization(kind="bank", region="73031"),
        headers={**tokens(), "Accept-Language": "en"},
    )
    assert response.status_code == 422
    assert response.headers["content-language"] == "en"
    assert {e["field"] for e in response.json()["errors"]} == {"kind", "region"}
    indonesian = await client.post(
        f"{API}/organizations", json=organization(extra=1), headers=tokens()
    )
    assert indonesian.status_code == 422 and indonesian.headers["content-language"] == "id"
    assert indonesian.json()["errors"][0]["field"] == "extra"


async def test_organization_pages(client: httpx.AsyncClient, tokens: Tokens) -> None:
    for n in range(5):
        response = await client.post(
            f"{API}/organizations",
            json=organization(code=f"org-{n}", kind="ngo"),
            headers=tokens(),
        )
        assert response.status_code == 201
    seen: list[str] = []
    cursor: str | None = None
    while True:
        params: dict[str, Any] = {"limit": 2, "kind": "ngo"}
        if cursor:
            params["cursor"] = cursor
        page = (await client.get(f"{API}/organizations", params=params, headers=tokens())).json()
        seen += [item["code"] for item in page["items"]]
        cursor = page["next_cursor"]
        if cursor is None:
            break
    assert seen == [f"org-{n}" for n in range(5)]
    bad = await client.get(f"{API}/organizations", params={"cursor": "nope"}, headers=tokens())
    assert bad.status_code == 422 and bad.json()["errors"][0]["field"] == "cursor"


async def test_catalogue_permissions(client: httpx.AsyncClient, tokens: Tokens) -> None:
    for role in ("front_office", "back_office", "supervisor", "partner", "service"):
        refused = await client.post(
            f"{API}/organizations", json=organization(), headers=tokens(role)
        )
        assert refused.status_code == 403, role
    outside = await client.post(
        f"{API}/organizations", json=organization(), headers=tokens("manager", "7310")
    )
    assert outside.status_code == 403
    inside = await client.post(
        f"{API}/organizations", json=organization(), headers=tokens("manager", "7303")
    )
    assert inside.status_code == 201
    assert (await client.get(f"{API}/organizations", headers=tokens("partner"))).status_code == 200
    assert (await client.get(f"{API}/organizations")).status_code == 401


# --- programmes -------------------------------------------------------------------------


async def test_program_crud(client: httpx.AsyncClient, tokens: Tokens) -> None:
    program_id = await make_program(client, tokens)
    got = await client.get(f"{API}/programs/{program_id}", headers=tokens("front_office"))
    assert got.status_code == 200 and got.headers["etag"] == '"1"'
    body = got.json()
    assert body["owner"] == "baznas-7303" and body["areas"] == ["7303"]
    assert body["benefit"] == {"amount_rupiah": 2_000_000, "in_kind": None, "period": "once"}
    assert body["ranking"] == [{"field": "desil", "order": "asc"}]

    patched = await client.patch(
        f"{API}/programs/{program_id}",
        json={"areas": ["730301", "730302"], "quota": None},
        headers={**tokens(), "If-Match": '"1"'},
    )
    assert patched.status_code == 200, patched.text
    assert patched.json()["areas"] == ["730301", "730302"] and patched.json()["quota"] is None
    assert patched.headers["etag"] == '"2"'
    stale = await client.patch(
        f"{API}/programs/{program_id}",
        json={"quota": 10},
        headers={**tokens(), "If-Match": '"1"'},
    )
    assert stale.status_code == 412


async def test_program_validation(client: httpx.AsyncClient, tokens: Tokens) -> None:
    assert (
        await client.post(f"{API}/organizations", json=organization(), headers=tokens())
    ).status_code == 201
    cases: list[tuple[dict[str, Any], str]] = [
        (program(benefit={"amount_rupiah": -1, "period": "once"}), "benefit.amount_rupiah"),
        (program(benefit={"amount_rupiah": 1.5, "period": "once"}), "benefit.amount_rupiah"),
        (program(benefit={"period": "weekly", "amount_rupiah": 1}), "benefit.period"),
        (program(areas=["7303", "x"]), "areas.1"),
        (program(source_level="district"), "source_level"),
        (program(unit="family"), "unit"),
        (program(quota=0), "quota"),
        (program(code="pkh"), "code"),
        (program(owner="nobody"), "owner"),
        (program(excludes=["PKH"]), "excludes.0"),
    ]
    for body, field in cases:
        response = await client.post(f"{API}/programs", json=body, headers=tokens())
        assert response.status_code == 422, (field, response.text)
        assert field in [e["field"] for e in response.json()["errors"]], response.json()
    backwards = await client.post(
        f"{API}/programs",
        json=program(active_from="2025-01-01", active_to="2024-01-01"),
        headers=tokens(),
    )
    assert backwards.status_code == 422


async def test_program_filters(client: httpx.AsyncClient, tokens: Tokens) -> None:
    await make_program(client, tokens)
    national = await client.post(
        f"{API}/organizations",
        json=organization(code="kemensos", kind="ministry", region=""),
        headers=tokens(),
    )
    assert national.status_code == 201
    pkh = program(
        code="PKH",
        source_level="central",
        owner="kemensos",
        areas=[""],
        active_to=None,
        active_from="2018-01-01",
    )
    assert (await client.post(f"{API}/programs", json=pkh, headers=tokens())).status_code == 201

    async def codes(**params: Any) -> list[str]:
        response = await client.get(f"{API}/programs", params=params, headers=tokens("partner"))
        assert response.status_code == 200, response.text
        return [item["code"] for item in response.json()["items"]]

    assert await codes() == ["BAZNAS_MODAL", "PKH"]
    assert await codes(region="7303012001") == ["BAZNAS_MODAL", "PKH"]
    assert await codes(region="7310") == ["PKH"]
    assert await codes(source_level="csr") == ["BAZNAS_MODAL"]
    assert await codes(active_on="2027-06-01") == ["PKH"]
    assert await codes(active_on="2019-06-01", region="7303") == ["PKH"]
    bad = await client.get(f"{API}/programs", params={"region": "73a"}, headers=tokens())
    assert bad.status_code == 422 and bad.json()["errors"][0]["field"] == "region"


# --- rule sets --------------------------------------------------------------------------


async def test_rule_set_draft_publish_and_immutability(
    client: httpx.AsyncClient, tokens: Tokens, session: AsyncSession
) -> None:
    program_id = await make_program(client, tokens)
    rules_url = f"{API}/programs/{program_id}/rules"
    first = await client.post(rules_url, json=rules(), headers=tokens())
    assert first.status_code == 201, first.text
    draft = first.json()
    assert draft["version"] == 1 and draft["status"] == "draft"
    assert draft["effective_from"] == "2025-01-01" and draft["created_by"] == "catalogue-admin"
    assert draft["document"] == stored()

    published = await client.post(f"{rules_url}/1/publication", headers=tokens())
    assert published.status_code == 200
    assert published.json()["status"] == "published"
    assert published.json()["published_by"] == "catalogue-admin"

    # A published version never changes: not replaced, not published again.
    frozen = await client.put(
        f"{rules_url}/1", json=rules(effective_to="2030-01-01"), headers=tokens()
    )
    assert frozen.status_code == 409
    assert frozen.json()["type"] == "urn:selaras:problem:invalid-transition"
    twice = await client.post(f"{rules_url}/1/publication", headers=tokens())
    assert twice.status_code == 409

    # A second version for the same day retires the first when published.
    changed = rules(parameters={"max_decile": {"2025-01-01": 2}})
    second = await client.post(rules_url, json=changed, headers=tokens())
    assert second.status_code == 201 and second.json()["version"] == 2
    edited = await client.put(
        f"{rules_url}/2", json=rules(parameters={"max_decile": {"2025-01-01": 3}}), headers=tokens()
    )
    assert edited.status_code == 200
    assert edited.json()["document"]["parameters"] == {"max_decile": {"2025-01-01": 3}}
    assert (await client.post(f"{rules_url}/2/publication", headers=tokens())).status_code == 200
    versions = (await client.get(rules_url, headers=tokens("partner"))).json()
    assert [(v["version"], v["status"]) for v in versions] == [(2, "published"), (1, "retired")]
    assert "document" not in versions[0]

    # A version taking effect later leaves the current one published.
    later = await client.post(rules_url, json=rules(effective_from="2026-01-01"), headers=tokens())
    assert (await client.post(f"{rules_url}/3/publication", headers=tokens())).status_code == 200
    assert later.status_code == 201
    rows = (await session.scalars(select(RuleSet).order_by(RuleSet.version))).all()
    assert [r.status for r in rows] == ["retired", "published", "published"]
    assert rows[0].document == stored()

    missing = await client.get(f"{rules_url}/9", headers=tokens())
    assert missing.status_code == 404


async def test_rule_set_content_hash(client: httpx.AsyncClient, tokens: Tokens) -> None:
    program_id = await make_program(client, tokens)
    document = rules()
    response = await client.post(
        f"{API}/programs/{program_id}/rules", json=document, headers=tokens()
    )
    canonical = json.dumps(stored(), sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    expected = hashlib.sha256(canonical.encode()).hexdigest()
    assert response.json()["content_sha256"] == expected
    got = await client.get(f"{API}/programs/{program_id}/rules/1", headers=tokens())
    assert got.headers["etag"] == f'"{expected}"'
    # The same content in another key order is the same document: refused as a duplicate.
    reordered = dict(reversed(list(document.items())))
    duplicate = await client.post(
        f"{API}/programs/{program_id}/rules", json=reordered, headers=tokens()
    )
    assert duplicate.status_code == 409 and duplicate.json()["existing_version"] == 1


async def test_rule_set_yaml_upload(client: httpx.AsyncClient, tokens: Tokens) -> None:
    program_id = await make_program(client, tokens)
    text = (
        "program: BAZNAS_MODAL\n"
        "effective_from: 2025-01-01\n"
        "parameters:\n"
        "  max_decile: {2025-01-01: 4}\n"
        "criteria:\n"
        "  - id: poor\n"
        "    label: {id: Miskin, en: Poor}\n"
        "    rule: {'<=': [{var: desil}, {param: max_decile}]}\n"
    )
    response = await client.post(
        f"{API}/programs/{program_id}/rules",
        content=text.encode(),
        headers={**tokens(), "Content-Type": "application/yaml"},
    )
    assert response.status_code == 201, response.text
    assert response.json()["document"] == stored()
    # The same document as JSON hashes alike, so it is a duplicate of the YAML one.
    as_json = await client.post(
        f"{API}/programs/{program_id}/rules", json=rules(), headers=tokens()
    )
    assert as_json.status_code == 409

    broken = await client.post(
        f"{API}/programs/{program_id}/rules",
        content=b"effective_from: [unclosed",
        headers={**tokens(), "Content-Type": "application/yaml"},
    )
    assert broken.status_code == 422 and broken.json()["errors"][0]["field"] == "body"
    listing = await client.post(
        f"{API}/programs/{program_id}/rules",
        content=b"- just\n- a list\n",
        headers={**tokens(), "Content-Type": "application/yaml"},
    )
    assert listing.status_code == 422
    bomb = "x: &a [1, 1, 1, 1, 1, 1, 1, 1, 1, 1]\n" + "".join(
        f"{chr(98 + i)}: &{chr(98 + i)} [*{chr(97 + i)}, *{chr(97 + i)}, *{chr(97 + i)},"
        f" *{chr(97 + i)}, *{chr(97 + i)}, *{chr(97 + i)}, *{chr(97 + i)}, *{chr(97 + i)}]\n"
        for i in range(8)
    )
    bomb = (
        "program: BAZNAS_MODAL\neffective_from: 2025-01-01\naliases:\n"
        + "".join(f"  {line}\n" for line in bomb.splitlines())
        + "criteria:\n  - id: big\n    label: {id: Besar, en: Big}\n"
        + "    rule: {'in': [1, *i]}\n"
    )
    exploded = await client.post(
        f"{API}/programs/{program_id}/rules",
        content=bomb.encode(),
        headers={**tokens(), "Content-Type": "application/yaml"},
    )
    assert exploded.status_code == 422, exploded.text
    xml = await client.post(
        f"{API}/programs/{program_id}/rules",
        content=b"<rules/>",
        headers={**tokens(), "Content-Type": "application/xml"},
    )
    assert xml.status_code == 415


async def test_rule_set_document_errors_name_the_path(
    client: httpx.AsyncClient, tokens: Tokens
) -> None:
    program_id = await make_program(client, tokens)
    url = f"{API}/programs/{program_id}/rules"
    no_date = {k: v for k, v in rules().items() if k != "effective_from"}
    response = await client.post(url, json=no_date, headers={**tokens(), "Accept-Language": "en"})
    assert response.status_code == 422
    assert [e["field"] for e in response.json()["errors"]] == ["effective_from"]
    other = await client.post(url, json=rules(program="PKH"), headers=tokens())
    assert other.status_code == 422 and other.json()["errors"][0]["field"] == "program"
    unknown = await client.post(
        url,
        json=rules(
            criteria=[
                {
                    "id": "x",
                    "label": {"id": "X", "en": "X"},
                    "rule": {"and": [{"==": [{"var": "no_such_field"}, 1]}]},
                }
            ]
        ),
        headers=tokens(),
    )
    assert unknown.status_code == 422
    assert unknown.json()["errors"][0]["field"].startswith("criteria[0].rule")
    bad_date = await client.post(url, json=rules(effective_from="soon"), headers=tokens())
    assert bad_date.status_code == 422
    assert bad_date.json()["errors"][0]["field"] == "effective_from"


async def test_rule_set_permissions(client: httpx.AsyncClient, tokens: Tokens) -> None:
    program_id = await make_program(client, tokens)
    url = f"{API}/programs/{program_id}/rules"
    assert (await client.post(url, json=rules(), headers=tokens("front_office"))).status_code == 403
    other_regency = tokens("manager", "7310")
    assert (await client.post(url, json=rules(), headers=other_regency)).status_code == 403
    assert (
        await client.post(url, json=rules(), headers=tokens("manager", "73"))
    ).status_code == 201
    refused = await client.post(f"{url}/1/publication", headers=tokens("supervisor"))
    assert refused.status_code == 403
    assert (await client.get(url, headers=tokens("partner"))).status_code == 200
