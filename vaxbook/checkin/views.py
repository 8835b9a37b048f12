"""Staff pages for the day: validate what a person presents, check them in, the centre's
day list, the end-of-day no-shows and the record of the dose given.

Each view parses its form, calls one service or query, renders the result. Every page is
for the staff of the centre in its URL (staff_required); a page beyond the visitor's role
(recording a dose for a receptionist, no-shows for anyone but a manager) is a 404 too, as
if it did not exist."""

import datetime as dt
import uuid
from collections.abc import Callable
from typing import Any

from django.contrib import messages
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.http import urlencode
from django.utils.translation import gettext_lazy as _
from django.utils.translation import ngettext, pgettext_lazy
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from vaxbook.accounts.current import signed_in_user
from vaxbook.accounts.models import StaffStep, User
from vaxbook.accounts.staff import staff_required
from vaxbook.audit.queries import may_read_centre_log
from vaxbook.bookings import services
from vaxbook.bookings.errors import InvalidRecord, InvalidTransition, NotPermitted
from vaxbook.bookings.models import Appointment, AppointmentStatus
from vaxbook.centres.models import Centre
from vaxbook.checkin import queries
from vaxbook.checkin.forms import (
    DayForm,
    PresentedForm,
    ReferenceSearchForm,
    SurnameSearchForm,
    VaccinationForm,
)
from vaxbook.checkin.services import mark_remaining_no_shows
from vaxbook.checkin.validation import (
    CertificateCheck,
    Outcome,
    Validation,
    check_certificate,
    check_in_with,
    validate,
)
from vaxbook.core import ratelimit
from vaxbook.core.clients import client_address
from vaxbook.core.permissions_policy import camera_allowed
from vaxbook.credentials import health_card

# What each outcome tells the person at the desk: a headline, what to do, and its colour.
OUTCOME_WORDS: dict[Outcome, tuple[Any, Any, str]] = {
    Outcome.VALID: (
        pgettext_lazy("validation outcome", "Valid"),
        _("Booked here for today. Compare the name and date of birth with their ID."),
        "good",
    ),
    Outcome.INVALID_SIGNATURE: (
        _("Not valid: not a genuine confirmation"),
        _("This code was not issued by us or was altered. Ask for the booking reference."),
        "bad",
    ),
    Outcome.UNKNOWN_REFERENCE: (
        _("Not valid: unknown booking reference"),
        _("No appointment has this reference. Check it for a typo and try again."),
        "bad",
    ),
    Outcome.CANCELLED: (
        _("Not valid: cancelled"),
        _("This appointment was cancelled. The person needs to book again."),
        "bad",
    ),
    Outcome.WRONG_CENTRE: (
        _("Not valid: booked at another centre"),
        _("This appointment is at another centre."),
        "bad",
    ),
    Outcome.TOO_EARLY: (
        _("Not valid: too early"),
        _("This appointment is on a later day."),
        "warn",
    ),
    Outcome.EXPIRED: (
        _("Not valid: expired"),
        _("This appointment was on an earlier day or was missed. The person needs to book again."),
        "bad",
    ),
    Outcome.ALREADY_CHECKED_IN: (
        _("Already checked in"),
        _("This person has already been checked in."),
        "warn",
    ),
    Outcome.ALREADY_VACCINATED: (
        _("Already vaccinated"),
        _("This dose has already been given."),
        "warn",
    ),
}
JUST_CHECKED_IN = (_("Checked in"), _("The person is checked in for their dose."), "good")


@require_http_methods(["GET", "POST"])
@staff_required
@camera_allowed  # the QR scanner
def validate_page(request: HttpRequest, centre_id: int) -> HttpResponse:
    """The form; on POST, what the presented code or reference means here now."""
    return _answer(request, centre_id, validate, checking_in=False)


@require_POST
@staff_required
@camera_allowed  # the QR scanner, for the next person
def check_in_page(request: HttpRequest, centre_id: int) -> HttpResponse:
    """Check in the person whose code or reference was found valid, and say what happened."""
    return _answer(request, centre_id, check_in_with, checking_in=True)


def _answer(
    request: HttpRequest,
    centre_id: int,
    judge: Callable[..., Validation],
    *,
    checking_in: bool,
) -> HttpResponse:
    user = signed_in_user(request)
    centre = get_object_or_404(Centre, pk=centre_id)
    form = PresentedForm(request.POST if request.method == "POST" else None)
    context: dict[str, Any] = {"centre": centre, "form": form, "checking_in": checking_in}
    context["outcome_words"] = OUTCOME_WORDS  # scan.js words its offline answers the same
    address = client_address(request)
    if request.method == "POST":
        try:
            ratelimit.hit(*ratelimit.validation(address, user.pk))
        except ratelimit.RateLimited as limited:
            return _too_many_requests(request, centre, limited)
    if form.is_bound and form.is_valid() and "certificate" in form.presented_as():
        try:
            check = check_certificate(
                staff=user, centre_id=centre_id, client_address=address, **form.presented_as()
            )
        except NotPermitted:  # the membership was removed meanwhile
            raise Http404 from None
        context |= _certificate_context(check)
        context["form"] = PresentedForm()
    elif form.is_bound and form.is_valid():
        try:
            validation = judge(
                staff=user, centre_id=centre_id, client_address=address, **form.presented_as()
            )
        except NotPermitted:  # the membership was removed meanwhile
            raise Http404 from None
        context |= _outcome_context(validation, checking_in=checking_in)
        context["record_dose_url"] = _record_dose_url(user, validation)
        context["presented"] = form.cleaned_data["presented"]
        # After an answer the field is empty again, ready for the next person.
        context["form"] = PresentedForm()
    status = 400 if form.errors else 200
    return render(request, "checkin/validate.html", context, status=status)


