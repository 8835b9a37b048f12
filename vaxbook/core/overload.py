"""Load shedding: each worker process refuses at once, with 503 and Retry-After, what it
cannot serve in time, instead of letting requests queue until clients and proxies give up.

The rule, per worker process and per budget:

- at most `running` requests run the application at once (WEB_THREADS: no more than the
  database pool holds, so that no running request waits for a connection);
- up to `waiting` more wait for a turn, each for at most `wait_seconds`;
- a request beyond those, or one whose wait runs out, is answered 503 with Retry-After:
  a page, or the problem `overloaded` under /api/ (vaxbook.api.problems.overloaded).

Static files and /healthz never count. The staff side (staff pages, the administration,
the validation and check-in endpoints of the API) has a budget of its own, so that a crowd
of citizens never takes the centres' turns during an opening. So has the waiting room's
line (joining and polling, its page): a crowd of polls never takes the turns of the people
it admitted to book, and a shed poll costs nobody their place (the ticket keeps it).

Why here and not in the server: granian hands every request it reads to its pool of
blocking threads through an unbounded queue, invisible to Python; `--backpressure` bounds
connections, not requests. deploy/web therefore starts more blocking threads than the
budgets run (`running + waiting` of both budgets, plus spare threads), so that every excess
request reaches this middleware promptly and is refused at once. docs/overload.md
has the reasoning and the settings.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager

from django.conf import settings
from django.http import HttpRequest, HttpResponse

# Never counted: whitenoise's files and the load balancers' health check.
EXEMPT_PREFIXES = ("/static/", "/healthz")
# The centres' side: served from a budget of its own.
STAFF_PREFIXES = (
    "/staff/",
    "/admin/",
    "/api/v1/validations",
    "/api/v1/checkins",
)
# POST /api/v1/appointments/{id}/vaccination: recording a dose at the centre.
STAFF_SUFFIXES = ("/vaccination",)
# The waiting room's line: joins, polls and the page people wait on.
LINE_PREFIXES = ("/api/v1/waiting-room/", "/waiting-room/")


class Budget:
    """`running` requests at once, `waiting` more in line for at most `wait_seconds`."""

    def __init__(self, *, running: int, waiting: int, wait_seconds: float) -> None:
        self.running = running
        self.waiting = waiting
        self.wait_seconds = wait_seconds
        self._turns = threading.BoundedSemaphore(running)
        self._lock = threading.Lock()
        self._in_flight = 0

    @property
    def in_flight(self) -> int:
        """Requests running or waiting now."""
        return self._in_flight

    @contextmanager
    def turn(self) -> Iterator[bool]:
        """True while the caller may run; False if it must be refused (no room to wait,
        or the wait ran out)."""
        with self._lock:
            if self._in_flight >= self.running + self.waiting:
                admitted = False
            else:
                self._in_flight += 1
                admitted = True
        if not admitted:
            yield False
            return
        try:
            if not self._turns.acquire(timeout=self.wait_seconds):
                yield False
                return
            try:
                yield True
            finally:
                self._turns.release()
        finally:
            with self._lock:
                self._in_flight -= 1


def budget_of(path: str) -> str | None:
    """The budget that counts a request to `path`: "public", "staff" or "line"; None for
    what is never counted."""
    if path.startswith(EXEMPT_PREFIXES):
        return None
    if path.startswith(LINE_PREFIXES):
        return "line"
    if path.startswith(STAFF_PREFIXES) or (
        path.startswith("/api/v1/appointments/") and path.endswith(STAFF_SUFFIXES)
    ):
        return "staff"
    return "public"


class LoadSheddingMiddleware:
    """First in MIDDLEWARE: a refused request costs no session, user or database access."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response
        shedding = settings.LOAD_SHEDDING
        self.retry_after = int(shedding["retry_after"])
        self.budgets = {
            "public": Budget(
                running=shedding["running"],
                waiting=shedding["waiting"],
                wait_seconds=shedding["wait_seconds"],
            ),
            "staff": Budget(
                running=shedding["staff_running"],
                waiting=shedding["staff_running"],
                wait_seconds=shedding["wait_seconds"],
            ),
            "line": Budget(
                running=shedding["line_running"],
                waiting=shedding["waiting"],
                wait_seconds=shedding["wait_seconds"],
            ),
        }

    def __call__(self, request: HttpRequest) -> HttpResponse:
        name = budget_of(request.path)
        if name is None:
            return self.get_response(request)
        with self.budgets[name].turn() as admitted:
            if admitted:
                return self.get_response(request)
        from vaxbook.api.problems import overloaded

        return overloaded(request, self.retry_after)
