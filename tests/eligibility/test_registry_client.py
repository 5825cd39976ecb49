"""The registry client: forwarded headers, bounded retries, and 503/504/502 problems
when the registry is down, slow or broken (within a bounded time, never a hang)."""

from __future__ import annotations

import asyncio
import socket
import time
import uuid
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pyarrow as pa
import pytest

from selaras_eligibility.clients import RegistryClient
from selaras_eligibility.settings import EligibilitySettings
from selaras_shared.errors import (
    Forbidden,
    NotFound,
    Unauthorized,
    UpstreamError,
    UpstreamTimeout,
    UpstreamUnavailable,
)
from selaras_shared.requestctx import reset_request_id, set_request_id

HOUSEHOLD = uuid.UUID("8a0c3f5e-2b1d-4e8a-9c7f-1d2e3f4a5b6c")


def closed_port() -> int:
    """A loopback port nothing listens on (bound, then released)."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
    return port


def settings(url: str, **overrides: Any) -> EligibilitySettings:
    fields: dict[str, Any] = {
        "registry_url": url,
        "registry_connect_timeout": 0.5,
        "registry_read_timeout": 0.3,
        "registry_deadline": 2.0,
        **overrides,
    }
    return EligibilitySettings(**fields)


def scripted(*statuses: int, seen: list[httpx.Request] | None = None) -> httpx.MockTransport:
    """A transport answering the given statuses in turn (the last one repeats)."""
    answers = list(statuses)

    def handle(request: httpx.Request) -> httpx.Response:
        if seen is not None:
            seen.append(request)
        status = answers.pop(0) if len(answers) > 1 else answers[0]
        body = {"id": str(HOUSEHOLD), "desil": 2} if status == 200 else {"status": status}
        return httpx.Response(status, json=body)

    return httpx.MockTransport(handle)


@pytest.fixture
async def silent_server() -> AsyncIterator[int]:
    """A TCP server that accepts connections and never answers (a hung registry)."""

    async def hold(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await asyncio.sleep(30)
        writer.close()

    server = await asyncio.start_server(hold, "127.0.0.1", 0)
    port: int = server.sockets[0].getsockname()[1]
    yield port
    server.close()


async def test_forwards_token_request_id_purpose_and_language() -> None:
    seen: list[httpx.Request] = []
    client = RegistryClient.from_settings(settings("http://registry"), scripted(200, seen=seen))
    token = set_request_id("req-42")
    try:
        document = await client.household(
            HOUSEHOLD, authorization="Bearer abc", accept_language="en"
        )
    finally:
        reset_request_id(token)
        await client.aclose()
    assert document["desil"] == 2
    (request,) = seen
    assert request.url.path == f"/api/v1/households/{HOUSEHOLD}"
    assert request.headers["authorization"] == "Bearer abc"
    assert request.headers["x-request-id"] == "req-42"
    assert request.headers["x-purpose"] == "eligibility"
    assert request.headers["accept-language"] == "en"


async def test_retries_a_failing_registry_then_succeeds() -> None:
    seen: list[httpx.Request] = []
    client = RegistryClient.from_settings(
        settings("http://registry"), scripted(503, 502, 200, seen=seen)
    )
    async with client.http:
        assert (await client.household(HOUSEHOLD, authorization=None))["desil"] == 2
    assert len(seen) == 3


async def test_retries_are_bounded() -> None:
    seen: list[httpx.Request] = []
    client = RegistryClient.from_settings(settings("http://registry"), scripted(503, seen=seen))
    async with client.http:
        with pytest.raises(UpstreamUnavailable):
            await client.household(HOUSEHOLD, authorization=None)
    assert len(seen) == 3  # one attempt and two retries


@pytest.mark.parametrize(
    ("status", "error"),
    [
        (404, NotFound),
        (401, Unauthorized),
        (403, Forbidden),
        (500, UpstreamError),
        (504, UpstreamTimeout),
        (422, UpstreamError),
    ],
)
async def test_statuses_become_our_own_problems(status: int, error: type[Exception]) -> None:
    client = RegistryClient.from_settings(
        settings("http://registry", registry_retries=0), scripted(status)
    )
    async with client.http:
        with pytest.raises(error):
            await client.household(HOUSEHOLD, authorization=None)


async def test_a_non_object_answer_is_a_bad_gateway() -> None:
    transport = httpx.MockTransport(lambda request: httpx.Response(200, json=[1, 2]))
    client = RegistryClient.from_settings(settings("http://registry"), transport)
    async with client.http:
        with pytest.raises(UpstreamError) as caught:
            await client.household(HOUSEHOLD, authorization=None)
    assert caught.value.status == 502


async def test_registry_down_is_503_quickly() -> None:
    client = RegistryClient.from_settings(settings(f"http://127.0.0.1:{closed_port()}"))
    started = time.monotonic()
    async with client.http:
        with pytest.raises(UpstreamUnavailable) as caught:
            await client.household(HOUSEHOLD, authorization=None)
    assert time.monotonic() - started < 2.5
    assert caught.value.headers["Retry-After"] == "5"


async def test_registry_that_never_answers_is_504_within_the_deadline(silent_server: int) -> None:
    client = RegistryClient.from_settings(settings(f"http://127.0.0.1:{silent_server}"))
    started = time.monotonic()
    async with client.http:
        with pytest.raises(UpstreamTimeout):
            await client.household(HOUSEHOLD, authorization=None)
    assert time.monotonic() - started < 2.5


async def test_deadline_bounds_a_slow_transport() -> None:
    async def slow(scope: Any, receive: Any, send: Any) -> None:
        # ASGITransport ignores httpx's timeouts: only the overall deadline can stop this.
        await asyncio.sleep(30)

    client = RegistryClient.from_settings(
        settings("http://registry", registry_deadline=0.5), httpx.ASGITransport(app=slow)
    )
    started = time.monotonic()
    async with client.http:
        with pytest.raises(UpstreamTimeout):
            await client.household(HOUSEHOLD, authorization=None)
    assert time.monotonic() - started < 1.5


async def test_app_lifespan_owns_one_registry_client(tmp_path: Any) -> None:
    from selaras_eligibility.app import create_app

    app = create_app(
        settings(
            "http://registry.example:8001",
            database_url=f"sqlite+aiosqlite:///{tmp_path / 'e.db'}",
        )
    )
    async with app.router.lifespan_context(app):
        registry = app.state.registry
        assert isinstance(registry, RegistryClient)
        assert str(registry.http.base_url) == "http://registry.example:8001"
        assert registry.http.timeout.connect == 0.5
        assert registry.http.timeout.read == 0.3
    assert registry.http.is_closed


def arrow_stream(table: pa.Table) -> bytes:
    sink = pa.BufferOutputStream()
    with pa.ipc.new_stream(sink, table.schema) as writer:
        writer.write_table(table)
    return bytes(sink.getvalue())


async def test_changes_since_splits_present_households_from_those_gone() -> None:
    seen: list[httpx.Request] = []
    changed = pa.table(
        {"id": ["a", "b", "c"], "desil": [1, None, 3], "present": [True, False, True]}
    )

    def handle(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return httpx.Response(
            200, content=arrow_stream(changed), headers={"X-Change-Cursor": "next"}
        )

    client = RegistryClient.from_settings(settings("http://registry"), httpx.MockTransport(handle))
    async with client.http:
        changes = await client.changes_since("7303", "before", authorization="Bearer t")
    assert seen[0].url.params["since"] == "before"
    assert seen[0].url.params["region"] == "7303"
    assert changes.cursor == "next"
    assert changes.changed.to_pylist() == ["a", "b", "c"]
    assert changes.households.column_names == ["id", "desil"]
    assert changes.households.column("id").to_pylist() == ["a", "c"]


async def test_changes_since_without_present_flags_is_a_bad_gateway() -> None:
    for table, headers in (
        (pa.table({"id": ["a"]}), {"X-Change-Cursor": "next"}),  # a full snapshot
        (
            pa.table({"id": ["a"], "present": pa.array([None], pa.bool_())}),
            {"X-Change-Cursor": "n"},
        ),
        (pa.table({"id": ["a"], "present": [True]}), {}),  # no cursor
    ):
        answer = httpx.Response(200, content=arrow_stream(table), headers=headers)
        transport = httpx.MockTransport(lambda request, answer=answer: answer)
        client = RegistryClient.from_settings(settings("http://registry"), transport)
        async with client.http:
            with pytest.raises(UpstreamError) as caught:
                await client.changes_since("7303", "before", authorization=None)
        assert caught.value.status == 502
