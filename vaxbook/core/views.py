import logging

from django.db import DatabaseError, connection
from django.db.backends.base.base import BaseDatabaseWrapper
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import redirect, render
from django.templatetags.static import static
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_safe

from vaxbook.api.problems import RETRY_AFTER_UNAVAILABLE_S
from vaxbook.bookings.forms import EligibilityCheckForm, initial_for
from vaxbook.centres.models import Centre
from vaxbook.core import db_router

logger = logging.getLogger(__name__)


# How long /healthz waits for SQLite's write lock. Readers never wait in WAL mode, so only a
# write shows a writer that holds the lock for longer than this: every booking waits then.
HEALTH_LOCK_WAIT_MS = 1000


def database_health(db: BaseDatabaseWrapper) -> str:
    """ "ok", or why `db` cannot serve: "unreachable" (PostgreSQL gone, or known to be gone
    by the circuit breaker: then at once), "locked" (SQLite's write lock held)."""
    try:
        with db.cursor() as cursor:
            cursor.execute("SELECT 1")
            cursor.fetchone()
            # Inside a transaction (a test's) the connection holds the lock already.
            if db.vendor == "sqlite" and not db.in_atomic_block:
                cursor.execute("PRAGMA busy_timeout")
                busy_timeout = int(cursor.fetchone()[0])
                cursor.execute(f"PRAGMA busy_timeout = {HEALTH_LOCK_WAIT_MS:d}")
                try:
                    cursor.execute("BEGIN IMMEDIATE")  # the write lock, as a booking takes it
                    cursor.execute("ROLLBACK")
                except DatabaseError as error:
                    logger.warning("Health check: database locked: %s", error)
                    return "locked"
                finally:
                    cursor.execute(f"PRAGMA busy_timeout = {busy_timeout:d}")
    except DatabaseError as error:
        logger.warning("Health check: database unreachable: %s", error)
        return "unreachable"
    return "ok"


@never_cache
@require_safe
def healthz(request: HttpRequest) -> JsonResponse:
    """200 once the database answers, 503 while it does not: for load balancers, uptime
    checkers (which often ask with HEAD: the same check, the same status) and `make run`.
    With a read replica, its state too ("ok", "lagging", "not_streaming", "down"): reads
    move to the primary while it is not "ok", so the service stays up (200)."""
    state = database_health(connection)
    if state != "ok":
        response = JsonResponse({"status": "unavailable", "database": state}, status=503)
        response["Retry-After"] = str(RETRY_AFTER_UNAVAILABLE_S)
        return response
    answer = {"status": "ok", "database": "ok"}
    if db_router.replica_configured():
        answer |= db_router.health()
    return JsonResponse(answer)


@require_safe
def favicon(request: HttpRequest) -> HttpResponse:
    return redirect(static("core/favicon.svg"), permanent=True)


def home(request: HttpRequest) -> HttpResponse:
    centres = Centre.objects.filter(is_active=True)
    context = {
        "centres": centres,
        "centre_count": len(centres),
        "check_form": EligibilityCheckForm(initial=initial_for(request.user)),
    }
    return render(request, "core/home.html", context)
