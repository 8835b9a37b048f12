"""The citizen's own appointments: list, confirmation, QR code and calendar entry.

Each view parses, calls one query, renders. Someone else's appointment is a 404, the same
page as a missing one."""

import contextlib
import datetime as dt
import uuid

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_http_methods

from vaxbook.accounts import people
from vaxbook.accounts.current import signed_in_user
from vaxbook.accounts.models import Citizen
from vaxbook.bookings import eligibility_check, queries, services
from vaxbook.bookings.errors import AlreadyBooked, AppointmentNotFound, SlotFull, SlotUnavailable
from vaxbook.bookings.forms import EligibilityCheckForm, initial_for
from vaxbook.bookings.models import Appointment, AppointmentStatus, BookingChannel
from vaxbook.centres import queries as centre_queries
from vaxbook.centres.models import Centre, Slot
from vaxbook.core.errors import DomainError
from vaxbook.core.ratelimit import booking_limits, limit_posts
from vaxbook.credentials import health_card
from vaxbook.credentials.qr import certificate_qr_svg, qr_svg
from vaxbook.credentials.tokens import issue_token
from vaxbook.notifications.calendar import published_ics

# What was just done, for the panel the appointment page shows once (bookings/_done.html).
DONE_BOOKED, DONE_BOOKED_BOTH = "done-booked", "done-booked-both"
DONE_RESCHEDULED, DONE_CANCELLED = "done-rescheduled", "done-cancelled"


def _own(request: HttpRequest, appointment_id: uuid.UUID) -> Appointment:
    user = signed_in_user(request)
    try:
        return queries.own_appointment(user=user, appointment_id=appointment_id)
    except AppointmentNotFound:
        raise Http404 from None


@require_GET
@login_required
def appointment_list(request: HttpRequest) -> HttpResponse:
    appointments = queries.own_appointments(signed_in_user(request))
    due = queries.next_doses_due(appointments)
    rows = [(appointment, due.get(appointment.pk)) for appointment in appointments]
    return render(request, "bookings/appointment_list.html", {"rows": rows})


@require_GET
@login_required
def appointment_detail(request: HttpRequest, appointment_id: uuid.UUID) -> HttpResponse:
    appointment = _own(request, appointment_id)
    context: dict[str, object] = {"appointment": appointment, "certificate_qr": ""}
    if appointment.status == AppointmentStatus.VACCINATED:
        # The dose record replaces the confirmation; the next dose, if one is due, follows,
        # and the certificate of this dose, made now (nothing is stored at the dose).
        due = queries.next_doses_due(queries.own_appointments(signed_in_user(request)))
        context["next_dose_from"] = due.get(appointment.pk)
        if appointment.person.user is not None:
            with contextlib.suppress(
                health_card.CertificateNotFound, health_card.CertificateUnavailable
            ):
                card = health_card.own_card(
                    user=appointment.person.user, appointment_id=appointment.pk
                )
                context["certificate_qr"] = certificate_qr_svg(card.qr_text)
    elif appointment.is_live:
        context["qr"] = qr_svg(issue_token(appointment))
    return render(request, "bookings/appointment_detail.html", context)


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
    response = HttpResponse(published_ics(appointment), content_type="text/calendar")
    filename = f"vaccination-{appointment.reference}.ics"
    response["Content-Disposition"] = f'attachment; filename="{filename}"'
    response["Cache-Control"] = "private, no-store"
    return response


@require_http_methods(["GET", "POST"])
@login_required
@limit_posts(booking_limits)
def book(request: HttpRequest, slot_id: int) -> HttpResponse:
    """Check your answers (GET), then one POST that books through the booking service. An
    account that books for other people (vaxbook.accounts.people) chooses whom for."""
    person = _person(request)
    slot = get_object_or_404(Slot.objects.select_related("centre", "vaccine"), pk=slot_id)
    doses = range(1, slot.vaccine.doses_in_primary_course + 1)
    choices = people.bookable_by(signed_in_user(request))
    page = {"slot": slot, "doses": doses, "person": person, "choices": choices}
    if request.method == "GET":
        return render(request, "bookings/book.html", page)
    if request.POST.get("dose_number") == "both" and len(doses) >= 2:
        return redirect(f"{reverse('book_both', args=[slot.pk])}?person={person.pk}")
    try:
        dose_number = int(request.POST.get("dose_number", ""))
    except ValueError:
        dose_number = 0
    if dose_number not in doses:
        return render(request, "bookings/book.html", {**page, "error": True}, status=400)
    try:
        appointment = services.book_appointment(
            person=person,
            slot_id=slot.pk,
            dose_number=dose_number,
            on_behalf=_on_behalf(request, person),
        )
    except AlreadyBooked as error:
        # A second click on "Confirm" lands on what the first one booked.
        repeated = queries.live_appointment_id(person, slot_id=slot.pk, dose_number=dose_number)
        if repeated is not None:
            return redirect("appointment", appointment_id=repeated)
        return _refused(request, slot, error)
    except DomainError as error:
        return _refused(request, slot, error, dose_number=dose_number)
    # The appointment page shows the matching panel once (bookings/_done.html).
    messages.success(request, _("Appointment booked"), extra_tags=DONE_BOOKED)
    return redirect("appointment", appointment_id=appointment.pk)


