"""Request id propagation, the JSON access log, and the request body guard (413 / 415)."""

from __future__ import annotations

import json
import re
from collections.abc import AsyncIterator

import httpx
import pytest

from .conftest import Records
from .service import LARGE_BODY, MAX_BODY, assert_problem, bearer

VALID = {"name": "Ani", "age": 30}


# ---- request id ----------------------------------------------------------------------------


async def test_request_id_is_propagated(client: httpx.AsyncClient) -> None:
    response = await client.get("/healthz", headers={"X-Request-ID": "from-the-gateway-42"})
    assert response.status_code == 200
    assert response.headers["x-request-id"] == "from-the-gateway-42"


async def test_request_id_is_generated_when_absent(client: httpx.AsyncClient) -> None:
    first = await client.get("/healthz")
    second = await client.get("/healthz")
    for response in (first, second):
        assert re.fullmatch(r"[0-9a-f]{32}", response.headers["x-request-id"])
    assert first.headers["x-request-id"] != second.headers["x-request-id"]


async def test_overlong_request_id_is_replaced(client: httpx.AsyncClient) -> None:
    at_limit = "a" * 128
    response = await client.get("/healthz", headers={"X-Request-ID": at_limit})
    assert response.headers["x-request-id"] == at_limit
    response = await client.get("/healthz", headers={"X-Request-ID": "a" * 129})
    assert re.fullmatch(r"[0-9a-f]{32}", response.headers["x-request-id"])


async def test_request_id_is_sent_once_on_errors(client: httpx.AsyncClient) -> None:
    response = await client.get("/nope", headers={"X-Request-ID": "r-404"})
    assert response.headers.get_list("x-request-id") == ["r-404"]
    assert response.json()["request_id"] == "r-404"


# ---- access log ----------------------------------------------------------------------------


async def test_access_log_line_names_the_caller(
    client: httpx.AsyncClient, access_log: Records
) -> None:
    headers = {**bearer(sub="budi", role="supervisor"), "X-Request-ID": "log-1"}
    response = await client.post("/api/v1/echo", json=VALID, headers=headers)
    assert response.status_code == 200
    anonymous = await client.get("/nope", headers={"X-Request-ID": "log-2"})
    assert anonymous.status_code == 404

    lines = [json.loads(record.getMessage()) for record in access_log.records]
    assert [line["request_id"] for line in lines] == ["log-1", "log-2"]
    first, second = lines
    assert first["method"] == "POST" and first["path"] == "/api/v1/echo"
    assert first["status"] == 200
    assert first["subject"] == "budi" and first["role"] == "supervisor"
    assert isinstance(first["duration_ms"], float | int) and first["duration_ms"] >= 0
    assert second["status"] == 404
    assert "subject" not in second


async def test_access_log_records_a_crash_as_500(
    crash_client: httpx.AsyncClient, access_log: Records
) -> None:
    response = await crash_client.post(
        "/api/v1/echo", json={**VALID, "fail": "crash"}, headers=bearer()
    )
    assert response.status_code == 500
    (line,) = [json.loads(record.getMessage()) for record in access_log.records]
    assert line["status"] == 500


# ---- body size -----------------------------------------------------------------------------


async def test_body_over_the_limit_by_content_length_is_413(client: httpx.AsyncClient) -> None:
    big = {**VALID, "name": "x" * (MAX_BODY + 1)}
    response = await client.post("/api/v1/echo", json=big, headers=bearer())
    body = assert_problem(response, 413, "payload-too-large")
    assert body["detail"] == f"Isi permintaan melebihi {MAX_BODY} byte"
    assert body["request_id"] == response.headers["x-request-id"]
    assert response.headers["content-language"] == "id"

    english = await client.post("/api/v1/echo", json=big, headers={"Accept-Language": "en"})
    body = assert_problem(english, 413, "payload-too-large")
    assert body["detail"] == f"Request body exceeds {MAX_BODY} bytes"


async def test_body_at_the_limit_is_accepted(client: httpx.AsyncClient) -> None:
    payload = json.dumps({**VALID, "name": ""}).encode()
    name = "x" * (MAX_BODY - len(payload))
    content = json.dumps({**VALID, "name": name}).encode()
    assert len(content) == MAX_BODY
    response = await client.post(
        "/api/v1/echo",
        content=content,
        headers={**bearer(), "Content-Type": "application/json"},
    )
    assert response.status_code == 200, response.text


async def _chunks(data: bytes, size: int = 500) -> AsyncIterator[bytes]:
    for start in range(0, len(data), size):
        yield data[start : start + size]


async def test_chunked_body_under_the_limit_is_accepted(client: httpx.AsyncClient) -> None:
    data = json.dumps({**VALID, "name": "y" * 1500}).encode()
    response = await client.post(
        "/api/v1/echo",
        content=_chunks(data),
        headers={**bearer(), "Content-Type": "application/json"},
    )
    assert response.status_code == 200, response.text
    assert response.json()["input"]["name"] == "y" * 1500


