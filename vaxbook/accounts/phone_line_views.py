"""The phone line's pages (vaxbook.accounts.phone_line holds the rules): search, a person's
record, finding a place and booking, moving, cancelling, and the letter to post.

Only phone line agents reach them (anyone else: 404, as for a page that does not exist). The
call (its reason and the people found) is kept in the agent's session between pages."""

import datetime as dt
import functools
import uuid
from collections.abc import Callable
from typing import Any

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from vaxbook.accounts import people, phone_line
from vaxbook.accounts.current import signed_in_user
from vaxbook.accounts.forms import PersonForm, PhoneSearchForm
from vaxbook.accounts.models import Citizen, User
from vaxbook.accounts.staff import staff_required
from vaxbook.bookings import eligibility_check
from vaxbook.bookings.models import Appointment
from vaxbook.centres import queries as centre_queries
from vaxbook.centres.models import Centre
from vaxbook.core.clients import client_address
from vaxbook.core.errors import DomainError
from vaxbook.credentials.qr import qr_svg
from vaxbook.credentials.tokens import issue_token

CALL_KEY = "vaxbook_phone_call"

View = Callable[..., HttpResponse]


def agent_required(view: View) -> View:
    """staff_required, and a 404 for anyone but a phone line agent."""

    @functools.wraps(view)
    def guarded(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        if not signed_in_user(request).is_call_agent:
            raise Http404
        return view(request, *args, **kwargs)

    return staff_required(guarded)


def _agent(request: HttpRequest) -> User:
    return phone_line.ensure_agent(signed_in_user(request))


def _call(request: HttpRequest) -> phone_line.Call | None:
    return phone_line.Call.of(request.session.get(CALL_KEY))


def _keep(request: HttpRequest, call: phone_line.Call) -> None:
    request.session[CALL_KEY] = call.as_dict()


def _person(request: HttpRequest, person_id: int) -> tuple[phone_line.Call, Citizen]:
    call = _call(request)
    if call is None:  # no search in this session: nobody to reach
        raise Http404
    try:
        person = phone_line.person_in_call(agent=_agent(request), call=call, person_id=person_id)
    except people.PersonNotFound:
        raise Http404 from None
    return call, person


def _appointment(
    request: HttpRequest, appointment_id: uuid.UUID
) -> tuple[phone_line.Call, Appointment]:
    call = _call(request)
    if call is None:
        raise Http404
    try:
        appointment = phone_line.appointment_in_call(
            agent=_agent(request), call=call, appointment_id=appointment_id
        )
    except people.PersonNotFound:
        raise Http404 from None
    return call, appointment


def _day(request: HttpRequest, centre: Centre) -> dt.date:
    try:
        day = dt.date.fromisoformat(request.GET.get("date", ""))
    except ValueError:
        day = centre.local_date(timezone.now())
    return max(day, centre.local_date(timezone.now()))


@require_http_methods(["GET", "POST"])
@agent_required
def phone_home(request: HttpRequest) -> HttpResponse:
    """Search for the caller (POST: the date of birth stays out of addresses and logs)."""
    agent = _agent(request)
    form = PhoneSearchForm(request.POST or None)
    context: dict[str, Any] = {"form": form, "searched": False}
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            call, found = phone_line.find_people(
                agent=agent,
                full_name=data["full_name"],
                date_of_birth=data["date_of_birth"],
                phone=data["phone"],
                reason=data["reason"],
                client_address=client_address(request),
            )
        except ValidationError as error:
            for field, field_messages in error.message_dict.items():
                for message in field_messages:
                    form.add_error(field, message)
        except phone_line.SearchTooVague as error:
            form.add_error(None, error.message)
        else:
            _keep(request, call)
            context.update(
                searched=True,
                found=[(person, phone_line.phone_hint(person.phone)) for person in found],
                new_person=PersonForm(
                    initial={
                        "full_name": data["full_name"],
                        "date_of_birth": data["date_of_birth"],
                        "phone": data["phone"],
                    }
                ),
            )
    status = 400 if form.errors else 200
    return render(request, "accounts/phone/home.html", context, status=status)


@require_POST
@agent_required
def phone_create(request: HttpRequest) -> HttpResponse:
    """A record for a caller the search did not find."""
    call = _call(request)
    if call is None:
        return redirect("phone_home")
    form = PersonForm(request.POST)
    if form.is_valid():
        try:
            person = phone_line.create_person(
                agent=_agent(request),
                call=call,
                client_address=client_address(request),
                **form.cleaned_data,
            )
        except ValidationError as error:
            for field, field_messages in error.message_dict.items():
                for message in field_messages:
                    form.add_error(field, message)
        else:
            _keep(request, call)
            return redirect("phone_person", person_id=person.pk)
    context = {"form": PhoneSearchForm(), "searched": True, "found": [], "new_person": form}
    return render(request, "accounts/phone/home.html", context, status=400)


@require_GET
@agent_required
def phone_person(request: HttpRequest, person_id: int) -> HttpResponse:
    """What the call needs of a person: their appointments, what they may book, and the
    centres near the place the caller names."""
    call, person = _person(request, person_id)
    text = " ".join(request.GET.get("q", "").split())[:100]
    doses = eligibility_check.doses_to_ask_about()
    eligibility = [
        eligibility_check.check_eligibility(date_of_birth=person.date_of_birth, dose_number=dose)
        for dose in doses
    ]
    context = {
        "call": call,
        "person": person,
        "phone_hint": phone_line.phone_hint(person.phone),
        "appointments": phone_line.appointments_of(person),
        "eligibility": eligibility,
        "q": text,
        "centres": centre_queries.search_centres(text=text) if text else None,
    }
    return render(request, "accounts/phone/person.html", context)


@require_http_methods(["GET", "POST"])
@agent_required
def phone_book(request: HttpRequest, person_id: int, centre_pk: int) -> HttpResponse:
    """A day of the centre's slots; one POST books the dose chosen for the person. (Not
    `centre_id` in the URL: staff_required would take it for the agent's own centre.)"""
    call, person = _person(request, person_id)
    centre = get_object_or_404(Centre, pk=centre_pk, is_active=True)
    day = _day(request, centre)
    error: DomainError | None = None
    if request.method == "POST":
        try:
            slot_id, dose_number = int(request.POST["slot_id"]), int(request.POST["dose_number"])
        except (KeyError, ValueError):
            error = DomainError(_("Choose a time and a dose."))
        else:
            try:
                appointment = phone_line.book_for(
                    agent=_agent(request),
                    call=call,
                    person=person,
                    slot_id=slot_id,
                    dose_number=dose_number,
                    client_address=client_address(request),
                )
            except DomainError as refused:
                error = refused
            else:
                messages.success(
                    request,
                    _("Booked: reference %(ref)s.") % {"ref": appointment.display_reference},
                )
                return redirect("phone_person", person_id=person.pk)
    slots = centre_queries.day_slots(centre=centre, day=day)
    context = {
        "person": person,
        "centre": centre,
        "day": day,
        "slots": slots,
        "previous_day": day - dt.timedelta(days=1),
        "next_day": day + dt.timedelta(days=1),
        "doses": eligibility_check.doses_to_ask_about(),
        "error": error,
    }
    return render(request, "accounts/phone/book.html", context, status=409 if error else 200)


@require_http_methods(["GET", "POST"])
@agent_required
def phone_move(request: HttpRequest, appointment_id: uuid.UUID) -> HttpResponse:
    """Another time at the same centre for the same vaccine; one POST moves it."""
    call, appointment = _appointment(request, appointment_id)
    centre = appointment.slot.centre
    day = _day(request, centre)
    error: DomainError | None = None
    if request.method == "POST":
        try:
            slot_id = int(request.POST["slot_id"])
        except (KeyError, ValueError):
            error = DomainError(_("Choose a time."))
        else:
            try:
                phone_line.reschedule_for(
                    agent=_agent(request),
                    call=call,
                    appointment_id=appointment.pk,
                    new_slot_id=slot_id,
                    client_address=client_address(request),
                )
            except DomainError as refused:
                error = refused
            else:
                messages.success(request, _("Appointment moved."))
                return redirect("phone_person", person_id=appointment.person_id)
    slots = centre_queries.day_slots(centre=centre, day=day, vaccine_id=appointment.slot.vaccine_id)
    context = {
        "appointment": appointment,
        "person": appointment.person,
        "centre": centre,
        "day": day,
        "slots": slots,
        "previous_day": day - dt.timedelta(days=1),
        "next_day": day + dt.timedelta(days=1),
        "error": error,
    }
    return render(request, "accounts/phone/move.html", context, status=409 if error else 200)


@require_POST
@agent_required
def phone_cancel(request: HttpRequest, appointment_id: uuid.UUID) -> HttpResponse:
    call, appointment = _appointment(request, appointment_id)
    try:
        phone_line.cancel_for(
            agent=_agent(request),
            call=call,
            appointment_id=appointment.pk,
            client_address=client_address(request),
        )
    except DomainError as refused:
        messages.error(request, refused.message)
    else:
        messages.success(request, _("Appointment cancelled."))
    return redirect("phone_person", person_id=appointment.person_id)


@require_GET
@agent_required
def phone_letter(request: HttpRequest, appointment_id: uuid.UUID) -> HttpResponse:
    """The confirmation as a letter to print and post, with its QR code."""
    call, appointment = _appointment(request, appointment_id)
    if not appointment.is_live:
        raise Http404
    phone_line.record_letter(
        agent=_agent(request),
        call=call,
        appointment=appointment,
        client_address=client_address(request),
    )
    context = {"appointment": appointment, "qr": qr_svg(issue_token(appointment))}
    return render(request, "accounts/phone/letter.html", context)
