"""`make help` lists every target and `python -m app ... --help` describes every option."""

from __future__ import annotations

import re
import shutil
import subprocess

import pytest

from app.__main__ import main
from tests.support.servers import ROOT

pytestmark = pytest.mark.unit

COMMANDS = ("serve", "migrate", "create-admin")


def makefile_targets() -> tuple[set[str], set[str]]:
    """(targets with a rule of their own name, targets declared .PHONY) in the Makefile."""
    text = (ROOT / "Makefile").read_text()
    rules = set(re.findall(r"^([A-Za-z][A-Za-z0-9_-]*)\s*:(?!=)", text, re.M))
    phony = set(re.search(r"^\.PHONY:(.*)$", text, re.M).group(1).split())  # type: ignore[union-attr]
    return rules, phony


def test_make_help_lists_every_target_with_a_description() -> None:
    make = shutil.which("make")
    assert make is not None, "make is not installed"
    out = subprocess.run(
        [make, "-s", "--no-print-directory", "help"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=True,
        timeout=60,
    ).stdout
    listed = dict(re.findall(r"^make (\S+) +(\S.*)$", out, re.M))
    rules, phony = makefile_targets()
    assert rules == phony  # every named target is a command, not a file
    assert set(listed) == rules
    assert all(description.strip() for description in listed.values())


def help_text(capsys: pytest.CaptureFixture[str], *argv: str) -> str:
    with pytest.raises(SystemExit) as exited:
        main([*argv, "--help"])
    assert exited.value.code == 0
    return capsys.readouterr().out


def help_entries(text: str, section: str) -> dict[str, str]:
    """`{invocation: description}` of one section of argparse's help ('options:' etc.)."""
    lines = text.split(f"\n{section}\n", 1)[1].split("\n\n", 1)[0].splitlines()
    entries: dict[str, str] = {}
    current = ""
    for line in lines:
        if re.match(r"^ {2,4}\S", line):  # an entry starts; its text follows 2+ spaces on
            invocation, _, description = line.strip().partition("  ")  # the line or below
            current = invocation
            entries[current] = description.strip()
        elif current:
            entries[current] = (entries[current] + " " + line.strip()).strip()
    return entries


@pytest.mark.parametrize("command", COMMANDS)
def test_every_option_of_every_command_has_help(
    capsys: pytest.CaptureFixture[str], command: str
) -> None:
    text = help_text(capsys, command)
    options = help_entries(text, "options:")
    assert "-h, --help" in options
    assert all(options.values()), options
    # The description says what the command does, above the options.
    assert text.split("\n\n")[1].strip()


def test_serve_describes_workers_and_reload(capsys: pytest.CaptureFixture[str]) -> None:
    options = help_entries(help_text(capsys, "serve"), "options:")
    assert set(options) == {"-h, --help", "--workers N", "--reload"}
    assert "worker processes" in options["--workers N"]
    assert "REDIS_URL" in options["--workers N"]
    assert "source file changes" in options["--reload"]


def test_the_top_level_help_names_every_command(capsys: pytest.CaptureFixture[str]) -> None:
    text = help_text(capsys)
    commands = help_entries(text, "positional arguments:")
    described = {name: text for name, text in commands.items() if name in COMMANDS}
    assert set(described) == set(COMMANDS)
    assert all(described.values()), described
