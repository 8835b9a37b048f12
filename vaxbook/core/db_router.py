"""Where each read goes: the primary, or the streaming replica (DATABASE_REPLICA_URL).

The rule, in this one place
---------------------------
Every write, and every read, goes to the primary, EXCEPT a read that its code marks as
one the replica may serve: a query module wraps it in `replica_reads()` (or passes
`replica_or_primary()` to `.using()`, for querysets run later, while a file streams).
Marked today: a centre's day of slots, the centre search (vaxbook.centres.queries), the
SMART Scheduling feed (smart.py) and the reports (reports.py). Unmarked, and so on the
primary: a person's own appointments, the check-in list, the booking page, anything a
write depends on.

Even a marked read stays on the primary when
1. it runs inside a transaction on the primary (it may have to see the transaction's own
   writes, and a transaction reads one snapshot);
2. the request, or one from the same browser in the last READ_YOUR_WRITES_SECONDS, wrote
   (read-your-writes, below);
3. the replica is not usable: not configured, down, not streaming, or more than
   REPLICA_MAX_LAG_SECONDS behind (ReplicaProbe). Reads move back to it by themselves when
   it catches up; each move is logged and /healthz shows the state.

Read-your-writes
----------------
A response to a POST, PUT, PATCH or DELETE sets a short-lived cookie (READ_YOUR_WRITES_
COOKIE, living as long as the lag bound plus a second); while a request carries it, all its
reads go to the primary. A cookie, not a session mark: it costs no session read or write
(most visitors looking for a slot have no session), it reaches every app instance behind
the load balancer with the request itself, and it dies on its own. Since no read is served
by a replica lagging more than the bound, a write is on every replica used once the cookie
has expired. A client that keeps the cookie only sends its own reads to the primary.
"""

import contextvars
import functools
import logging
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

from django.conf import settings
from django.db import DEFAULT_DB_ALIAS, connections
from django.http import HttpRequest, HttpResponseBase

from vaxbook.core.database import is_unavailable

logger = logging.getLogger(__name__)

PRIMARY = DEFAULT_DB_ALIAS
REPLICA = "replica"
READ_YOUR_WRITES_COOKIE = "vaxbook_wrote"
# How often the lag is measured (per process): one query on the replica a second.
PROBE_INTERVAL_SECONDS = 1.0

# Set by replica_reads(): the reads running now may be served by the replica.
_replica_allowed = contextvars.ContextVar("replica_allowed", default=False)
# Set by replica_used(): a list that records whether a replica served a read.
_replica_served = contextvars.ContextVar[list[bool] | None]("replica_served", default=None)
# Set for a request that wrote, or whose browser wrote a moment ago: reads on the primary.
_wrote = contextvars.ContextVar("wrote", default=False)


# --- the decision -------------------------------------------------------------------------


def replica_configured() -> bool:
    return REPLICA in settings.DATABASES


def replica_or_primary() -> str:
    """The alias a replica-servable read should use now (the rule in the module docstring)."""
    if not replica_configured() or _wrote.get():
        return PRIMARY
    if connections[PRIMARY].in_atomic_block:
        return PRIMARY
    if not probe.state().usable:
        return PRIMARY
    if (served := _replica_served.get()) is not None:
        served.append(True)
    return REPLICA


@contextmanager
def fresh_reads(*, wrote: bool = False) -> Iterator[None]:
    """A new unit of work (a request, a test): it has written nothing yet, unless `wrote`.
    Outside one, a thread that wrote once (a worker's task) keeps reading from the primary."""
    token = _wrote.set(wrote)
    try:
        yield
    finally:
        _wrote.reset(token)


@contextmanager
def replica_used() -> Iterator[Callable[[], bool]]:
    """Yields a function telling whether a read inside was sent to the replica (whatever
    it shows may then lag the primary by up to REPLICA_MAX_LAG_SECONDS)."""
    served: list[bool] = []
    token = _replica_served.set(served)
    try:
        yield lambda: bool(served)
    finally:
        _replica_served.reset(token)


@contextmanager
def replica_reads() -> Iterator[None]:
    """The ORM reads inside may be served by the replica (replica_or_primary decides each)."""
    token = _replica_allowed.set(True)
    try:
        yield
    finally:
        _replica_allowed.reset(token)


def on_replica[**P, R](read: Callable[P, R]) -> Callable[P, R]:
    """Runs `read` under replica_reads(). If the replica fails under it (down since the
    last probe), the replica is marked down and `read` runs again on the primary."""

    @functools.wraps(read)
    def routed(*args: P.args, **kwargs: P.kwargs) -> R:
        if not replica_configured():
            return read(*args, **kwargs)
        try:
            with replica_reads():
                return read(*args, **kwargs)
        except Exception as error:
            if not is_unavailable(error) or not probe.state().usable:
                raise
            probe.mark_down(f"a read failed: {error}")
        return read(*args, **kwargs)

    return routed


class ReadRouter:
    """settings.DATABASE_ROUTERS: writes to the primary; reads as replica_or_primary() says
    when the code allowed the replica, to the primary otherwise."""

    def db_for_read(self, model: Any, **hints: Any) -> str:
        return replica_or_primary() if _replica_allowed.get() else PRIMARY

    def db_for_write(self, model: Any, **hints: Any) -> str:
        _wrote.set(True)  # later reads of this request (or task) see the write
        return PRIMARY

    def allow_relation(self, obj1: Any, obj2: Any, **hints: Any) -> bool:
        return True  # one database, two servers

    def allow_migrate(self, db: str, app_label: str, **hints: Any) -> bool:
        return db == PRIMARY  # the replica replays the primary's migrations


