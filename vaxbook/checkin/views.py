"""Staff pages for the day: validate what a person presents, then check them in.

Each view parses the form, calls vaxbook.checkin.validation, renders the outcome."""

from collections.abc import Callable
from typing import Any

from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, render
from django.utils.translation import gettext_lazy as _
from django.views.decorators.http import require_http_methods, require_POST

from vaxbook.accounts.models import User
from vaxbook.accounts.staff import staff_required
from vaxbook.bookings.errors import NotPermitted
from vaxbook.centres.models import Centre
from vaxbook.checkin.forms import PresentedForm
from vaxbook.checkin.validation import Outcome, Validation, check_in_with, validate

# What each outcome tells the person at the desk: a headline, what to do, and its colour.
OUTCOME_WORDS: dict[Outcome, tuple[Any, Any, str]] = {
    Outcome.VALID: (
        _("Valid"),
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
def validate_page(request: HttpRequest, centre_id: int) -> HttpResponse:
    """The form; on POST, what the presented code or reference means here now."""
    return _answer(request, centre_id, validate, checking_in=False)


@require_POST
@staff_required
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
    user = request.user
    assert isinstance(user, User)  # noqa: S101 (staff_required guarantees it)
    centre = get_object_or_404(Centre, pk=centre_id)
    form = PresentedForm(request.POST if request.method == "POST" else None)
    context: dict[str, Any] = {"centre": centre, "form": form, "checking_in": checking_in}
    if form.is_bound and form.is_valid():
        try:
            validation = judge(staff=user, centre_id=centre_id, **form.presented_as())
        except NotPermitted:  # the membership was removed meanwhile
            raise Http404 from None
        context |= _outcome_context(validation, checking_in=checking_in)
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
