"""Whether a failure is the database out of reach: a state of the moment, which the client
may retry (a 503), not a bug (a 500)."""

import sqlite3

from django.db import InterfaceError, OperationalError

# PostgreSQL SQLSTATEs of a server that cannot serve now: connection exceptions (class 08),
# shutting down or starting up (57P01-57P03), too many connections (53300).
POSTGRES_UNAVAILABLE = ("08", "57P01", "57P02", "57P03", "53300")
# SQLite result codes of a database that cannot serve now: another writer holds it past the
# busy timeout, or the file cannot be opened, read or written.
SQLITE_UNAVAILABLE = (
    "SQLITE_BUSY",
    "SQLITE_LOCKED",
    "SQLITE_CANTOPEN",
    "SQLITE_IOERR",
    "SQLITE_FULL",
)


def is_unavailable(error: BaseException | None) -> bool:
    """True if `error`, or an error it was raised from (the session store, for one, wraps
    database errors in its own), says the database cannot be reached or used just now.

    A malformed statement, a missing table (SQLite reports both as OperationalError), a
    deadlock or a constraint are bugs or refusals, not an outage: False."""
    seen: set[int] = set()
    while error is not None and id(error) not in seen:
        seen.add(id(error))
        if isinstance(error, OperationalError | InterfaceError) and _out_of_reach(error):
            return True
        error = error.__cause__ or error.__context__
    return False


def _out_of_reach(error: OperationalError | InterfaceError) -> bool:
    driver_error = error.__cause__
    if isinstance(driver_error, sqlite3.Error):
        return (getattr(driver_error, "sqlite_errorname", None) or "").startswith(
            SQLITE_UNAVAILABLE
        )
    if isinstance(error, InterfaceError):  # psycopg: the connection is closed or broken
        return True
    # psycopg gives no SQLSTATE when the server never answered: refused, dropped, or no
    # connection free in the pool in time.
    sqlstate = getattr(driver_error, "sqlstate", None)
    return sqlstate is None or sqlstate.startswith(POSTGRES_UNAVAILABLE)
