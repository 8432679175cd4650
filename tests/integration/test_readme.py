"""The README runs: its `bash` blocks, in order, in one bash process, against a live server.

Convention (also stated in the README's "Try it"):

- Every fenced block whose language is `bash` is executed; blocks in any other language
  (`console`, `text`, …) are not — they start servers or show commands for another setup.
- A comment `# → text` states what is printed: the output of the commands run since the
  previous `# →` comment (for a trailing comment: usually just the command on its line) must
  contain `text`, where `…` stands for any characters within one line. Consecutive own-line
  `# →` comments check the same output (one line each, e.g. an SSE stream). Any other comment
  is free text and is not checked.
- A comment that looks like a value (a status code, a JSON body, an SSE line) but lacks the
  `→` fails the test: a value shown in the README is a value checked.

How: the blocks are joined into one script run with `set -euo pipefail` and a DEBUG trap that
prints a marker with `$LINENO` before each top-level command, so the output can be cut into
per-line pieces. `localhost:8000` is rewritten to the test server's port, and `TMPDIR` points
into the test's directory (the README writes its files to `mktemp -d`).

The server is the real service under uvicorn (`tests/support/servers.py`) with the README's
`ADMIN_USERNAME`/`ADMIN_PASSWORD`, the default rate limits (on, like `make run`) and cheap
argon2 (test environment). The README stays under the anonymous limit (60/minute per IP) and
its login example loops until the 429, so no step depends on timing. The one assumption on
speed: the batch example pauses a 1,000-item job right after queuing it (the job takes about a
second, the pause one request).
"""

from __future__ import annotations

import os
import re
import subprocess
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.support.servers import ROOT, LiveServer

pytestmark = [pytest.mark.integration, pytest.mark.slow]

README = ROOT / "README.md"
# The README tells readers to start the server this way; the test server gets the same admin.
ADMIN_USERNAME = "admin"
ADMIN_PASSWORD = "S3cret-Passw0rd-42"
START_LINE = f"ADMIN_USERNAME={ADMIN_USERNAME} ADMIN_PASSWORD='{ADMIN_PASSWORD}' make run"
README_BASE = "localhost:8000"

FENCE = re.compile(r"^```(\S*)\s*$")
CHECK = re.compile(r"(?:^|\s)# → (.+?)\s*$")
# A comment (own-line or trailing) that states a value without the arrow: a 3-digit status,
# a JSON object, or an SSE line.
UNCHECKED_VALUE = re.compile(r"(?:^|\s)#\s*(?:[1-5]\d\d\b(?![-–])|\{\"|data: )")
MARK = "\x1e"  # the DEBUG trap prints MARK<line>MARK before each top-level command
HEADER = ["set -euo pipefail", f'trap \'printf "{MARK}%d{MARK}" "$LINENO"\' DEBUG']


@dataclass(frozen=True)
class Line:
    """One line of the script and where it came from in the README."""

    text: str
    readme_line: int


@dataclass(frozen=True)
class Check:
    """`expected` must appear in what the script printed for script lines (after, upto]."""

    expected: str
    after: int
    upto: int
    readme_line: int


def bash_blocks(markdown: str) -> list[Line]:
    """The lines of every ```bash block, in order."""
    lines: list[Line] = []
    language: str | None = None
    for number, text in enumerate(markdown.splitlines(), start=1):
        fence = FENCE.match(text)
        if fence and language is None:
            language = fence.group(1)
        elif fence:
            language = None
        elif language == "bash":
            lines.append(Line(text, number))
    return lines


def checks(script: list[Line]) -> list[Check]:
    """The `# →` comments; script line numbers are 1-based, like bash's $LINENO."""
    found: list[Check] = []
    previous = 0  # the last script line already covered by a check
    group_after: int | None = None  # consecutive own-line checks share one range
    for number, line in enumerate(script, start=1):
        match = CHECK.search(line.text)
        own_line = line.text.lstrip().startswith("#")
        if match is None:
            if not own_line or line.text.strip() == "":
                group_after = None
            continue
        if own_line and group_after is not None:
            after = group_after
        else:
            after = previous
            group_after = after if own_line else None
        found.append(Check(match.group(1), after, number, line.readme_line))
        previous = number
    return found


def unchecked_values(script: list[Line]) -> list[str]:
    """Comments that show a value but are not `# →` checks."""
    return [
        f"README.md:{line.readme_line}: {line.text.strip()}"
        for line in script
        if UNCHECKED_VALUE.search(line.text) and not CHECK.search(line.text)
    ]


def pattern(expected: str) -> re.Pattern[str]:
    """`…` matches anything within a line; everything else literally."""
    return re.compile(".*?".join(re.escape(part) for part in expected.split("…")))


def output_by_line(stdout: str) -> list[tuple[int, str]]:
    """(script line of the command, what was printed until the next command)."""
    pieces = stdout.split(MARK)
    # pieces: [before the first marker, line, output, line, output, ...]
    return [(int(pieces[i]), pieces[i + 1]) for i in range(1, len(pieces) - 1, 2)]


def test_readme_blocks_run_in_order_and_print_what_they_say(
    live_server_factory: Callable[..., LiveServer], tmp_path: Path
) -> None:
    markdown = README.read_text(encoding="utf-8")
    assert START_LINE in markdown, "the README's start command and this test's admin differ"
    assert "DESIGN" not in markdown and "../shared" not in markdown
    body = bash_blocks(markdown)
    assert body, "no ```bash blocks found"
    assert not unchecked_values(body), "values shown without `# →`:\n" + "\n".join(
        unchecked_values(body)
    )

    server = live_server_factory(
        ADMIN_USERNAME=ADMIN_USERNAME,
        ADMIN_PASSWORD=ADMIN_PASSWORD,
        RATE_LIMIT_ENABLED="true",  # the defaults of `make run`, limits included
    )
    base = server.url.removeprefix("http://")
    script = [Line(text, 0) for text in HEADER] + [
        Line(line.text.replace(README_BASE, base), line.readme_line) for line in body
    ]
    path = tmp_path / "readme.sh"
    path.write_text("\n".join(line.text for line in script) + "\n", encoding="utf-8")
    scratch = tmp_path / "scratch"
    scratch.mkdir()
    result = subprocess.run(
        ["bash", str(path)],
        cwd=scratch,
        env={**os.environ, "TMPDIR": str(scratch), "LC_ALL": "C.UTF-8"},
        capture_output=True,
        text=True,
        encoding="utf-8",
        timeout=240,
        check=False,
    )
    pieces = output_by_line(result.stdout)
    printed = "".join(text for _line, text in pieces)
    last = pieces[-1][0] if pieces else 0
    where = f"last command at README.md:{script[last - 1].readme_line}" if last else "no command"
    assert result.returncode == 0, (
        f"the README's script failed with {result.returncode} ({where})\n"
        f"stdout (end):\n{printed[-3000:]}\nstderr:\n{result.stderr[-3000:]}"
    )
    assert "Traceback" not in result.stdout + result.stderr, result.stdout + result.stderr

    failures = []
    for check in checks(script):
        seen = "".join(text for line, text in pieces if check.after < line <= check.upto)
        if not pattern(check.expected).search(seen):
            failures.append(
                f"README.md:{check.readme_line}: expected {check.expected!r}\n  printed: {seen!r}"
            )
    assert not failures, "\n".join(failures)
