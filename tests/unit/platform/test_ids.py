"""Batched random ids stay unique, well-formed, and never repeat across a fork."""

from __future__ import annotations

import os
import re

import pytest

from app.platform.ids import RandomHex

pytestmark = pytest.mark.unit


def test_ids_are_hex_of_the_asked_size_and_unique_across_batches() -> None:
    ids = RandomHex(size=16, batch=8)
    drawn = [ids() for _ in range(1000)]  # 125 batches
    assert all(re.fullmatch(r"[0-9a-f]{32}", i) for i in drawn)
    assert len(set(drawn)) == len(drawn)


def test_a_forked_child_does_not_reuse_the_parents_pool() -> None:
    ids = RandomHex(size=12, batch=64)
    ids()  # the parent has drawn a batch and used one id of it
    read, write = os.pipe()
    pid = os.fork()
    if pid == 0:  # child: report its next ids, then leave without running pytest's teardown
        try:
            os.write(write, ",".join(ids() for _ in range(4)).encode())
        finally:
            os._exit(0)
    os.close(write)
    with os.fdopen(read) as pipe:
        child = pipe.read().split(",")
    os.waitpid(pid, 0)
    parent = [ids() for _ in range(4)]
    assert len(child) == 4
    assert not set(child) & set(parent)
