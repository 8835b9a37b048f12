"""The citizen's own appointments: list, confirmation, QR code and calendar entry.

Each view parses, calls one query, renders. Someone else's appointment is a 404, the same
page as a missing one."""

import uuid

from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import render
from django.views.decorators.http import require_GET

from vaxbook.accounts.models import User
from vaxbook.bookings import queries
from vaxbook.bookings.errors import AppointmentNotFound
from vaxbook.bookings.models import Appointment, AppointmentStatus
from vaxbook.credentials.qr import qr_svg
from vaxbook.credentials.tokens import issue_token
from vaxbook.notifications.calendar import appointment_ics


def _own(request: HttpRequest, appointment_id: uuid.UUID) -> Appointment:
    assert isinstance(request.user, User)  # noqa: S101 (login_required guarantees it)
    try:
        return queries.own_appointment(user=request.user, appointment_id=appointment_id)
    except AppointmentNotFound:
        raise Http404 from None


@require_GET
@login_required
def appointment_list(request: HttpRequest) -> HttpResponse:
    assert isinstance(request.user, User)  # noqa: S101 (login_required guarantees it)
    appointments = queries.own_appointments(request.user)
    return render(request, "bookings/appointment_list.html", {"appointments": appointments})


@require_GET
@login_required
def appointment_detail(request: HttpRequest, appointment_id: uuid.UUID) -> HttpResponse:
    appointment = _own(request, appointment_id)
    qr = qr_svg(issue_token(appointment)) if appointment.is_live else ""
    return render(
        request, "bookings/appointment_detail.html", {"appointment": appointment, "qr": qr}
    )


@require_GET
@login_required
def appointment_qr(request: HttpRequest, appointment_id: uuid.UUID) -> HttpResponse:
    appointment = _own(request, appointment_id)
    if not appointment.is_live:
        raise Http404
    response = HttpResponse(qr_svg(issue_token(appointment)), content_type="image/svg+xml")
    response["Cache-Control"] = "private, no-store"
    return response


@require_GET
@login_required
def appointment_calendar(request: HttpRequest, appointment_id: uuid.UUID) -> HttpResponse:
    appointment = _own(request, appointment_id)
    cancelled = appointment.status == AppointmentStatus.CANCELLED
    response = HttpResponse(
        appointment_ics(appointment, cancelled=cancelled), content_type="text/calendar"
    )
    filename = f"vaccination-{appointment.reference}.ics"
    response["Content-Disposition"] = f'attachment; filename="{filename}"'
    response["Cache-Control"] = "private, no-store"
    return response
