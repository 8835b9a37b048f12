"""Whether a failure is the database out of reach: a state of the moment, which the client
may retry (a 503), not a bug (a 500)."""

import sqlite3
import threading
import time

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


class CircuitBreaker:
    """Once a connection to the database has failed, the process stops waiting for it: for
    `reprobe_after_s` seconds every new connection fails at once (a 503 in microseconds,
    not a pool timeout per request). Then one caller tries again, the probe, while the
    others keep failing fast until it succeeds (the circuit closes) or fails (it stays open
    for another interval). One per process, shared by its threads."""

    def __init__(self, *, reprobe_after_s: float) -> None:
        self.reprobe_after_s = reprobe_after_s
        self._lock = threading.Lock()
        self._open_until: float | None = None

    @property
    def is_open(self) -> bool:
        with self._lock:
            return self._open_until is not None and time.monotonic() < self._open_until

    def allow(self) -> bool:
        """True if a connection may be tried now: the circuit is closed, or this caller is
        the probe of an open one whose interval has passed."""
        with self._lock:
            if self._open_until is None:
                return True
            now = time.monotonic()
            if now < self._open_until:
                return False
            # This caller probes; the others fail fast for another interval meanwhile.
            self._open_until = now + self.reprobe_after_s
            return True

    def trip(self) -> None:
        with self._lock:
            self._open_until = time.monotonic() + self.reprobe_after_s

    def reset(self) -> None:
        with self._lock:
            self._open_until = None


# Seconds between two attempts to reach a database known to be down, per process.
REPROBE_AFTER_S = 2.0
breaker = CircuitBreaker(reprobe_after_s=REPROBE_AFTER_S)
