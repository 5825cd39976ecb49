"""Domain errors and framework errors rendered as bilingual application/problem+json."""

from __future__ import annotations

import httpx
import pytest

from selaras_shared.errors import (
    Conflict,
    DomainError,
    FieldIssue,
    InvalidInput,
    InvalidTransition,
    NotFound,
    PayloadTooLarge,
    PreconditionFailed,
    PreconditionRequired,
    Unauthorized,
    UnsupportedMediaType,
    UpstreamTimeout,
    UpstreamUnavailable,
)
from selaras_shared.i18n import Text
from selaras_shared.requestctx import reset_request_id, set_request_id

from .service import assert_problem, bearer

VALID = {"name": "Ani", "age": 30}


# ---- the error classes on their own --------------------------------------------------------


@pytest.mark.parametrize(
    ("error", "status", "code"),
    [
        (DomainError, 400, "bad-request"),
        (InvalidInput, 422, "validation-error"),
        (Unauthorized, 401, "unauthorized"),
        (NotFound, 404, "not-found"),
        (Conflict, 409, "conflict"),
        (InvalidTransition, 409, "invalid-transition"),
        (PreconditionFailed, 412, "precondition-failed"),
        (PreconditionRequired, 428, "precondition-required"),
        (PayloadTooLarge, 413, "payload-too-large"),
        (UnsupportedMediaType, 415, "unsupported-media-type"),
        (UpstreamUnavailable, 503, "upstream-unavailable"),
        (UpstreamTimeout, 504, "upstream-timeout"),
    ],
)
def test_error_classes_status_and_type(error: type[DomainError], status: int, code: str) -> None:
    body = error().to_problem("en")
    assert body["status"] == status
    assert body["type"] == f"urn:selaras:problem:{code}"
    # Without a detail the title doubles as the detail.
    assert body["detail"] == body["title"] == error.title.en
    assert error().to_problem("id")["title"] == error.title.id
    assert "instance" not in body and "request_id" not in body and "errors" not in body


def test_invalid_transition_is_a_conflict() -> None:
    with pytest.raises(Conflict):
        raise InvalidTransition()


def test_to_problem_carries_instance_request_id_errors_and_extras() -> None:
    error = InvalidInput(
        Text("Periksa {n} kolom", "Check {n} fields", {"n": 1}),
        errors=[FieldIssue("members.0.nik", "nik", Text("NIK salah", "Bad NIK"))],
        current_etag='"4"',
    )
    token = set_request_id("req-1")
    try:
        body = error.to_problem("id", "/api/v1/x")
    finally:
        reset_request_id(token)
    assert body == {
        "type": "urn:selaras:problem:validation-error",
        "title": "Data tidak valid",
        "status": 422,
        "detail": "Periksa 1 kolom",
        "instance": "/api/v1/x",
        "request_id": "req-1",
        "errors": [{"field": "members.0.nik", "code": "nik", "message": "NIK salah"}],
        "current_etag": '"4"',
    }


def test_exception_message_is_the_rendered_english_detail() -> None:
    error = NotFound(Text("Keluarga {id} tidak ada", "Household {id} not found", {"id": 7}))
    assert str(error) == "Household 7 not found"


# ---- through the HTTP stack ----------------------------------------------------------------


async def test_domain_error_in_indonesian_by_default(client: httpx.AsyncClient) -> None:
    response = await client.post(
        "/api/v1/echo", json={**VALID, "fail": "not-found"}, headers=bearer()
    )
    body = assert_problem(response, 404, "not-found")
    assert body["title"] == "Tidak ditemukan"
    assert body["detail"] == "Keluarga 7 tidak ditemukan"
    assert body["instance"] == "/api/v1/echo"
    assert response.headers["content-language"] == "id"
    assert body["request_id"] == response.headers["x-request-id"]


