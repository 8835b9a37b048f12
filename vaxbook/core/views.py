import logging

from django.db import DatabaseError, connection
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import render
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET

from vaxbook.bookings.forms import EligibilityCheckForm, initial_for
from vaxbook.centres.models import Centre
from vaxbook.core import db_router

logger = logging.getLogger(__name__)


@never_cache
@require_GET
def healthz(request: HttpRequest) -> JsonResponse:
    """200 once the database answers, 503 while it does not: for load balancers and `make run`.
    With a read replica, its state too ("ok", "lagging", "not_streaming", "down"): reads
    move to the primary while it is not "ok", so the service stays up (200)."""
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
            cursor.fetchone()
    except DatabaseError as error:
        logger.warning("Health check: database unreachable: %s", error)
        return JsonResponse({"status": "unavailable", "database": "unreachable"}, status=503)
    answer = {"status": "ok", "database": "ok"}
    if db_router.replica_configured():
        answer |= db_router.health()
    return JsonResponse(answer)


def home(request: HttpRequest) -> HttpResponse:
    centres = Centre.objects.filter(is_active=True)
    context = {
        "centres": centres,
        "centre_count": len(centres),
        "check_form": EligibilityCheckForm(initial=initial_for(request.user)),
    }
    return render(request, "core/home.html", context)
