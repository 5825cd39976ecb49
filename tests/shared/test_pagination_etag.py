"""Keyset cursors, and ETag / If-Match optimistic concurrency."""

from __future__ import annotations

import base64

import httpx
import pytest

from selaras_shared.errors import InvalidInput, PreconditionFailed, PreconditionRequired
from selaras_shared.etag import etag_for, expected_version, stale
from selaras_shared.pagination import Page, decode_cursor, encode_cursor

from .service import assert_problem


def _raw_cursor(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).decode().rstrip("=")


# ---- pagination ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    "position",
    [
        {"id": 1},
        {"created_at": "2025-01-02T03:04:05+00:00", "id": "8b7c", "name": "Ñoño / ä?&=+"},
        {"n": None, "f": 1.5, "nested": [1, {"a": "b"}]},
        {},
    ],
)
def test_cursor_round_trip(position: dict[str, object]) -> None:
    cursor = encode_cursor(position)
    # Opaque and URL-safe: no padding, no characters that need escaping in a query string.
    assert all(c.isalnum() or c in "-_" for c in cursor)
    assert decode_cursor(cursor, tuple(position)) == position


def test_cursor_is_deterministic() -> None:
    assert encode_cursor({"b": 1, "a": 2}) == encode_cursor({"a": 2, "b": 1})


def _assert_invalid_cursor(token: str, required: tuple[str, ...] = ("id",)) -> None:
    with pytest.raises(InvalidInput) as raised:
        decode_cursor(token, required)
    problem = raised.value.to_problem("id")
    assert problem["status"] == 422
    assert problem["errors"] == [
        {"field": "cursor", "code": "cursor_invalid", "message": "Kursor halaman tidak valid"}
    ]
    assert raised.value.to_problem("en")["errors"][0]["message"] == "Invalid page cursor"


@pytest.mark.parametrize(
    "token",
    [
        "garbage!!",
        "not-a-cursor",
        "",
        "%%%%",
        "eyJpZCI6",  # truncated base64 of '{"id":'
        _raw_cursor(b"\xff\xfe\x00"),  # not UTF-8
        _raw_cursor(b"[1, 2]"),  # JSON, not an object
        _raw_cursor(b'"id"'),
        _raw_cursor(b"null"),
    ],
)
def test_garbage_cursor_is_invalid_input(token: str) -> None:
    _assert_invalid_cursor(token)


def test_cursor_missing_a_required_key_is_invalid_input() -> None:
    cursor = encode_cursor({"created_at": "2025-01-01"})
    _assert_invalid_cursor(cursor, ("created_at", "id"))
    assert decode_cursor(cursor, ("created_at",)) == {"created_at": "2025-01-01"}


def test_deeply_nested_cursor_is_invalid_input() -> None:
    _assert_invalid_cursor(_raw_cursor(b"[" * 5000))


async def test_pages_through_http(client: httpx.AsyncClient) -> None:
    seen: list[int] = []
    cursor: str | None = None
    for _ in range(10):
        params: dict[str, str | int] = {"limit": 4}
        if cursor:
            params["cursor"] = cursor
        response = await client.get("/api/v1/items", params=params)
        assert response.status_code == 200, response.text
        page = Page[int].model_validate(response.json())
        seen += page.items
        cursor = page.next_cursor
        if cursor is None:
            break
    assert seen == list(range(10))


async def test_bad_cursor_through_http_is_422_on_cursor(client: httpx.AsyncClient) -> None:
    for cursor in ("garbage!!", encode_cursor({"other": 1})):
        response = await client.get("/api/v1/items", params={"cursor": cursor})
        body = assert_problem(response, 422, "validation-error")
        assert [issue["field"] for issue in body["errors"]] == ["cursor"]
        assert body["request_id"] == response.headers["x-request-id"]


# ---- etag ----------------------------------------------------------------------------------


def test_etag_for() -> None:
    assert etag_for(3) == '"3"'
    assert etag_for(0) == '"0"'
    assert expected_version(etag_for(12345), required=True) == 12345


@pytest.mark.parametrize(
    ("header", "version"),
    [('"3"', 3), (' "3" ', 3), ("3", 3), ('"0"', 0), ("*", None), (" * ", None)],
)
@pytest.mark.parametrize("required", [True, False])
def test_expected_version(header: str, version: int | None, required: bool) -> None:
    assert expected_version(header, required=required) == version


@pytest.mark.parametrize("header", [None, "", "   "])
def test_missing_if_match(header: str | None) -> None:
    assert expected_version(header, required=False) is None
    with pytest.raises(PreconditionRequired) as raised:
        expected_version(header, required=True)
    problem = raised.value.to_problem("en")
    assert problem["status"] == 428
    assert problem["detail"] == "Send If-Match with the ETag you last read"


@pytest.mark.parametrize(
    "header", ["abc", '"abc"', '"-1"', '"3.0"', 'W/"x"', 'W/"3"', '"3", "4"', '"1e3"']
)
def test_unparseable_if_match_is_412(header: str) -> None:
    for required in (True, False):
        with pytest.raises(PreconditionFailed) as raised:
            expected_version(header, required=required)
        problem = raised.value.to_problem("en")
        assert problem["status"] == 412
        assert problem["detail"] == f"If-Match {header} does not match"


def test_non_ascii_digit_if_match_is_412() -> None:
    with pytest.raises(PreconditionFailed):
        expected_version('"²"', required=True)


def test_stale_carries_the_current_etag() -> None:
    error = stale(4, '"3"')
    assert error.status == 412
    assert error.headers == {"ETag": '"4"'}
    problem = error.to_problem("en")
    assert problem["current_etag"] == '"4"'
    assert problem["detail"] == (
        'Version "3" is stale; the current one is "4". Read again, then retry.'
    )
    assert error.to_problem("id")["detail"].startswith('Versi "3" sudah usang; versi terkini "4".')


async def test_if_match_through_http(client: httpx.AsyncClient) -> None:
    ok = await client.put("/api/v1/items/1", headers={"If-Match": '"3"'})
    assert ok.status_code == 200, ok.text
    assert ok.headers["etag"] == '"4"'

    missing = await client.put("/api/v1/items/1")
    assert_problem(missing, 428, "precondition-required")

    outdated = await client.put("/api/v1/items/1", headers={"If-Match": '"2"'})
    body = assert_problem(outdated, 412, "precondition-failed")
    assert outdated.headers["etag"] == '"3"'
    assert body["current_etag"] == '"3"'
    assert body["title"] == "Data telah diubah oleh pihak lain"

    garbage = await client.put("/api/v1/items/1", headers={"If-Match": "abc"})
    assert_problem(garbage, 412, "precondition-failed")