async def test_domain_error_in_english_when_asked(client: httpx.AsyncClient) -> None:
    headers = {**bearer(), "Accept-Language": "en-US,en;q=0.9,id;q=0.5"}
    response = await client.post(
        "/api/v1/echo", json={**VALID, "fail": "invalid-transition"}, headers=headers
    )
    body = assert_problem(response, 409, "invalid-transition")
    assert body["title"] == "Transition not allowed"
    assert body["detail"] == "From 1 to 2 is not allowed"
    assert response.headers["content-language"] == "en"


async def test_sent_request_id_is_in_the_problem_body(client: httpx.AsyncClient) -> None:
    headers = {**bearer(), "X-Request-ID": "trace-abc-123"}
    response = await client.post(
        "/api/v1/echo", json={**VALID, "fail": "conflict"}, headers=headers
    )
    body = assert_problem(response, 409, "conflict")
    assert body["detail"] == "Konflik dengan data yang ada"
    assert body["request_id"] == "trace-abc-123" == response.headers["x-request-id"]


async def test_field_issues_extras_and_error_headers(client: httpx.AsyncClient) -> None:
    response = await client.post("/api/v1/echo", json={**VALID, "fail": "custom"}, headers=bearer())
    body = assert_problem(response, 422, "validation-error")
    assert body["errors"] == [{"field": "nik", "code": "nik_checksum", "message": "NIK tidak sah"}]
    assert body["hint"] == "check-nik"

    response = await client.post(
        "/api/v1/echo", json={**VALID, "fail": "timeout"}, headers=bearer()
    )
    assert_problem(response, 504, "upstream-timeout")
    assert response.headers["retry-after"] == "5"


async def test_validation_errors_in_indonesian(client: httpx.AsyncClient) -> None:
    payload = {"age": -1, "nickname": "x", "address": {"city": 5, "region_code": "73"}}
    response = await client.post("/api/v1/echo", json=payload, headers=bearer())
    body = assert_problem(response, 422, "validation-error")
    assert response.headers["content-language"] == "id"
    issues = {issue["field"]: issue for issue in body["errors"]}
    assert set(issues) == {"name", "age", "nickname", "address.city", "address.region_code"}
    assert issues["name"] == {"field": "name", "code": "missing", "message": "Wajib diisi"}
    assert issues["nickname"]["code"] == "extra_forbidden"
    assert issues["nickname"]["message"] == "Kolom tidak dikenal"
    assert issues["age"]["message"] == "Harus paling sedikit 0"
    assert issues["address.city"]["message"] == "Harus berupa teks"
    assert issues["address.region_code"]["message"] == "Format tidak sesuai"
    assert body["detail"] == "Ada 5 kolom yang tidak valid"
    assert body["request_id"] == response.headers["x-request-id"]


async def test_validation_errors_in_english(client: httpx.AsyncClient) -> None:
    headers = {**bearer(), "Accept-Language": "en"}
    response = await client.post("/api/v1/echo", json={"age": 1, "x": 1}, headers=headers)
    body = assert_problem(response, 422, "validation-error")
    assert response.headers["content-language"] == "en"
    issues = {issue["field"]: issue["message"] for issue in body["errors"]}
    assert issues == {"name": "Field required", "x": "Extra inputs are not permitted"}
    assert body["detail"] == "2 field(s) are invalid"
    assert body["title"] == "Invalid data"


async def test_query_parameter_errors_name_the_parameter(client: httpx.AsyncClient) -> None:
    response = await client.get("/api/v1/items", params={"limit": 0})
    body = assert_problem(response, 422, "validation-error")
    assert body["errors"] == [
        {"field": "limit", "code": "greater_than_equal", "message": "Harus paling sedikit 1"}
    ]
    response = await client.get("/api/v1/items", params={"limit": "many"})
    body = assert_problem(response, 422, "validation-error")
    assert body["errors"][0]["field"] == "limit"
    assert body["errors"][0]["message"] == "Harus berupa bilangan bulat"


