"""Route patterns of the rate-limit settings: `[METHOD[|METHOD]] /path`, where `{name}` is one
path segment and `*` is anything (a leaf module: settings validation imports it)."""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass

_METHOD_RE = re.compile(r"^[A-Z]+(\|[A-Z]+)*$")


@dataclass(frozen=True, slots=True)
class PathPattern:
    """`[METHOD[|METHOD]] /path` where `{name}` is one segment and `*` is anything."""

    text: str
    methods: frozenset[str] | None
    regex: re.Pattern[str]

    def matches(self, method: str, path: str) -> bool:
        """Whether a request with this method and path falls under the pattern."""
        if self.methods is not None and method not in self.methods:
            return False
        return self.regex.match(path) is not None


def compile_pattern(text: str) -> PathPattern:
    """Compile `POST /api/purchase/{id}`, `/api/inventory*` or `GET|HEAD /x`."""
    parts = text.strip().split()
    if len(parts) == 2 and _METHOD_RE.match(parts[0].upper()):
        methods: frozenset[str] | None = frozenset(parts[0].upper().split("|"))
        path = parts[1]
    elif len(parts) == 1:
        methods, path = None, parts[0]
    else:
        raise ValueError(f"{text!r} is not a route pattern like 'POST /api/items/{{id}}'")
    if not path.startswith("/"):
        raise ValueError(f"{text!r}: the path must start with '/'")
    regex = ""
    for piece in re.split(r"(\{[^/{}]+\}|\*)", path):
        if piece == "*":
            regex += ".*"
        elif piece.startswith("{") and piece.endswith("}"):
            regex += "[^/]+"
        else:
            regex += re.escape(piece)
    return PathPattern(text=text.strip(), methods=methods, regex=re.compile(f"^{regex}$"))


def compile_patterns(items: Iterable[str]) -> tuple[PathPattern, ...]:
    """Compile every pattern of a list setting."""
    return tuple(compile_pattern(item) for item in items if item.strip())
