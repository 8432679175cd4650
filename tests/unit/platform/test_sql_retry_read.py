"""retry_read: one more try only when the connection was found dead."""

from __future__ import annotations

import pytest
from sqlalchemy.exc import OperationalError

from app.platform.storage.sql.retry import retry_read

pytestmark = pytest.mark.unit


class Reads:
    def __init__(self, *failures: Exception) -> None:
        self.failures = list(failures)
        self.calls = 0

    @retry_read
    async def get(self, key: str) -> str:
        self.calls += 1
        if self.failures:
            raise self.failures.pop(0)
        return key.upper()


def dead() -> OperationalError:
    return OperationalError("SELECT 1", None, ConnectionResetError(), connection_invalidated=True)


async def test_a_dead_connection_is_retried_once() -> None:
    reads = Reads(dead())
    assert await reads.get("a") == "A"
    assert reads.calls == 2


async def test_a_second_dead_connection_is_the_callers_error() -> None:
    reads = Reads(dead(), dead())
    with pytest.raises(OperationalError):
        await reads.get("a")
    assert reads.calls == 2


async def test_other_database_errors_are_not_retried() -> None:
    reads = Reads(OperationalError("SELECT 1", None, TimeoutError()))
    with pytest.raises(OperationalError):
        await reads.get("a")
    assert reads.calls == 1


async def test_a_timed_out_connection_is_not_retried() -> None:
    timed_out = OperationalError("SELECT 1", None, TimeoutError(), connection_invalidated=True)
    reads = Reads(timed_out)
    with pytest.raises(OperationalError):
        await reads.get("a")
    assert reads.calls == 1
