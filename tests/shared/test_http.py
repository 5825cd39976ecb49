"""The shared client discipline: which caller headers are forwarded, and how problems name
the upstream in both languages."""

from __future__ import annotations

import httpx

from selaras_shared.errors import UpstreamTimeout
from selaras_shared.http import ServiceClient, forwarded_headers
from selaras_shared.i18n import Text
from selaras_shared.requestctx import reset_request_id, set_request_id


class Catalogue(ServiceClient):
    name = Text("katalog", "catalogue")


def test_forwarded_headers_take_the_current_request_id() -> None:
    token = set_request_id("req-7")
    try:
        headers = forwarded_headers(authorization="Bearer t", accept_language="en")
        explicit = forwarded_headers(authorization=None, request_id="req-8", purpose="audit")
    finally:
        reset_request_id(token)
    assert headers == {
        "Authorization": "Bearer t",
        "Accept-Language": "en",
        "X-Request-ID": "req-7",
    }
    assert explicit == {"X-Request-ID": "req-8", "X-Purpose": "audit"}
    assert forwarded_headers(authorization=None) == {}


async def test_problems_name_the_upstream() -> None:
    client = Catalogue.build(
        "http://catalogue", connect_timeout=0.1, read_timeout=0.1, deadline=1.5, retries=0
    )
    async with client.http:
        slow = client.problem(httpx.Response(504))
        assert isinstance(slow, UpstreamTimeout)
        assert client.too_slow().to_problem("id")["detail"] == (
            "Layanan katalog tidak menjawab dalam 1.5 detik"
        )
        assert client.unreachable().headers == {"Retry-After": "5"}
        assert client.problem(httpx.Response(418)).to_problem("en")["detail"] == (
            "The catalogue service answered with an error (HTTP 418)"
        )
