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

from collections.abc import Callable
from pathlib import Path

import pytest

from tests.support.readme_script import (
    Line,
    bash_blocks,
    failed_checks,
    run_script,
    unchecked_values,
)
from tests.support.servers import ROOT, LiveServer

pytestmark = [pytest.mark.integration, pytest.mark.slow]
# ~60 commands, each a curl and most a python3: ~30 s idle, 2.5 min seen under a load of 30 on
# 2 cores. The limits catch a hang, not slowness.
SCRIPT_TIMEOUT_S = 420

README = ROOT / "README.md"
# The README tells readers to start the server this way; the test server gets the same admin.
ADMIN_USERNAME = "admin"
ADMIN_PASSWORD = "S3cret-Passw0rd-42"
START_LINE = f"ADMIN_USERNAME={ADMIN_USERNAME} ADMIN_PASSWORD='{ADMIN_PASSWORD}' make run"
README_BASE = "localhost:8000"


@pytest.mark.timeout(SCRIPT_TIMEOUT_S + 180)
def test_readme_blocks_run_in_order_and_print_what_they_say(
    live_server_factory: Callable[..., LiveServer], tmp_path: Path
) -> None:
    markdown = README.read_text(encoding="utf-8")
    assert START_LINE in markdown, "the README's start command and this test's admin differ"
    body = bash_blocks(markdown)
    assert body, "no ```bash blocks found"
    unchecked = unchecked_values(body)
    assert not unchecked, "values shown without `# →`:\n" + "\n".join(unchecked)

    server = live_server_factory(
        ADMIN_USERNAME=ADMIN_USERNAME,
        ADMIN_PASSWORD=ADMIN_PASSWORD,
        RATE_LIMIT_ENABLED="true",  # the defaults of `make run`, limits included
    )
    base = server.url.removeprefix("http://")
    script = [Line(line.text.replace(README_BASE, base), line.readme_line) for line in body]
    run = run_script(script, tmp_path, timeout=SCRIPT_TIMEOUT_S)

    assert run.returncode == 0, (
        f"the README's script failed with {run.returncode} (last command at "
        f"README.md:{run.last_readme_line})\nstdout (end):\n{run.printed[-3000:]}\n"
        f"stderr:\n{run.stderr[-3000:]}"
    )
    assert "Traceback" not in run.printed + run.stderr, run.printed + run.stderr
    failures = failed_checks(run)
    assert not failures, "\n".join(failures)
