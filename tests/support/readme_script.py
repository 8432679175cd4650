"""Run a README's `bash` blocks as one script and check its `# → text` comments.

The convention is described in `tests/integration/test_readme.py`.
"""

from __future__ import annotations

import os
import re
import subprocess
from dataclasses import dataclass
from pathlib import Path

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


@dataclass(frozen=True)
class ScriptRun:
    """What one run of the script did: exit status, output cut per command, and its checks."""

    script: list[Line]
    returncode: int
    pieces: list[tuple[int, str]]
    stderr: str

    @property
    def printed(self) -> str:
        """Everything the script printed, without the markers."""
        return "".join(text for _line, text in self.pieces)

    @property
    def last_readme_line(self) -> int:
        """The README line of the last command that started (where a failure happened)."""
        return self.script[self.pieces[-1][0] - 1].readme_line if self.pieces else 0


def run_script(lines: list[Line], workdir: Path, *, timeout: float = 240.0) -> ScriptRun:
    """Run `lines` with `set -euo pipefail` in one bash process; `TMPDIR` inside `workdir`."""
    script = [Line(text, 0) for text in HEADER] + lines
    path = workdir / "readme.sh"
    path.write_text("\n".join(line.text for line in script) + "\n", encoding="utf-8")
    scratch = workdir / "scratch"
    scratch.mkdir(exist_ok=True)
    # A file, not stdin: a command reading stdin must not eat the rest of the script.
    result = subprocess.run(
        ["bash", str(path)],
        cwd=scratch,
        env={**os.environ, "TMPDIR": str(scratch), "LC_ALL": "C.UTF-8"},
        capture_output=True,
        text=True,
        encoding="utf-8",
        timeout=timeout,
        check=False,
    )
    return ScriptRun(script, result.returncode, output_by_line(result.stdout), result.stderr)


def failed_checks(run: ScriptRun) -> list[str]:
    """One message per `# →` comment whose text the script did not print."""
    failures = []
    for check in checks(run.script):
        seen = "".join(text for line, text in run.pieces if check.after < line <= check.upto)
        if not pattern(check.expected).search(seen):
            where = f"README.md:{check.readme_line}" if check.readme_line else f"line {check.upto}"
            failures.append(f"{where}: expected {check.expected!r}\n  printed: {seen!r}")
    return failures
