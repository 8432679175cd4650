"""Port claims (bench/harness.py): two processes never get one port; a dead owner's claim is freed."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from bench import harness

pytestmark = pytest.mark.unit


@pytest.fixture
def claims(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    directory = tmp_path / "claims"
    monkeypatch.setenv(harness.PORT_CLAIMS_ENV, str(directory))
    return directory


def test_a_claim_records_its_owner_and_release_removes_it(claims: Path) -> None:
    port = harness.free_port()
    claim = claims / str(port)
    assert claim.read_text() == str(os.getpid())
    harness.release_port_claims()
    assert not claim.exists()


def test_a_port_claimed_by_a_live_process_is_not_handed_out(claims: Path) -> None:
    claims.mkdir()
    claim = claims / "40000"
    claim.write_text(str(os.getppid()))  # our parent is alive for the whole test
    assert harness.claim_port(claim) is False
    assert claim.read_text() == str(os.getppid())


def test_a_dead_owners_claim_is_taken_over(claims: Path) -> None:
    child = subprocess.run(
        [sys.executable, "-c", "import os; print(os.getpid())"],
        capture_output=True,
        text=True,
        check=True,
    )
    dead_pid = int(child.stdout)  # the child has exited and been reaped
    claims.mkdir()
    claim = claims / "40001"
    claim.write_text(str(dead_pid))
    assert harness.claim_port(claim) is True
    assert claim.read_text() == str(os.getpid())
    claim.unlink()
