"""What a failing backend raises, for code that must tell an outage from its own bugs without
importing the driver.

The HTTP layer maps the `*_OUTAGES` families to 503 problems naming the backend
(app/platform/error_handlers.py); the few callers with a documented degraded answer (the
AI-result cache) catch them by these names.
"""

from __future__ import annotations

from redis import exceptions as redis_errors
from sqlalchemy import exc as sql_errors
from sqlalchemy.exc import SQLAlchemyError

# The SQL layer's errors and the OS's (a socket or file that went away).
DATABASE_ERRORS: tuple[type[Exception], ...] = (SQLAlchemyError, OSError)

# Refused, reset, closed, timed out (socket or blocking pool), still loading its data; on a
# Redis Cluster also a shard without a master (CLUSTERDOWN, MASTERDOWN, TRYAGAIN while a
# failover or slot move is under way, a slot no known node serves).
REDIS_OUTAGES: tuple[type[Exception], ...] = (
    redis_errors.ConnectionError,
    redis_errors.TimeoutError,
    redis_errors.ClusterDownError,
    redis_errors.TryAgainError,
    redis_errors.SlotNotCoveredError,
)
# Unreachable, silent (connect / statement timeouts, see app/platform/storage/sql/engine.py),
# no free pooled connection in time, or a connection lost mid-statement.
SQL_OUTAGES: tuple[type[Exception], ...] = (
    sql_errors.OperationalError,
    sql_errors.InterfaceError,
    sql_errors.TimeoutError,
)
BACKEND_OUTAGES = REDIS_OUTAGES + SQL_OUTAGES
# Every error the driver reported: outage-shaped or a bug (see `is_database_outage`).
SQL_DRIVER_ERROR: type[Exception] = sql_errors.DBAPIError


def is_database_outage(exc: BaseException) -> bool:
    """Whether a SQL error means the database is away or too slow (else: a bug, e.g. a
    constraint): connection lost or refused, timeouts, cancelled statements (PostgreSQL's
    statement_timeout arrives as the driver's generic error class)."""
    if isinstance(exc, SQL_OUTAGES):
        return True
    if isinstance(exc, sql_errors.DBAPIError):
        return bool(exc.connection_invalidated) or type(exc) is sql_errors.DBAPIError
    return False
