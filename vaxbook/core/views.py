import logging

from django.db import DatabaseError, connection
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import redirect, render
from django.templatetags.static import static
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_safe

from vaxbook.bookings.forms import EligibilityCheckForm, initial_for
from vaxbook.centres.models import Centre

logger = logging.getLogger(__name__)


@never_cache
@require_safe
def healthz(request: HttpRequest) -> JsonResponse:
    """200 once the database answers, 503 while it does not: for load balancers, uptime
    checkers (which often ask with HEAD: the same check, the same status) and `make run`."""
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
            cursor.fetchone()
    except DatabaseError as error:
        logger.warning("Health check: database unreachable: %s", error)
        return JsonResponse({"status": "unavailable", "database": "unreachable"}, status=503)
    return JsonResponse({"status": "ok", "database": "ok"})


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
