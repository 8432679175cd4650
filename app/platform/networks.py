"""IP networks from settings (CIDRs or bare addresses): trusted proxies, the admin allow-list."""

from __future__ import annotations

import ipaddress
from collections.abc import Iterable

Network = ipaddress.IPv4Network | ipaddress.IPv6Network


def parse_networks(items: Iterable[str]) -> tuple[Network, ...]:
    """Parse CIDRs or bare addresses into networks."""
    return tuple(ipaddress.ip_network(item, strict=False) for item in items)
