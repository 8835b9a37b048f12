"""The centre's audit log for its managers: a staff page, read-only, newest first."""

from typing import Any

from django.core.paginator import Paginator
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, render
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy
from django.views.decorators.http import require_GET

from vaxbook.accounts.current import signed_in_user
from vaxbook.accounts.staff import staff_required
from vaxbook.audit.queries import centre_log, may_read_centre_log, references_of
from vaxbook.centres.models import Centre

EVENTS_PER_PAGE = 50

# Outcomes in people's words; an outcome not listed here is shown as written.
OUTCOME_LABELS: dict[str, Any] = {
    "valid": pgettext_lazy("validation outcome", "Valid"),
    "invalid_signature": _("Not a genuine confirmation"),
    "unknown_reference": _("Unknown booking reference"),
    "cancelled": _("Cancelled"),
    "wrong_centre": _("Booked at another centre"),
    "too_early": _("Too early"),
    "expired": _("Expired"),
    "already_checked_in": _("Already checked in"),
    "already_vaccinated": _("Already vaccinated"),
    "checked_in": _("Checked in"),
    "vaccinated": _("Vaccinated"),
    "no_show": _("No-show"),
    "not_permitted": _("Not permitted"),
}


@require_GET
@staff_required
def centre_log_page(request: HttpRequest, centre_id: int) -> HttpResponse:
    user = signed_in_user(request)
    if not may_read_centre_log(user, centre_id):
        raise Http404
    centre = get_object_or_404(Centre, pk=centre_id)
    page = Paginator(centre_log(centre_id), EVENTS_PER_PAGE).get_page(request.GET.get("page"))
    shown_references = references_of([e.appointment_id for e in page if e.appointment_id])
    events = [
        {
            "event": event,
            "outcome": OUTCOME_LABELS.get(event.outcome, event.outcome),
            "reference": shown_references.get(event.appointment_id)
            if event.appointment_id
            else None,
        }
        for event in page
    ]
    return render(
        request, "audit/centre_log.html", {"centre": centre, "page": page, "events": events}
    )
