"""The driver exception families that mean "this backend is unreachable or too slow now".

The HTTP layer maps them to 503 problems naming the backend (app/error_handlers.py); the few
callers with a documented degraded answer (the AI-result cache) catch them by these names.
"""

from __future__ import annotations

from redis import exceptions as redis_errors
from sqlalchemy import exc as sql_errors

# Refused, reset, closed, timed out (socket or blocking pool), still loading its data.
REDIS_OUTAGES: tuple[type[Exception], ...] = (
    redis_errors.ConnectionError,
    redis_errors.TimeoutError,
)
# Unreachable, silent (connect / statement timeouts, see app/storage/sql/engine.py), no free
# pooled connection in time, or a connection lost mid-statement.
SQL_OUTAGES: tuple[type[Exception], ...] = (
    sql_errors.OperationalError,
    sql_errors.InterfaceError,
    sql_errors.TimeoutError,
)
BACKEND_OUTAGES = REDIS_OUTAGES + SQL_OUTAGES