def _refused(
    request: HttpRequest, slot: Slot, error: DomainError, *, dose_number: int | None = None
) -> HttpResponse:
    """Why nothing was booked; when the place was taken or closed meanwhile, the nearest
    free places instead, each booked with one click (`dose_number`) or, without a dose,
    a link to its check-your-answers page."""
    taken = isinstance(error, SlotFull | SlotUnavailable)
    context = {
        "slot": slot,
        "error": error,
        "alternatives": centre_queries.alternatives(slot) if taken else None,
        "dose_number": dose_number,
    }
    return render(request, "bookings/book_refused.html", context, status=409)


def _citizen(request: HttpRequest) -> Citizen:
    try:
        return request.user.citizen  # type: ignore[union-attr]
    except Citizen.DoesNotExist:
        raise PermissionDenied from None


def _person(request: HttpRequest) -> Citizen:
    """Whom the booking is for: `person` of the form or the address (one of the people the
    account books for, or the account holder), the account holder when not given. Anyone
    else: 404, as for a missing person."""
    raw = request.POST.get("person") or request.GET.get("person") or ""
    try:
        person_id = int(raw) if raw else None
    except ValueError:
        raise Http404 from None
    try:
        return people.person_or_self(
            user=signed_in_user(request), person_id=person_id, own=lambda: _citizen(request)
        )
    except people.PersonNotFound:
        raise Http404 from None


def _on_behalf(request: HttpRequest, person: Citizen) -> services.OnBehalf | None:
    user = signed_in_user(request)
    if person.user_id == user.pk:
        return None
    return services.OnBehalf(user=user, channel=BookingChannel.RELATIVE)


@require_http_methods(["GET", "POST"])
@login_required
def cancel(request: HttpRequest, appointment_id: uuid.UUID) -> HttpResponse:
    """A confirmation step (GET), then one POST that cancels and frees the place."""
    appointment = _own(request, appointment_id)
    if request.method == "GET":
        return render(request, "bookings/cancel.html", {"appointment": appointment})
    try:
        services.cancel_appointment(person=appointment.person, appointment_id=appointment.pk)
    except DomainError as error:
        context = {"appointment": appointment, "error": error}
        return render(request, "bookings/cancel.html", context, status=409)
    messages.success(request, _("Appointment cancelled"), extra_tags=DONE_CANCELLED)
    return redirect("appointment", appointment_id=appointment.pk)


@require_http_methods(["GET", "POST"])
@login_required
@limit_posts(booking_limits)
def reschedule(request: HttpRequest, appointment_id: uuid.UUID) -> HttpResponse:
    """Choose another time at the same centre, for the same vaccine (GET, by day); one POST
    moves the appointment. When the move fails, the old appointment stands and the page says
    why; when the new place was taken meanwhile, it offers the nearest free places, one
    click each."""
    appointment = _own(request, appointment_id)
    centre, vaccine_id = appointment.slot.centre, appointment.slot.vaccine_id
    day = _day_from(request, centre, default=appointment.slot.local_date)
    slots = centre_queries.day_slots(centre=centre, day=day, vaccine_id=vaccine_id)
    context = {
        "appointment": appointment,
        "day": day,
        "slots": slots,
        "previous_day": day - dt.timedelta(days=1),
        "next_day": day + dt.timedelta(days=1),
        **centre_queries.when_none_free(centre=centre, day=day, slots=slots, vaccine_id=vaccine_id),
    }
    if request.method == "GET":
        return render(request, "bookings/reschedule.html", context)
    try:
        new_slot_id = int(request.POST.get("slot_id", ""))
    except ValueError:
        context["error"] = SlotUnavailable(_("Choose one of the times below."))
        return render(request, "bookings/reschedule.html", context, status=400)
    if new_slot_id == appointment.slot_id and appointment.status == AppointmentStatus.BOOKED:
        # A second click on "Move here": the first one has moved it already.
        return redirect("appointment", appointment_id=appointment.pk)
    try:
        services.reschedule_appointment(
            person=appointment.person, appointment_id=appointment.pk, new_slot_id=new_slot_id
        )
    except DomainError as error:
        context["error"] = error
        if isinstance(error, SlotFull | SlotUnavailable):
            wanted = Slot.objects.select_related("centre", "vaccine").filter(
                pk=new_slot_id, vaccine_id=vaccine_id
            )
            context["alternatives"] = _alternatives_to(wanted.first(), keep=appointment.slot_id)
        return render(request, "bookings/reschedule.html", context, status=409)
    messages.success(request, _("Appointment moved"), extra_tags=DONE_RESCHEDULED)
    return redirect("appointment", appointment_id=appointment.pk)


