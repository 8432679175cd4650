"""IP networks from settings (CIDRs or bare addresses): trusted proxies, the admin and monitoring
allow-lists."""

from __future__ import annotations

import ipaddress
from collections.abc import Iterable

Network = ipaddress.IPv4Network | ipaddress.IPv6Network


def parse_networks(items: Iterable[str]) -> tuple[Network, ...]:
    """Parse CIDRs or bare addresses into networks."""
    return tuple(ipaddress.ip_network(item, strict=False) for item in items)


def address_in(address: str, networks: Iterable[Network]) -> bool:
    """True when `address` is an IP inside one of `networks` (never for a malformed address)."""
    try:
        ip = ipaddress.ip_address(address)
    except ValueError:
        return False
    return any(ip in network for network in networks)
