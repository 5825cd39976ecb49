"""Webhook requests reach public addresses only, unless an operator allows a network."""

from __future__ import annotations

import ipaddress

import httpx
import pytest

from selaras_referral.egress import AddressPolicy, AddressRefused, GuardedTransport, webhook_client
from selaras_referral.service.webhooks import check_url
from selaras_referral.settings import ReferralSettings
from selaras_shared.errors import InvalidInput
from tests.referral.conftest import Tokens
from tests.referral.webhooks_support import LOOPBACK, running_receiver

INTERNAL = [
    "127.0.0.1",
    "10.1.2.3",
    "172.16.0.9",
    "192.168.1.1",
    "169.254.169.254",  # a cloud's metadata service
    "100.64.0.1",  # carrier-grade NAT
    "0.0.0.0",
    "224.0.0.1",
    "::1",
    "fd00::1",
    "fe80::1",
    "::ffff:127.0.0.1",  # loopback written as IPv6
    "::ffff:10.0.0.1",
]


@pytest.mark.parametrize("address", INTERNAL)
def test_internal_addresses_are_refused_by_default(address: str) -> None:
    parsed = ipaddress.ip_address(address)
    reason = AddressPolicy().refusal(parsed)
    assert reason is not None
    assert (
        reason.render("en") == f"Address {parsed} is not public (internal networks are not allowed)"
    )
    assert "bukan alamat publik" in reason.render("id")


@pytest.mark.parametrize("address", ["8.8.8.8", "103.10.20.30", "2001:4860:4860::8888"])
def test_public_addresses_are_allowed(address: str) -> None:
    assert AddressPolicy().refusal(ipaddress.ip_address(address)) is None


def test_an_allowed_network_opens_only_itself() -> None:
    policy = AddressPolicy(["10.20.0.0/16", *LOOPBACK])
    assert policy.refusal(ipaddress.ip_address("10.20.3.4")) is None
    assert policy.refusal(ipaddress.ip_address("::ffff:127.0.0.1")) is None
    assert policy.refusal(ipaddress.ip_address("10.21.3.4")) is not None
    assert policy.refusal(ipaddress.ip_address("169.254.169.254")) is not None


def test_networks_in_the_settings_are_checked() -> None:
    with pytest.raises(ValueError, match="not a network in CIDR form"):
        ReferralSettings(webhook_allow_networks=["10.0.0.0/33"])
    assert ReferralSettings(webhook_allow_networks=["10.0.0.0/8"]).webhook_allow_networks


@pytest.mark.parametrize(
    "url",
    [
        "https://169.254.169.254/latest/meta-data",
        "https://10.0.0.5/hook",
        "http://127.0.0.1:8001/api/v1/households",
        "http://localhost:8001/",
        "https://[fd00::1]/hook",
    ],
)
def test_a_subscription_to_an_internal_address_is_refused(url: str) -> None:
    with pytest.raises(InvalidInput) as raised:
        check_url(url, allow_http=True, policy=AddressPolicy())
    [issue] = raised.value.errors
    assert (issue.field, issue.code) == ("url", "url_not_allowed")


def test_names_are_checked_when_sent_not_when_subscribed() -> None:
    url = "https://partner.example.org/hook"
    assert check_url(url, allow_http=False, policy=AddressPolicy()) == url


async def test_the_api_refuses_an_internal_address_with_the_field_named(
    client: httpx.AsyncClient, tokens: Tokens
) -> None:
    headers = tokens(role="partner", jurisdiction="7303", sub="baznas-api", org="baznas-7303")
    response = await client.post(
        "/api/v1/webhooks",
        json={"url": "https://169.254.169.254/latest", "event_types": ["referral.*"]},
        headers=headers,
    )
    assert response.status_code == 422
    assert response.headers["content-type"].startswith("application/problem+json")
    [error] = response.json()["errors"]
    assert (error["field"], error["code"]) == ("url", "url_not_allowed")
    assert (await client.get("/api/v1/webhooks", headers=headers)).json()["items"] == []


async def test_a_refused_address_is_never_connected_to() -> None:
    with running_receiver() as receiver:
        async with webhook_client(ReferralSettings()) as http:
            with pytest.raises(
                AddressRefused, match=r"127\.0\.0\.1: Address 127\.0\.0\.1 is not public"
            ):
                await http.post(f"{receiver.url}/in", content=b"{}")
        assert receiver.received == []


async def test_a_name_is_resolved_checked_and_kept_in_the_host_header() -> None:
    with running_receiver() as receiver:
        url = f"http://localhost:{receiver.port}/in"
        async with webhook_client(ReferralSettings()) as http:
            with pytest.raises(AddressRefused, match="localhost: Address"):
                await http.post(url, content=b"{}")
        assert receiver.received == []
        async with webhook_client(ReferralSettings(webhook_allow_networks=LOOPBACK)) as http:
            response = await http.post(url, content=b"{}")
        assert response.status_code == 200
        [seen] = receiver.received
        assert seen.headers["host"] == f"localhost:{receiver.port}"


async def test_https_keeps_the_name_for_sni_and_the_certificate() -> None:
    seen: list[httpx.Request] = []

    def answer(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return httpx.Response(204)

    transport = GuardedTransport(AddressPolicy(LOOPBACK), httpx.MockTransport(answer))
    async with httpx.AsyncClient(transport=transport) as http:
        assert (await http.post("https://localhost:8443/hook", content=b"{}")).status_code == 204
    [request] = seen
    assert ipaddress.ip_address(request.url.host).is_loopback
    assert request.url.port == 8443 and request.url.path == "/hook"
    assert request.extensions["sni_hostname"] == "localhost"
    assert request.headers["host"] == "localhost:8443"


async def test_a_name_that_does_not_resolve_is_a_connect_error() -> None:
    async with webhook_client(ReferralSettings()) as http:
        with pytest.raises(httpx.ConnectError, match="cannot be resolved"):
            await http.post("https://no-such-host.invalid/hook", content=b"{}")
