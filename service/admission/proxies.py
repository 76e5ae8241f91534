"""The client's address behind trusted reverse proxies (``service.trusted_proxies``).

The server reports the connection's peer as the client. Only when that peer is a configured proxy is
``X-Forwarded-For`` believed, read from the right: the first address that is not itself a trusted
proxy is the client. Anyone else's ``X-Forwarded-For`` is ignored, so it cannot dodge the rate limit.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Iterable

from litestar.types import ASGIApp, Receive, Scope, Send

Network = ipaddress.IPv4Network | ipaddress.IPv6Network


def parse_networks(entries: Iterable[str]) -> tuple[Network, ...]:
    """Addresses or networks as written in the config (``10.0.0.1``, ``10.0.0.0/8``, ``::1``)."""
    return tuple(ipaddress.ip_network(entry.strip(), strict=False) for entry in entries)


def _trusted(address: str, networks: tuple[Network, ...]) -> bool:
    try:
        ip = ipaddress.ip_address(address)
    except ValueError:
        return False
    return any(ip in network for network in networks)


def forwarded_client(peer: str, forwarded_for: str, networks: tuple[Network, ...]) -> str:
    """The client: ``peer`` unless it is a trusted proxy, then the rightmost untrusted address of
    ``X-Forwarded-For`` (the leftmost if every one is trusted)."""
    if not networks or not _trusted(peer, networks):
        return peer
    hops = [hop.strip() for hop in forwarded_for.split(",") if hop.strip()]
    for hop in reversed(hops):
        if not _trusted(hop, networks):
            return hop
    return hops[0] if hops else peer


class ProxyHeaders:
    """ASGI middleware: sets ``scope["client"]`` to the client behind trusted proxies."""

    def __init__(self, app: ASGIApp, networks: tuple[Network, ...]) -> None:
        self.app = app
        self.networks = networks

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        client = scope.get("client")
        if self.networks and scope["type"] in ("http", "websocket") and client:
            values = [v.decode("latin-1") for k, v in scope["headers"] if k == b"x-forwarded-for"]
            if values:
                host = forwarded_client(client[0], ",".join(values), self.networks)
                if host != client[0]:
                    scope["client"] = (host, 0)
        await self.app(scope, receive, send)