def _outcome_context(validation: Validation, *, checking_in: bool) -> dict[str, Any]:
    appointment = validation.appointment
    just_checked_in = checking_in and validation.is_valid
    headline, advice, tone = (
        JUST_CHECKED_IN if just_checked_in else OUTCOME_WORDS[validation.outcome]
    )
    return {
        "validation": validation,
        "outcome": validation.outcome.value,
        "just_checked_in": just_checked_in,
        "headline": headline,
        "advice": advice,
        "tone": tone,
        "appointment": appointment,
    }


# What a certificate's verdict tells the person at the desk (check_certificate()).
CERTIFICATE_WORDS: dict[health_card.Verdict, tuple[Any, Any, str]] = {
    health_card.Verdict.GENUINE: (
        _("Genuine vaccination certificate"),
        _("Issued by us and unchanged. Compare the name and date of birth with their ID."),
        "good",
    ),
    health_card.Verdict.INVALID_SIGNATURE: (
        _("Not valid: altered certificate"),
        _("This certificate names our key but its signature does not match: it was altered."),
        "bad",
    ),
    health_card.Verdict.UNKNOWN_ISSUER: (
        _("Not one of our certificates"),
        _("It was signed by another issuer: check it with the verifier of that issuer."),
        "warn",
    ),
    health_card.Verdict.MALFORMED: (
        _("Not valid: not a vaccination certificate"),
        _("This code cannot be read as a SMART Health Card."),
        "bad",
    ),
}


def _certificate_context(check: CertificateCheck) -> dict[str, Any]:
    headline, advice, tone = CERTIFICATE_WORDS[check.reading.verdict]
    doses = [
        {"dose": dose, "vaccine": check.vaccine_names.get(dose.cvx, "")}
        for dose in check.reading.doses
    ]
    return {
        "certificate": check.reading,
        "certificate_doses": doses,
        "outcome": f"certificate_{check.reading.verdict.value}",
        "headline": headline,
        "advice": advice,
        "tone": tone,
    }


def _record_dose_url(user: User, validation: Validation) -> str | None:
    """Where to record the dose, for a vaccinator looking at a checked-in person."""
    appointment = validation.appointment
    if appointment is None or appointment.status != AppointmentStatus.CHECKED_IN:
        return None
    centre_id = appointment.slot.centre_id
    if not user.may_at(centre_id, StaffStep.VACCINATE):
        return None
    return reverse("staff_record_dose", args=[centre_id, appointment.pk])


def _too_many_requests(
    request: HttpRequest, centre: Centre, limited: ratelimit.RateLimited
) -> HttpResponse:
    response = render(
        request,
        "checkin/rate_limited.html",
        {"centre": centre, "retry_after": limited.retry_after},
        status=429,
    )
    response["Retry-After"] = str(limited.retry_after)
    return response


# --- the centre's day ----------------------------------------------------------------------


@require_GET
@staff_required
def day_page(request: HttpRequest, centre_id: int) -> HttpResponse:
    """The appointments of one local day at the centre (today unless ?date= says), their
    counts, and a search by reference or by surname and date of birth within that list."""
    user = signed_in_user(request)
    centre = get_object_or_404(Centre, pk=centre_id)
    day_form = DayForm(request.GET)
    reference_form = ReferenceSearchForm(request.GET if "reference" in request.GET else None)
    surname_form = SurnameSearchForm(
        request.GET if {"surname", "date_of_birth"} & request.GET.keys() else None
    )
    context: dict[str, Any] = {
        "centre": centre,
        "day_form": day_form,
        "reference_form": reference_form,
        "surname_form": surname_form,
    }
    if not day_form.is_valid():
        return render(request, "checkin/day.html", context, status=400)
    today = centre.local_date(timezone.now())
    day: dt.date = day_form.cleaned_data["date"] or today
    appointments: list[Appointment] | None = None
    searched = False
    if reference_form.is_bound and reference_form.is_valid():
        appointments = queries.find_by_reference(
            centre, day, reference_form.cleaned_data["reference"]
        )
        searched = True
    elif surname_form.is_bound and surname_form.is_valid():
        appointments = queries.find_by_surname(
            centre,
            day,
            surname=surname_form.cleaned_data["surname"],
            date_of_birth=surname_form.cleaned_data["date_of_birth"],
        )
        searched = True
    search_failed = bool(reference_form.errors or surname_form.errors)
    if appointments is None:
        appointments = list(queries.day_appointments(centre, day))
    may_mark_no_shows = user.may_at(centre_id, StaffStep.MARK_NO_SHOW)
    context |= {
        "day": day,
        "today": today,
        "is_today": day == today,
        "previous_day": day - dt.timedelta(days=1),
        "next_day": day + dt.timedelta(days=1),
        "appointments": appointments,
        "searched": searched,
        "counts": queries.day_counts(centre, day),
        "may_vaccinate": user.may_at(centre_id, StaffStep.VACCINATE),
        "may_mark_no_shows": may_mark_no_shows,
        "remaining_no_shows": (
            queries.remaining_booked(centre, day, timezone.now()).count()
            if may_mark_no_shows
            else 0
        ),
        "may_read_audit_log": may_read_centre_log(user, centre_id),
    }
    return render(request, "checkin/day.html", context, status=400 if search_failed else 200)