def _alternatives_to(slot: Slot | None, *, keep: int) -> centre_queries.Alternatives | None:
    """Alternatives to a slot that could not be had, leaving out the slot `keep` (the
    person's current one)."""
    if slot is None:
        return None
    found = centre_queries.alternatives(slot)
    return centre_queries.Alternatives(
        same_day=[other for other in found.same_day if other.pk != keep],
        next_days=[other for other in found.next_days if other.pk != keep],
        nearby=[other for other in found.nearby if other.slot.pk != keep],
    )


def _day_from(request: HttpRequest, centre: Centre, *, default: dt.date) -> dt.date:
    """The day asked for in `?date=`, else `default`; never before the centre's today."""
    try:
        day = dt.date.fromisoformat(request.GET.get("date", ""))
    except ValueError:
        day = default
    return max(day, centre.local_date(timezone.now()))


@require_http_methods(["GET", "POST"])
@login_required
@limit_posts(booking_limits)
def book_both(request: HttpRequest, slot_id: int) -> HttpResponse:
    """Dose 2 with dose 1 in `slot_id`: the day proposed at the vaccine's interval at the
    same centre, changeable; one POST books both places or neither."""
    person = _person(request)
    first = get_object_or_404(Slot.objects.select_related("centre", "vaccine"), pk=slot_id)
    interval = dt.timedelta(days=first.vaccine.minimum_days_between_doses)
    day = _day_from(request, first.centre, default=first.local_date + interval)

    def page(*, status: int = 200, error: DomainError | None = None) -> HttpResponse:
        # The day's slots are read only for a page shown, after any booking attempt.
        slots = centre_queries.day_slots(centre=first.centre, day=day, vaccine_id=first.vaccine_id)
        context = {
            "first": first,
            "day": day,
            "earliest": first.local_date + interval,
            "slots": slots,
            "previous_day": day - dt.timedelta(days=1),
            "next_day": day + dt.timedelta(days=1),
            "error": error,
            "person": person,
            "person_query": f"&person={person.pk}",
            **centre_queries.when_none_free(
                centre=first.centre, day=day, slots=slots, vaccine_id=first.vaccine_id
            ),
        }
        return render(request, "bookings/book_both.html", context, status=status)

    if request.method == "GET":
        return page()
    try:
        second_slot_id = int(request.POST.get("second_slot_id", ""))
    except ValueError:
        return page(status=400)
    try:
        dose_one, _dose_two = services.book_both_doses(
            person=person,
            first_slot_id=first.pk,
            second_slot_id=second_slot_id,
            loaded_first_slot=first,
            on_behalf=_on_behalf(request, person),
        )
    except AlreadyBooked as error:
        # A second click on "Book both doses" lands on what the first one booked.
        repeated = queries.live_appointment_id(person, slot_id=first.pk, dose_number=1)
        if repeated is not None and queries.live_appointment_id(
            person, slot_id=second_slot_id, dose_number=2
        ):
            return redirect("appointment", appointment_id=repeated)
        return page(status=409, error=error)
    except DomainError as error:
        first.refresh_from_db(fields=["booked", "is_open"])
        first_gone = not first.remaining or not first.is_open
        if isinstance(error, SlotFull | SlotUnavailable) and first_gone:
            # The first dose's place went: the second is chosen again after the first.
            return _refused(request, first, error)
        return page(status=409, error=error)
    messages.success(request, _("Both appointments booked"), extra_tags=DONE_BOOKED_BOTH)
    return redirect("appointment", appointment_id=dose_one.pk)


@require_http_methods(["GET", "POST"])
def check_eligibility(request: HttpRequest) -> HttpResponse:
    """Check before you start (no account needed): which vaccines and doses the person
    could book, or a page that says why not yet and from when. Posted, so that the date
    of birth stays out of addresses and logs."""
    form = EligibilityCheckForm(request.POST or None, initial=initial_for(request.user))
    if request.method == "POST" and form.is_valid():
        answer = eligibility_check.check_eligibility(**form.cleaned_data)
        template = "bookings/eligible.html" if answer.bookable else "bookings/not_eligible.html"
        return render(request, template, {"answer": answer})
    status = 400 if form.errors else 200
    return render(request, "bookings/check.html", {"form": form}, status=status)