async def test_chunked_body_over_the_limit_is_refused(client: httpx.AsyncClient) -> None:
    data = json.dumps({**VALID, "name": "z" * (MAX_BODY * 2)}).encode()
    response = await client.post(
        "/api/v1/echo",
        content=_chunks(data),
        headers={**bearer(), "Content-Type": "application/json"},
    )
    # The route never runs: the body is refused as a client error, not echoed.
    assert 400 <= response.status_code < 500
    assert response.headers["content-type"] == "application/problem+json"


async def test_chunked_body_over_the_limit_is_413(client: httpx.AsyncClient) -> None:
    data = json.dumps({**VALID, "name": "z" * (MAX_BODY * 2)}).encode()
    response = await client.post(
        "/api/v1/echo",
        content=_chunks(data),
        headers={**bearer(), "Content-Type": "application/json"},
    )
    assert_problem(response, 413, "payload-too-large")


async def test_chunked_raw_body_over_the_limit_is_413(client: httpx.AsyncClient) -> None:
    # A route that reads the body itself sees the guard's PayloadTooLarge directly.
    response = await client.post(
        "/api/v1/upload",
        content=_chunks(b"a,b\n" * MAX_BODY),
        headers={"Content-Type": "text/csv"},
    )
    assert_problem(response, 413, "payload-too-large")


async def test_a_path_with_its_own_limit_takes_larger_bodies(client: httpx.AsyncClient) -> None:
    data = b"a,b\n" * (MAX_BODY // 2)  # twice the general limit, within the path's
    csv = {"Content-Type": "text/csv"}
    response = await client.post("/api/v1/upload/large", content=data, headers=csv)
    assert response.status_code == 200, response.text
    assert response.json() == {"bytes": len(data)}
    # The general limit still holds elsewhere, and the path's own limit holds too.
    assert_problem(
        await client.post("/api/v1/upload", content=data, headers=csv), 413, "payload-too-large"
    )
    too_big = b"x" * (LARGE_BODY + 1)
    response = await client.post("/api/v1/upload/large", content=_chunks(too_big), headers=csv)
    body = assert_problem(response, 413, "payload-too-large")
    assert str(LARGE_BODY) in body["detail"]


# ---- media type ----------------------------------------------------------------------------


async def test_text_plain_is_415(client: httpx.AsyncClient) -> None:
    response = await client.post(
        "/api/v1/echo",
        content=json.dumps(VALID),
        headers={**bearer(), "Content-Type": "text/plain"},
    )
    body = assert_problem(response, 415, "unsupported-media-type")
    assert body["detail"] == ("Jenis konten text/plain tidak didukung; gunakan application/json")
    assert body["request_id"] == response.headers["x-request-id"]


async def test_body_without_content_type_is_415(client: httpx.AsyncClient) -> None:
    response = await client.post(
        "/api/v1/echo", content=b"{}", headers={**bearer(), "Accept-Language": "en"}
    )
    body = assert_problem(response, 415, "unsupported-media-type")
    assert body["detail"] == "Content type (none) is not supported; use application/json"


@pytest.mark.parametrize("method", ["PUT", "PATCH"])
async def test_media_type_is_checked_on_put_and_patch(
    client: httpx.AsyncClient, method: str
) -> None:
    response = await client.request(
        method, "/api/v1/items/1", content=b"x=1", headers={"Content-Type": "text/plain"}
    )
    assert_problem(response, 415, "unsupported-media-type")


@pytest.mark.parametrize(
    "content_type",
    [
        "application/json",
        "application/json; charset=utf-8",
        "Application/JSON",
        "application/merge-patch+json",
        "application/problem+json",
    ],
)
async def test_json_media_types_are_accepted(client: httpx.AsyncClient, content_type: str) -> None:
    response = await client.post(
        "/api/v1/merge", content=b'{"a": null, "b": 1}', headers={"Content-Type": content_type}
    )
    assert response.status_code == 200, response.text
    assert response.json() == {"a": None, "b": 1}


async def test_extra_media_type_only_under_its_prefix(client: httpx.AsyncClient) -> None:
    csv = b"nik,nama\n1,Ani\n"
    upload = await client.post("/api/v1/upload", content=csv, headers={"Content-Type": "text/csv"})
    assert upload.status_code == 200, upload.text
    assert upload.json() == {"bytes": len(csv)}
    elsewhere = await client.post(
        "/api/v1/merge", content=csv, headers={"Content-Type": "text/csv"}
    )
    assert_problem(elsewhere, 415, "unsupported-media-type")


async def test_empty_post_is_not_a_media_type_problem(client: httpx.AsyncClient) -> None:
    # No body: nothing to check; the route's own validation answers.
    response = await client.post("/api/v1/echo", headers={**bearer(), "Content-Type": "text/plain"})
    assert_problem(response, 422, "validation-error")


async def test_get_bodies_are_not_guarded(client: httpx.AsyncClient) -> None:
    response = await client.request(
        "GET", "/healthz", content=b"x" * (MAX_BODY + 10), headers={"Content-Type": "text/plain"}
    )
    assert response.status_code == 200
