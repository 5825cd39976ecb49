"""Outgoing webhook requests reach public addresses only.

A webhook URL is chosen by a partner, so the service must not become a way into the
networks it runs in: the database, the other services on loopback, a cloud's metadata
address (169.254.169.254), an office intranet. Every webhook request therefore goes
through `GuardedTransport`, which resolves the host itself, refuses when any address it
resolves to is not public (unless an operator allowed that network in
`webhook_allow_networks`), and connects to the address it checked, so a name that
resolves differently a moment later (DNS rebinding) changes nothing. The name still goes
in the Host header and, for https, in SNI and the certificate check.
"""

from __future__ import annotations

import asyncio
import ipaddress
import socket
from collections.abc import Sequence

import httpx

from selaras_referral.settings import ReferralSettings
from selaras_shared.i18n import Text

Address = ipaddress.IPv4Address | ipaddress.IPv6Address
Network = ipaddress.IPv4Network | ipaddress.IPv6Network


class AddressPolicy:
    """Which addresses webhook requests may go to: public ones, and `allowed` networks."""

    def __init__(self, allowed: Sequence[str] = ()) -> None:
        self.allowed: tuple[Network, ...] = tuple(ipaddress.ip_network(n) for n in allowed)

    @classmethod
    def from_settings(cls, settings: ReferralSettings) -> AddressPolicy:
        """The policy of `webhook_allow_networks`."""
        return cls(settings.webhook_allow_networks)

    def refusal(self, address: Address) -> Text | None:
        """Why a request may not go to `address`, or None when it may."""
        # ::ffff:127.0.0.1 is 127.0.0.1: an IPv4 address written as IPv6 is judged as IPv4.
        mapped = address.ipv4_mapped if isinstance(address, ipaddress.IPv6Address) else None
        judged = mapped or address
        if any(judged in network for network in self.allowed):
            return None
        if judged.is_global and not judged.is_multicast:
            return None
        return Text(
            "Alamat {address} bukan alamat publik (jaringan internal tidak diizinkan)",
            "Address {address} is not public (internal networks are not allowed)",
            {"address": str(address)},
        )


def literal_address(host: str) -> Address | None:
    """`host` as an IP address when it is one (brackets of IPv6 allowed), else None."""
    try:
        return ipaddress.ip_address(host.strip("[]"))
    except ValueError:
        return None


class AddressRefused(httpx.ConnectError):
    """The host resolved to an address the policy refuses; nothing was sent."""


class GuardedTransport(httpx.AsyncBaseTransport):
    """Sends through `inner` only to addresses `policy` allows, connecting to the checked
    address itself (see the module's description)."""

    def __init__(self, policy: AddressPolicy, inner: httpx.AsyncBaseTransport) -> None:
        self.policy = policy
        self.inner = inner

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        """Resolve, check every address, then send to the first that takes the connection."""
        host = request.url.host
        addresses = await self._resolve(request)
        for address in addresses:
            reason = self.policy.refusal(address)
            if reason is not None:
                raise AddressRefused(f"{host}: {reason.render('en')}", request=request)
        if literal_address(host) is not None:
            return await self.inner.handle_async_request(request)
        if request.url.scheme == "https":
            request.extensions = {**request.extensions, "sni_hostname": host}
        named = request.url
        for address in addresses[:-1]:
            request.url = named.copy_with(host=str(address))
            try:
                return await self.inner.handle_async_request(request)
            except httpx.ConnectError:
                continue
        request.url = named.copy_with(host=str(addresses[-1]))
        return await self.inner.handle_async_request(request)

    async def _resolve(self, request: httpx.Request) -> list[Address]:
        literal = literal_address(request.url.host)
        if literal is not None:
            return [literal]
        port = request.url.port or (443 if request.url.scheme == "https" else 80)
        try:
            found = await asyncio.get_running_loop().getaddrinfo(
                request.url.host, port, type=socket.SOCK_STREAM
            )
        except OSError as exc:
            raise httpx.ConnectError(
                f"{request.url.host}: cannot be resolved ({exc})", request=request
            ) from exc
        addresses: list[Address] = []
        for *_, sockaddr in found:
            address = ipaddress.ip_address(sockaddr[0])
            if address not in addresses:
                addresses.append(address)
        return addresses

    async def aclose(self) -> None:
        """Close the inner transport."""
        await self.inner.aclose()


def webhook_client(
    settings: ReferralSettings, inner: httpx.AsyncBaseTransport | None = None
) -> httpx.AsyncClient:
    """The HTTP client of webhook deliveries and pings, behind the address policy
    (`inner` stands in for the network in tests)."""
    limits = httpx.Limits(max_connections=settings.webhook_concurrency)
    transport = GuardedTransport(
        AddressPolicy.from_settings(settings), inner or httpx.AsyncHTTPTransport(limits=limits)
    )
    return httpx.AsyncClient(transport=transport)
