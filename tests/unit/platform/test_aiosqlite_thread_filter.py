"""The one thread failure the suite lets through (pyproject's filterwarnings): an aiosqlite
worker thread answering a loop that has closed (omnilib/aiosqlite#241). Shown here as it
happens, and the filter shown to let nothing else through."""

from __future__ import annotations

import asyncio
import threading
import warnings

import aiosqlite
import pytest

pytestmark = pytest.mark.unit


def test_a_connection_stopped_after_its_loop_closed_fails_its_worker_thread(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    failures: list[tuple[str, BaseException | None]] = []
    monkeypatch.setattr(
        threading, "excepthook", lambda args: failures.append((args.thread.name, args.exc_value))
    )
    before = set(threading.enumerate())
    loop = asyncio.new_event_loop()
    asyncio.set_event_loop(loop)
    try:
        connection = loop.run_until_complete(aiosqlite.connect(":memory:"))
        (worker,) = set(threading.enumerate()) - before
        loop.close()
        # What SQLAlchemy's terminate does to an aiosqlite connection: stop(), whose future
        # belongs to the (now closed) current loop.
        connection.stop()
        worker.join(timeout=60)
    finally:
        asyncio.set_event_loop(None)
    assert not worker.is_alive()
    assert worker.name.endswith("(_connection_worker_thread)")
    assert [(name, str(exc)) for name, exc in failures] == [(worker.name, "Event loop is closed")]


def test_the_filter_lets_through_aiosqlite_worker_threads_only() -> None:
    # Under the suite's filters ("error" first): this one is ignored ...
    warnings.warn(
        pytest.PytestUnhandledThreadExceptionWarning(
            "Exception in thread Thread-247 (_connection_worker_thread)\n"
            "Enable tracemalloc to get traceback where the object was allocated."
        ),
        stacklevel=1,
    )
    # ... and any other thread's failure still fails the test that sees it.
    with pytest.raises(pytest.PytestUnhandledThreadExceptionWarning):
        warnings.warn(
            pytest.PytestUnhandledThreadExceptionWarning(
                "Exception in thread Thread-248 (batch-worker)"
            ),
            stacklevel=1,
        )
