"""Where a webhook may be sent (events-and-scale-out.md, SSRF protection).

A URL is checked on create/update and again at every attempt: its host is resolved and every
address must be public. The attempt then connects to the address that was vetted, keeping the
host name for ``Host`` and TLS SNI, so a DNS answer that changes between check and connect
(rebinding) cannot point it elsewhere."""

from __future__ import annotations

import asyncio
import ipaddress
import socket
from dataclasses import dataclass
from urllib.parse import SplitResult, urlsplit

from mercato.errors import invalid
from mercato.webhooks.config import webhook_settings

URL_MESSAGE = "url must be an absolute https URL"
MAX_URL_LENGTH = 2048
RESOLVE_TIMEOUT_S = 5.0
_NAT64 = ipaddress.ip_network("64:ff9b::/96")

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address


class Blocked(Exception):
    """The target cannot be sent to; ``str()`` is the message a caller shows."""


def check_url(url: object) -> SplitResult:
    """The URL's parts, or the spec's 400: absolute https (http only when allowed), at most 2048
    characters, no user-info, no fragment."""
    if not isinstance(url, str) or not url or len(url) > MAX_URL_LENGTH:
        raise invalid(URL_MESSAGE)
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError:
        raise invalid(URL_MESSAGE) from None
    schemes = ("https", "http") if webhook_settings().allow_http else ("https",)
    if (
        parts.scheme not in schemes
        or not parts.hostname
        or "@" in parts.netloc
        or parts.fragment
        or "#" in url
        or any(c.isspace() for c in url)
        or (port is not None and port == 0)
    ):
        raise invalid(URL_MESSAGE)
    return parts


def is_public(address: IPAddress) -> bool:
    """Whether an address may be a webhook target: global, not multicast, not NAT64 (after
    unmapping IPv4-mapped IPv6)."""
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        address = address.ipv4_mapped
    if address.is_multicast or not address.is_global:
        return False
    return not (isinstance(address, ipaddress.IPv6Address) and address in _NAT64)


async def resolve(host: str, port: int) -> list[IPAddress]:
    """Every address ``host`` resolves to (an IP literal is its own answer)."""
    try:
        return [ipaddress.ip_address(host.strip("[]"))]
    except ValueError:
        pass
    loop = asyncio.get_running_loop()
    try:
        infos = await asyncio.wait_for(
            loop.getaddrinfo(host, port, type=socket.SOCK_STREAM), RESOLVE_TIMEOUT_S
        )
    except TimeoutError:
        raise OSError(f"resolving {host} timed out") from None
    found: list[IPAddress] = []
    for info in infos:
        address = ipaddress.ip_address(str(info[4][0]).split("%")[0])
        if address not in found:
            found.append(address)
    return found


@dataclass(frozen=True)
class Target:
    """A vetted destination: the URL, its host name, and the addresses to connect to (in the
    resolver's order; the next is tried when one refuses the connection)."""

    url: str
    scheme: str
    host: str
    port: int
    addresses: tuple[IPAddress, ...]


def _port(parts: SplitResult) -> int:
    return parts.port or (443 if parts.scheme == "https" else 80)


async def vet(url: str) -> Target:
    """Resolve ``url``'s host and check every address, raising :class:`Blocked` with the
    attempt's error text (an attempt never sends to a refused address)."""
    parts = urlsplit(url)
    host = parts.hostname or ""
    try:
        addresses = await resolve(host, _port(parts))
    except OSError:
        raise Blocked(f"url host {host} does not resolve") from None
    if not addresses:
        raise Blocked(f"url host {host} does not resolve")
    if not webhook_settings().allow_private_targets:
        for address in addresses:
            if not is_public(address):
                raise Blocked(f"blocked: {address} is not a public address")
    return Target(url, parts.scheme, host, _port(parts), tuple(addresses))


async def check_target(url: object) -> str:
    """Create/update: the URL rules, then every resolved address public (400s of the spec)."""
    parts = check_url(url)
    assert isinstance(url, str)
    host = parts.hostname or ""
    try:
        addresses = await resolve(host, _port(parts))
    except OSError:
        addresses = []
    if not addresses:
        raise invalid(f"url host {host} does not resolve")
    if not webhook_settings().allow_private_targets:
        for address in addresses:
            if not is_public(address):
                raise invalid(f"url resolves to a non-public address ({address})")
    return url
