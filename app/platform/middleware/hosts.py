"""Which `Host` headers the service answers (`ALLOWED_HOSTS`): links and redirects built from
an attacker's Host (cache poisoning, password-reset style phishing) start from it."""

from __future__ import annotations

from collections.abc import Iterable

# Probes address a pod or container by its IP, whatever the public name is.
UNCHECKED_PREFIXES = ("/health",)


class HostPolicy:
    """Exact names and `*.suffix` wildcards, matched case-insensitively without the port."""

    def __init__(self, allowed: Iterable[str]) -> None:
        names = [name.strip().lower() for name in allowed if name.strip()]
        self.any = "*" in names
        self.exact = frozenset(n for n in names if not n.startswith("*."))
        self.suffixes = tuple(n[1:] for n in names if n.startswith("*."))

    def allows(self, path: str, host: bytes | None) -> bool:
        """Whether a request for `path` with this Host header may be answered."""
        if self.any or path.startswith(UNCHECKED_PREFIXES):
            return True
        if host is None:
            return False
        name = host.decode("latin-1").strip().lower()
        # Without the port: "[::1]:8000" → "[::1]", "api.example.com:443" → "api.example.com".
        name = name[: name.find("]") + 1] if name.startswith("[") else name.rsplit(":", 1)[0]
        return name in self.exact or (bool(name) and name.endswith(self.suffixes))
