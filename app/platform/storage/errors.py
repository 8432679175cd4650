"""What a failing database raises, for code that must tell a storage outage from its own bugs
without importing the driver."""

from __future__ import annotations

from sqlalchemy.exc import SQLAlchemyError

# The SQL layer's errors and the OS's (a socket or file that went away).
DATABASE_ERRORS: tuple[type[Exception], ...] = (SQLAlchemyError, OSError)
