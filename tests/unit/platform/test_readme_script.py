"""The README checker itself: which blocks run, which output each `# →` comment checks."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.support.readme_script import (
    Line,
    bash_blocks,
    failed_checks,
    run_script,
    unchecked_values,
)

pytestmark = pytest.mark.unit

MARKDOWN = """\
Text.

```console
make run   # not run
```

```bash
echo 204            # → 204
echo 200            # → 204
```

```text
echo never
```

```bash
for i in 1 2; do
  printf '%s ' "$i"
done; echo
# → 1 2
X=$(echo hidden)
printf 'a\\nb\\n'
# a free comment
# → a
# → b
echo "$X"           # → hid…en
```
"""


def lines(*texts: str) -> list[Line]:
    return [Line(text, number) for number, text in enumerate(texts, start=1)]


def test_only_bash_blocks_are_taken_with_their_readme_lines() -> None:
    body = bash_blocks(MARKDOWN)

    assert [line.text.split()[0] for line in body[:2]] == ["echo", "echo"]
    assert body[0].readme_line == 8
    assert not any("make run" in line.text or "never" in line.text for line in body)


def test_each_check_sees_what_was_printed_since_the_previous_one(tmp_path: Path) -> None:
    run = run_script(bash_blocks(MARKDOWN), tmp_path, timeout=30)

    assert run.returncode == 0, run.stderr
    assert run.printed == "204\n200\n1 2 \na\nb\nhidden\n"
    # Only the second line's claim is false; the message names its README line.
    assert failed_checks(run) == ["README.md:9: expected '204'\n  printed: '200\\n'"]


def test_a_failing_command_stops_the_script_and_names_its_line(tmp_path: Path) -> None:
    run = run_script(lines("echo one", "false", "echo never"), tmp_path, timeout=30)

    assert run.returncode == 1
    assert run.printed == "one\n"
    assert run.last_readme_line == 2


def test_a_failed_pipeline_stage_fails_the_script(tmp_path: Path) -> None:
    run = run_script(lines("false | cat", "echo never"), tmp_path, timeout=30)

    assert run.returncode == 1
    assert "never" not in run.printed


def test_values_without_the_arrow_are_reported() -> None:
    body = lines(
        "curl -s -X DELETE x   # 204",
        '# {"status": "ok"}',
        "# data: [DONE]",
        "curl -s x   # → 204",
        "# 1. classify (a numbered step, not a value)",
        "# username: 3–32 characters",
    )

    assert unchecked_values(body) == [
        "README.md:1: curl -s -X DELETE x   # 204",
        'README.md:2: # {"status": "ok"}',
        "README.md:3: # data: [DONE]",
    ]
