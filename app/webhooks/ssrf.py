"""Where webhooks may go: the one place for the address rules (server-side request forgery).

A webhook URL must be `https://` and its host must resolve only to public addresses: no
loopback, private (RFC 1918, fc00::/7), shared (100.64.0.0/10), link-local, multicast,
unspecified or reserved address. The rule is checked when an endpoint is created or its
URL changed (`check_url`) and again at every attempt (`PublicOnlyResolver`), because a
name may resolve elsewhere later (DNS rebinding): the sender resolves once, checks every
address, and connects to exactly the addresses it checked. `WEBHOOK_ALLOW_INSECURE=1`
lifts both rules (development, tests, intranets).
"""

from __future__ import annotations

import asyncio
import ipaddress
import socket
from urllib.parse import SplitResult, urlsplit

from aiohttp.abc import AbstractResolver, ResolveResult
from aiohttp.resolver import ThreadedResolver

URL_MAX = 2048
# How long creating or changing an endpoint waits for its host to resolve.
RESOLVE_TIMEOUT_SECONDS = 5.0
IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address


class UnsafeTarget(ValueError):
    """A URL or address webhooks may not be sent to; the message says why."""


def is_public(address: IPAddress) -> bool:
    """A globally routable unicast address."""
    if isinstance(address, ipaddress.IPv6Address):
        mapped = address.ipv4_mapped or address.sixtofour
        if mapped is not None:
            return is_public(mapped)
    return address.is_global and not (
        address.is_multicast
        or address.is_loopback
        or address.is_private
        or address.is_link_local
        or address.is_unspecified
        or address.is_reserved
    )


def check_address(host: str, address: str) -> None:
    try:
        ip = ipaddress.ip_address(address.split("%", 1)[0])
    except ValueError as exc:
        raise UnsafeTarget(f"{host} resolves to {address!r}, not an IP address.") from exc
    if not is_public(ip):
        raise UnsafeTarget(
            f"{host} resolves to {ip}, a loopback, private, link-local, multicast, "
            "unspecified or reserved address: webhooks go to public addresses only."
        )


def literal_address(host: str) -> IPAddress | None:
    try:
        return ipaddress.ip_address(host.strip("[]"))
    except ValueError:
        return None


def parse_url(url: str, allow_insecure: bool) -> SplitResult:
    """The URL's parts when its form is acceptable (scheme, host, length), else UnsafeTarget.
    Addresses are not looked at here."""
    if len(url) > URL_MAX:
        raise UnsafeTarget(f"The URL is longer than {URL_MAX} characters.")
    if any(ch.isspace() or ord(ch) < 0x20 for ch in url):
        raise UnsafeTarget("The URL contains spaces or control characters.")
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError as exc:
        raise UnsafeTarget("The URL is not valid.") from exc
    allowed = ("https", "http") if allow_insecure else ("https",)
    if parts.scheme not in allowed:
        raise UnsafeTarget("The URL must start with https://.")
    if not parts.hostname:
        raise UnsafeTarget("The URL has no host.")
    if parts.username is not None or parts.password is not None:
        raise UnsafeTarget("The URL must not carry a user name or password.")
    if port == 0:
        raise UnsafeTarget("The URL's port is not valid.")
    return parts


async def check_url(url: str, allow_insecure: bool) -> None:
    """The rules at creation and update: the form, and every address the host resolves to
    now (a host that does not resolve is refused too)."""
    parts = parse_url(url, allow_insecure)
    if allow_insecure:
        return
    host = parts.hostname or ""
    literal = literal_address(host)
    if literal is not None:
        check_address(host, str(literal))
        return
    try:
        infos = await asyncio.wait_for(
            asyncio.get_running_loop().getaddrinfo(
                host, parts.port or 443, type=socket.SOCK_STREAM
            ),
            RESOLVE_TIMEOUT_SECONDS,
        )
    except (socket.gaierror, UnicodeError, TimeoutError) as exc:
        raise UnsafeTarget(f"{host} does not resolve.") from exc
    for info in infos:
        check_address(host, str(info[4][0]))


class PublicOnlyResolver(AbstractResolver):
    """Resolves once and hands aiohttp only addresses it has checked; a name with any
    non-public address is refused whole (a rebinding name often mixes both)."""

    def __init__(self) -> None:
        self._resolver = ThreadedResolver()

    async def resolve(
        self, host: str, port: int = 0, family: socket.AddressFamily = socket.AF_INET
    ) -> list[ResolveResult]:
        results = await self._resolver.resolve(host, port, family)
        for result in results:
            check_address(host, result["host"])
        return results

    async def close(self) -> None:
        await self._resolver.close()