# --- read-your-writes ---------------------------------------------------------------------

_WRITES = frozenset({"POST", "PUT", "PATCH", "DELETE"})


def read_your_writes_seconds() -> int:
    return int(settings.REPLICA_MAX_LAG_SECONDS) + 1


class ReadYourWritesMiddleware:
    """Marks the requests that must read their own (or their browser's recent) writes."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponseBase]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponseBase:
        if not replica_configured():
            return self.get_response(request)
        # Threads serve one request after another: the mark is set anew for each.
        with fresh_reads(wrote=READ_YOUR_WRITES_COOKIE in request.COOKIES):
            response = self.get_response(request)
        if request.method in _WRITES and response.status_code < 500:
            response.set_cookie(
                READ_YOUR_WRITES_COOKIE,
                "1",
                max_age=read_your_writes_seconds(),
                secure=settings.SESSION_COOKIE_SECURE,
                httponly=True,
                samesite="Lax",
            )
        return response


# --- the replica's state ------------------------------------------------------------------

# In one round trip: whether the server is a standby, whether it streams from the primary,
# and how far behind it is. When everything received is replayed, it is not behind, however
# old its last replayed transaction (an idle primary sends nothing new); otherwise, the age
# of the last transaction replayed. A server that is not a standby (a test mirror, or a
# replica URL naming the primary) is never behind.
_LAG_SQL = """
SELECT pg_is_in_recovery(),
       EXISTS (SELECT 1 FROM pg_stat_wal_receiver WHERE status = 'streaming'),
       CASE WHEN NOT pg_is_in_recovery() THEN 0
            WHEN pg_last_wal_receive_lsn() IS NOT DISTINCT FROM pg_last_wal_replay_lsn() THEN 0
            ELSE COALESCE(EXTRACT(EPOCH FROM now() - pg_last_xact_replay_timestamp()), 0)
       END
"""


@dataclass(frozen=True)
class ReplicaState:
    usable: bool
    status: str  # "ok", "lagging", "not_streaming", "down" or "none"
    lag_seconds: float | None
    checked_at: float


NO_REPLICA = ReplicaState(usable=False, status="none", lag_seconds=None, checked_at=0.0)


class ReplicaProbe:
    """The replica's state, measured at most once per PROBE_INTERVAL_SECONDS per process:
    concurrent requests use the last measure while one thread takes the next."""

    def __init__(self) -> None:
        self._state: ReplicaState | None = None
        self._lock = threading.Lock()

    def state(self) -> ReplicaState:
        if not replica_configured():
            return NO_REPLICA
        current = self._state
        if current is not None and time.monotonic() - current.checked_at < PROBE_INTERVAL_SECONDS:
            return current
        if not self._lock.acquire(blocking=False):
            return current or ReplicaState(False, "down", None, 0.0)
        try:
            measured = self.measure()
            self._set(measured)
        finally:
            self._lock.release()
        return measured

    def measure(self) -> ReplicaState:
        bound = settings.REPLICA_MAX_LAG_SECONDS
        now = time.monotonic()
        try:
            lag = self.lag()
        except Exception as error:
            self._last_error = str(error).strip()
            return ReplicaState(usable=False, status="down", lag_seconds=None, checked_at=now)
        if lag is None:
            return ReplicaState(
                usable=False, status="not_streaming", lag_seconds=None, checked_at=now
            )
        if lag > bound:
            return ReplicaState(usable=False, status="lagging", lag_seconds=lag, checked_at=now)
        return ReplicaState(usable=True, status="ok", lag_seconds=lag, checked_at=now)

    def lag(self) -> float | None:
        """Seconds the replica is behind the primary; None if it is a standby that does not
        stream from the primary (its lag cannot be known). Raises if it does not answer."""
        connection = connections[REPLICA]
        with connection.cursor() as cursor:
            if connection.vendor != "postgresql":
                # An SQLite "replica" is the same file (a test mirror): it answers, or not.
                cursor.execute("SELECT 1")
                return 0.0
            cursor.execute(_LAG_SQL)
            in_recovery, streaming, lag = cursor.fetchone()
        if in_recovery and not streaming:
            return None
        return max(0.0, float(lag))

    def mark_down(self, reason: str) -> None:
        self._last_error = reason
        self._set(ReplicaState(False, "down", None, time.monotonic()))

    def forget(self) -> None:
        self._state = None

    def _set(self, new: ReplicaState) -> None:
        old = self._state
        self._state = new
        if old is not None and old.usable == new.usable and old.status == new.status:
            return
        bound = settings.REPLICA_MAX_LAG_SECONDS
        if new.usable:
            logger.info(
                "Replica reads on the replica (lag %.3f s, bound %s s).", new.lag_seconds, bound
            )
        elif new.status == "lagging":
            logger.warning(
                "Replica reads moved to the primary: the replica is %.1f s behind (bound %s s).",
                new.lag_seconds,
                bound,
            )
        elif new.status == "not_streaming":
            logger.warning("Replica reads moved to the primary: the replica is not streaming.")
        else:
            logger.warning(
                "Replica reads moved to the primary: the replica is down (%s).",
                getattr(self, "_last_error", ""),
            )


probe = ReplicaProbe()


def health() -> dict[str, Any]:
    """The replica's part of /healthz."""
    state = probe.state()
    return {"replica": state.status, "replica_lag_seconds": state.lag_seconds}