async def test_missing_body_is_named_body(client: httpx.AsyncClient) -> None:
    response = await client.post("/api/v1/echo", headers=bearer())
    body = assert_problem(response, 422, "validation-error")
    assert body["errors"] == [{"field": "body", "code": "missing", "message": "Wajib diisi"}]


async def test_invalid_json_is_a_422(client: httpx.AsyncClient) -> None:
    headers = {**bearer(), "Content-Type": "application/json"}
    response = await client.post("/api/v1/echo", content=b'{"name": ', headers=headers)
    body = assert_problem(response, 422, "validation-error")
    assert [issue["code"] for issue in body["errors"]] == ["json_invalid"]
    assert body["errors"][0]["message"] == "JSON tidak valid"


async def test_unknown_route_is_a_404_problem(client: httpx.AsyncClient) -> None:
    response = await client.get("/api/v1/nothing-here", headers={"Accept-Language": "en"})
    body = assert_problem(response, 404, "not-found")
    assert body["title"] == "Not found"
    assert body["instance"] == "/api/v1/nothing-here"
    assert body["request_id"] == response.headers["x-request-id"]


async def test_wrong_method_is_a_405_problem_with_allow(client: httpx.AsyncClient) -> None:
    response = await client.delete("/api/v1/echo")
    body = assert_problem(response, 405, "method-not-allowed")
    assert body["title"] == "Metode tidak diizinkan"
    assert response.headers["allow"] == "POST"


async def test_database_error_is_a_503_with_retry_after(client: httpx.AsyncClient) -> None:
    response = await client.post(
        "/api/v1/echo", json={**VALID, "fail": "database"}, headers=bearer()
    )
    body = assert_problem(response, 503, "upstream-unavailable")
    assert body["detail"] == "Basis data sedang tidak tersedia; coba lagi"
    assert response.headers["retry-after"] == "1"
    assert "db down" not in response.text


async def test_no_free_database_connection_is_a_503_with_retry_after(
    client: httpx.AsyncClient,
) -> None:
    response = await client.post(
        "/api/v1/echo",
        json={**VALID, "fail": "pool"},
        headers={**bearer(), "Accept-Language": "en"},
    )
    body = assert_problem(response, 503, "upstream-unavailable")
    assert body["detail"] == "Database busy; retry"
    assert response.headers["retry-after"] == "1"
    assert "QueuePool" not in response.text


async def test_unexpected_exception_is_a_500_problem(crash_client: httpx.AsyncClient) -> None:
    response = await crash_client.post(
        "/api/v1/echo",
        json={**VALID, "fail": "crash"},
        headers={**bearer(), "Accept-Language": "en"},
    )
    body = assert_problem(response, 500, "internal-error")
    assert body["title"] == "Internal error"
    assert body["instance"] == "/api/v1/echo"
    # The exception text is not leaked to the client.
    assert "a bug" not in response.text


async def test_unexpected_exception_keeps_the_request_id(crash_client: httpx.AsyncClient) -> None:
    headers = {**bearer(), "X-Request-ID": "trace-500"}
    response = await crash_client.post(
        "/api/v1/echo", json={**VALID, "fail": "crash"}, headers=headers
    )
    assert response.status_code == 500
    assert response.headers.get("x-request-id") == "trace-500"
    assert response.json().get("request_id") == "trace-500"


async def test_framework_http_errors_keep_known_statuses(client: httpx.AsyncClient) -> None:
    assert_problem(await client.get("/api/v1/http/401"), 401, "unauthorized")
    assert_problem(await client.get("/api/v1/http/403"), 403, "forbidden")
    assert_problem(await client.get("/api/v1/http/404"), 404, "not-found")
    assert_problem(await client.get("/api/v1/http/400"), 400, "bad-request")


@pytest.mark.parametrize("status", [409, 429, 503])
async def test_framework_http_errors_keep_other_statuses(
    client: httpx.AsyncClient, status: int
) -> None:
    response = await client.get(f"/api/v1/http/{status}")
    assert response.status_code == status
