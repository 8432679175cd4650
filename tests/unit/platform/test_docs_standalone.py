"""The repository stands alone: no tracked file points outside it, and doc links resolve."""

from __future__ import annotations

import re
import subprocess
from pathlib import Path

import pytest

pytestmark = pytest.mark.unit

ROOT = Path(__file__).resolve().parents[3]

# Written in pieces so this file does not match itself.
FORBIDDEN = ("../" + "shared", "shared/" + "DESIGN", "DESIGN" + " §")

# Lines another branch is rewriting (README.md belongs to the README work of issue 13); each entry
# is one exact line, so any new reference anywhere still fails. Remove an entry once its line is gone.
PENDING_ELSEWHERE: dict[str, frozenset[str]] = {}

_FENCE = re.compile(r"^(```|~~~).*?^\1", re.DOTALL | re.MULTILINE)
_CODE_SPAN = re.compile(r"`[^`\n]*`")
_LINK = re.compile(r"\[[^\]\n]*\]\(\s*(?:<([^>\n]+)>|([^)\s]+))(?:\s+\"[^\"]*\")?\s*\)")


def tracked_files() -> list[Path]:
    """Every file git tracks in this checkout."""
    try:
        out = subprocess.run(
            ["git", "ls-files", "-z"], cwd=ROOT, capture_output=True, check=True
        ).stdout
    except (OSError, subprocess.CalledProcessError) as exc:
        pytest.fail(f"git ls-files failed in {ROOT}: {exc}")
    return [ROOT / name for name in out.decode().split("\0") if name]


def markdown_links(text: str) -> list[str]:
    """Link targets of a Markdown text, outside code blocks and code spans."""
    text = _CODE_SPAN.sub("", _FENCE.sub("", text))
    return [angled or bare for angled, bare in _LINK.findall(text)]


def test_no_tracked_file_refers_outside_the_repository() -> None:
    """No tracked file mentions the design file that lives outside the repository."""
    found = []
    for path in tracked_files():
        try:
            text = path.read_text(encoding="utf-8")
        except (UnicodeDecodeError, FileNotFoundError):
            continue  # binary files, and files deleted in the work tree but not yet in git
        rel = path.relative_to(ROOT).as_posix()
        pending = PENDING_ELSEWHERE.get(rel, frozenset())
        for number, line in enumerate(text.splitlines(), 1):
            if line in pending:
                continue
            found += [f"{rel}:{number}: {word!r}" for word in FORBIDDEN if word in line]
    assert found == [], "move the content into docs/ and link it there:\n" + "\n".join(found)


def test_relative_links_in_docs_and_readme_resolve() -> None:
    """Every relative link in docs/**/*.md and README.md names a file or folder that exists."""
    pages = [*sorted((ROOT / "docs").rglob("*.md")), ROOT / "README.md"]
    assert len(pages) > 1
    broken = []
    for page in pages:
        for target in markdown_links(page.read_text(encoding="utf-8")):
            if re.match(r"^[a-z][a-z0-9+.-]*:", target, re.IGNORECASE) or target.startswith("#"):
                continue  # http:, https:, mailto: and in-page anchors
            path = target.split("#", 1)[0].split("?", 1)[0]
            resolved = (page.parent / path).resolve()
            inside = resolved == ROOT or ROOT in resolved.parents
            if not inside or not resolved.exists():
                broken.append(f"{page.relative_to(ROOT).as_posix()}: {target}")
    assert broken == [], "broken relative links:\n" + "\n".join(broken)


def test_link_parser_sees_links_but_not_code() -> None:
    """The link finder skips fenced blocks and code spans, and keeps titles out of the target."""
    text = (
        'See [a](docs/a.md#x) and [b](<b c.md>) and [t](t.md "title").\n'
        "`[no](code.md)`\n```\n[no](fenced.md)\n```\n"
    )
    assert markdown_links(text) == ["docs/a.md#x", "b c.md", "t.md"]