@require_http_methods(["GET", "POST"])
@staff_required
def no_shows_page(request: HttpRequest, centre_id: int) -> HttpResponse:
    """Managers, at the end of a day: GET lists who would be marked as a no-show (booked,
    their slot over) and asks to confirm; POST marks them."""
    user = signed_in_user(request)
    if not user.may_at(centre_id, StaffStep.MARK_NO_SHOW):
        raise Http404
    centre = get_object_or_404(Centre, pk=centre_id)
    day_form = DayForm(request.POST if request.method == "POST" else request.GET)
    if not day_form.is_valid():
        return render(
            request, "checkin/no_shows.html", {"centre": centre, "day_form": day_form}, status=400
        )
    day: dt.date = day_form.cleaned_data["date"] or centre.local_date(timezone.now())
    if request.method == "POST":
        try:
            marked = mark_remaining_no_shows(
                staff=user, centre_id=centre_id, day=day, client_address=client_address(request)
            )
        except NotPermitted:  # the role was taken away meanwhile
            raise Http404 from None
        messages.success(
            request,
            ngettext(
                "%(count)d appointment marked as a no-show.",
                "%(count)d appointments marked as no-shows.",
                marked,
            )
            % {"count": marked},
        )
        return redirect(_day_url(centre_id, day))
    remaining = list(queries.remaining_booked(centre, day, timezone.now()))
    return render(
        request,
        "checkin/no_shows.html",
        {"centre": centre, "day_form": day_form, "day": day, "remaining": remaining},
    )


# --- record the dose ------------------------------------------------------------------------


@require_http_methods(["GET", "POST"])
@staff_required
def record_dose_page(
    request: HttpRequest, centre_id: int, appointment_id: uuid.UUID
) -> HttpResponse:
    """Vaccinators record the dose given to a checked-in person: the appointment's vaccine,
    the lot number, the injection site and the time (now unless changed)."""
    user = signed_in_user(request)
    if not user.may_at(centre_id, StaffStep.VACCINATE):
        raise Http404
    appointment = queries.appointment_at(centre_id, appointment_id)
    if appointment is None:
        raise Http404
    centre = appointment.slot.centre
    context: dict[str, Any] = {"centre": centre, "appointment": appointment}
    if appointment.status != AppointmentStatus.CHECKED_IN:
        # Not checked in yet, or the dose is recorded already (perhaps by a colleague a
        # moment ago): nothing to record here.
        return render(
            request,
            "checkin/record_dose.html",
            context,
            status=409 if request.method == "POST" else 200,
        )
    now_here = timezone.localtime(timezone=centre.zone)
    # The time is typed in the centre's zone: the form reads it there.
    with timezone.override(centre.zone):
        form = VaccinationForm(
            request.POST if request.method == "POST" else None,
            initial={"administered_at": now_here.strftime("%Y-%m-%dT%H:%M")},
        )
        is_valid = form.is_bound and form.is_valid()
    context["form"] = form
    if is_valid:
        try:
            services.record_vaccination(
                appointment_id=appointment.pk,
                staff=user,
                lot_number=form.cleaned_data["lot_number"],
                injection_site=form.cleaned_data["injection_site"],
                administered_at=form.cleaned_data["administered_at"],
                client_address=client_address(request),
            )
        except NotPermitted:  # the role was taken away meanwhile
            raise Http404 from None
        except InvalidTransition:
            appointment.refresh_from_db()
            return render(request, "checkin/record_dose.html", context, status=409)
        except InvalidRecord as refused:
            form.add_error("administered_at", refused.message)
        else:
            messages.success(
                request,
                _("Dose recorded for %(name)s.") % {"name": appointment.person.full_name},
            )
            return redirect(_day_url(centre_id, centre.local_date(appointment.slot.starts_at)))
    status = 400 if form.errors else 200
    return render(request, "checkin/record_dose.html", context, status=status)


def _day_url(centre_id: int, day: dt.date) -> str:
    return f"{reverse('staff_day', args=[centre_id])}?{urlencode({'date': day.isoformat()})}"
