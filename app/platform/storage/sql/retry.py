"""Reads retried once on a fresh connection when the pooled one turned out to be dead.

After a database restart (or a proxy or firewall dropping idle sockets) every pooled connection
is dead, and the first statement on each fails. SQLAlchemy then marks the error
`connection_invalidated` and empties the pool, so running a read-only method once more opens a
fresh connection: a restart costs no failed request. A timeout is not retried (a frozen server
answers no better the second time). Writes are not retried here: whether a
lost COMMIT was applied is not known, and their callers own that decision.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Coroutine
from typing import Any, ParamSpec, TypeVar

from sqlalchemy.exc import DBAPIError

from app.platform.logging import get_logger

P = ParamSpec("P")
T = TypeVar("T")

_log = get_logger("app.platform.storage.sql")


def retry_read(
    fn: Callable[P, Coroutine[Any, Any, T]],
) -> Callable[P, Coroutine[Any, Any, T]]:
    """Decorate a read-only async method: one more try when its connection was found dead."""

    @functools.wraps(fn)
    async def run(*args: P.args, **kwargs: P.kwargs) -> T:
        try:
            return await fn(*args, **kwargs)
        except DBAPIError as exc:
            # A timeout is not retried: a frozen server would only double the wait for 503.
            if not exc.connection_invalidated or isinstance(exc.orig, TimeoutError):
                raise
            _log.info("sql_read_retried", operation=fn.__qualname__, error=type(exc).__name__)
            return await fn(*args, **kwargs)

    return run
