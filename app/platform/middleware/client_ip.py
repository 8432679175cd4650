"""Which address a request came from: `X-Forwarded-For` is believed only from trusted proxies."""

from __future__ import annotations

import ipaddress

from app.platform.middleware.types import Scope
from app.platform.networks import Network, parse_networks

__all__ = ["Network", "parse_networks", "resolve_client_ip"]


def _trusted(address: str, networks: tuple[Network, ...]) -> bool:
    try:
        ip = ipaddress.ip_address(address)
    except ValueError:
        return False
    return any(ip in net for net in networks)


def resolve_client_ip(scope: Scope, trusted: tuple[Network, ...]) -> str:
    """Walk `X-Forwarded-For` from the right, skipping trusted hops; else the peer address."""
    client = scope.get("client")
    peer = client[0] if client else "unknown"
    if not trusted or not _trusted(peer, trusted):
        return peer
    forwarded = [
        value.decode("latin-1") for name, value in scope["headers"] if name == b"x-forwarded-for"
    ]
    hops = [hop.strip() for line in forwarded for hop in line.split(",") if hop.strip()]
    for hop in reversed(hops):
        if not _trusted(hop, trusted):
            try:
                return str(ipaddress.ip_address(hop))
            except ValueError:
                return peer
    return hops[0] if hops else peer
