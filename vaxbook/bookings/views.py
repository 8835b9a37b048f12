"""The citizen's own appointments: list, confirmation, QR code and calendar entry.

Each view parses, calls one query, renders. Someone else's appointment is a 404, the same
page as a missing one."""

import datetime as dt
import uuid

from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils import timezone
from django.views.decorators.http import require_GET, require_http_methods

from vaxbook.accounts.models import Citizen, User
from vaxbook.bookings import queries, services
from vaxbook.bookings.errors import AppointmentNotFound, SlotFull, SlotUnavailable
from vaxbook.bookings.models import Appointment, AppointmentStatus
from vaxbook.centres import queries as centre_queries
from vaxbook.centres.models import Centre, Slot
from vaxbook.core.errors import DomainError
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


@require_http_methods(["GET", "POST"])
@login_required
def book(request: HttpRequest, slot_id: int) -> HttpResponse:
    """Check your answers (GET), then one POST that books through the booking service."""
    person = _citizen(request)
    slot = get_object_or_404(Slot.objects.select_related("centre", "vaccine"), pk=slot_id)
    doses = range(1, slot.vaccine.doses_in_primary_course + 1)
    if request.method == "GET":
        return render(request, "bookings/book.html", {"slot": slot, "doses": doses})
    if request.POST.get("dose_number") == "both" and len(doses) >= 2:
        return redirect("book_both", slot_id=slot.pk)
    try:
        dose_number = int(request.POST.get("dose_number", ""))
    except ValueError:
        dose_number = 0
    if dose_number not in doses:
        context = {"slot": slot, "doses": doses, "error": True}
        return render(request, "bookings/book.html", context, status=400)
    try:
        appointment = services.book_appointment(
            person=person, slot_id=slot.pk, dose_number=dose_number
        )
    except DomainError as error:
        taken = isinstance(error, SlotFull | SlotUnavailable)
        context = {
            "slot": slot,
            "error": error,
            "alternatives": centre_queries.alternatives(slot) if taken else [],
        }
        return render(request, "bookings/book_refused.html", context, status=409)
    return redirect("appointment", appointment_id=appointment.pk)


def _citizen(request: HttpRequest) -> Citizen:
    try:
        return request.user.citizen  # type: ignore[union-attr]
    except Citizen.DoesNotExist:
        raise PermissionDenied from None


@require_http_methods(["GET", "POST"])
@login_required
def cancel(request: HttpRequest, appointment_id: uuid.UUID) -> HttpResponse:
    """A confirmation step (GET), then one POST that cancels and frees the place."""
    appointment = _own(request, appointment_id)
    if request.method == "GET":
        return render(request, "bookings/cancel.html", {"appointment": appointment})
    try:
        services.cancel_appointment(person=_citizen(request), appointment_id=appointment.pk)
    except DomainError as error:
        context = {"appointment": appointment, "error": error}
        return render(request, "bookings/cancel.html", context, status=409)
    return redirect("appointment", appointment_id=appointment.pk)


@require_http_methods(["GET", "POST"])
@login_required
def reschedule(request: HttpRequest, appointment_id: uuid.UUID) -> HttpResponse:
    """Choose another time at the same centre (GET, by day); one POST moves the appointment.
    When the move fails, the old appointment stands and the page says why."""
    appointment = _own(request, appointment_id)
    centre = appointment.slot.centre
    day = _day_from(request, centre, default=appointment.slot.local_date)
    context = {
        "appointment": appointment,
        "day": day,
        "slots": centre_queries.day_slots(centre=centre, day=day),
        "previous_day": day - dt.timedelta(days=1),
        "next_day": day + dt.timedelta(days=1),
    }
    if request.method == "GET":
        return render(request, "bookings/reschedule.html", context)
    try:
        new_slot_id = int(request.POST.get("slot_id", ""))
        services.reschedule_appointment(
            person=_citizen(request), appointment_id=appointment.pk, new_slot_id=new_slot_id
        )
    except ValueError:
        return render(request, "bookings/reschedule.html", context, status=400)
    except DomainError as error:
        return render(request, "bookings/reschedule.html", {**context, "error": error}, status=409)
    return redirect("appointment", appointment_id=appointment.pk)


def _day_from(request: HttpRequest, centre: Centre, *, default: dt.date) -> dt.date:
    """The day asked for in `?date=`, else `default`; never before the centre's today."""
    try:
        day = dt.date.fromisoformat(request.GET.get("date", ""))
    except ValueError:
        day = default
    return max(day, centre.local_date(timezone.now()))


@require_http_methods(["GET", "POST"])
@login_required
def book_both(request: HttpRequest, slot_id: int) -> HttpResponse:
    """Dose 2 with dose 1 in `slot_id`: the day proposed at the vaccine's interval at the
    same centre, changeable; one POST books both places or neither."""
    person = _citizen(request)
    first = get_object_or_404(Slot.objects.select_related("centre", "vaccine"), pk=slot_id)
    interval = dt.timedelta(days=first.vaccine.minimum_days_between_doses)
    day = _day_from(request, first.centre, default=first.local_date + interval)
    context = {
        "first": first,
        "day": day,
        "earliest": first.local_date + interval,
        "slots": centre_queries.day_slots(
            centre=first.centre, day=day, vaccine_id=first.vaccine_id
        ),
        "previous_day": day - dt.timedelta(days=1),
        "next_day": day + dt.timedelta(days=1),
    }
    if request.method == "GET":
        return render(request, "bookings/book_both.html", context)
    try:
        second_slot_id = int(request.POST.get("second_slot_id", ""))
    except ValueError:
        return render(request, "bookings/book_both.html", context, status=400)
    try:
        dose_one, _dose_two = services.book_both_doses(
            person=person, first_slot_id=first.pk, second_slot_id=second_slot_id
        )
    except DomainError as error:
        return render(request, "bookings/book_both.html", {**context, "error": error}, status=409)
    return redirect("appointment", appointment_id=dose_one.pk)
