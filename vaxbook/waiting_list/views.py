"""The waiting-list pages: join, see, change and leave one's entries, and answer an offer.

Each view parses, calls one service, renders. Someone else's entry or offer is a 404, the
same page as a missing one; an offer link that does not verify is a 404 too."""

import datetime as dt

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_http_methods

from vaxbook.accounts.models import Citizen
from vaxbook.bookings.errors import AlreadyBooked, NotEligible
from vaxbook.centres.models import Centre
from vaxbook.core.errors import DomainError
from vaxbook.core.ratelimit import booking_limits, limit_posts
from vaxbook.waiting_list import services
from vaxbook.waiting_list.errors import (
    AlreadyWaiting,
    EntryNotFound,
    InvalidEntry,
    OfferClosed,
    OfferNotFound,
)
from vaxbook.waiting_list.forms import JoinForm, WishForm, initial_wish
from vaxbook.waiting_list.models import OfferStatus, WaitingEntry
from vaxbook.waiting_list.tokens import offer_id_from


def _citizen(request: HttpRequest) -> Citizen:
    try:
        return request.user.citizen  # type: ignore[union-attr]
    except (Citizen.DoesNotExist, AttributeError):
        raise PermissionDenied from None


def _centres() -> list[Centre]:
    return list(Centre.objects.filter(is_active=True).order_by("town", "name"))


def _int(value: str | None) -> int | None:
    try:
        return int(value or "")
    except ValueError:
        return None


def _date(value: str | None) -> dt.date | None:
    try:
        return dt.date.fromisoformat(value or "")
    except ValueError:
        return None


@require_GET
@login_required
def entry_list(request: HttpRequest) -> HttpResponse:
    entries = services.own_entries(_citizen(request))
    return render(request, "waiting_list/entry_list.html", {"entries": entries})


@require_http_methods(["GET", "POST"])
@login_required
@limit_posts(booking_limits)
def join(request: HttpRequest) -> HttpResponse:
    person = _citizen(request)
    initial = initial_wish(
        centre_id=_int(request.GET.get("centre")), day=_date(request.GET.get("date"))
    )
    if vaccine := _int(request.GET.get("vaccine")):
        initial["vaccine"] = vaccine
    form = JoinForm(request.POST or None, initial=initial, centres=_centres())
    if request.method == "POST" and form.is_valid():
        try:
            services.join_waiting_list(
                person=person,
                vaccine_id=form.cleaned_data["vaccine"],
                dose_number=form.cleaned_data["dose_number"],
                wish=form.wish(),
            )
        except InvalidEntry as error:
            form.add_domain_errors(error.errors, error.message)
        except (AlreadyWaiting, AlreadyBooked, NotEligible) as error:
            form.add_error(None, error.message)
        else:
            messages.success(request, _("You are on the waiting list."))
            return redirect("waiting_list")
    status = 400 if form.errors else 200
    return render(request, "waiting_list/join.html", {"form": form}, status=status)


@require_http_methods(["GET", "POST"])
@login_required
def change(request: HttpRequest, entry_id: int) -> HttpResponse:
    person = _citizen(request)
    entry = _own_live_entry(person, entry_id)
    initial = {
        "centres": list(entry.centres.values_list("pk", flat=True)),
        "first_day": entry.first_day,
        "last_day": entry.last_day,
        "weekdays": [int(day) for day in entry.weekdays],
        "times_of_day": list(entry.times_of_day),
        "short_notice": entry.short_notice,
    }
    form = WishForm(request.POST or None, initial=initial, centres=_centres())
    if request.method == "POST" and form.is_valid():
        try:
            services.change_entry(person=person, entry_id=entry.pk, wish=form.wish())
        except InvalidEntry as error:
            form.add_domain_errors(error.errors, error.message)
        except EntryNotFound:
            raise Http404 from None
        except DomainError as error:
            form.add_error(None, error.message)
        else:
            messages.success(request, _("Your waiting-list entry has been changed."))
            return redirect("waiting_list")
    status = 400 if form.errors else 200
    context = {"form": form, "entry": entry}
    return render(request, "waiting_list/change.html", context, status=status)


@require_http_methods(["GET", "POST"])
@login_required
def leave(request: HttpRequest, entry_id: int) -> HttpResponse:
    person = _citizen(request)
    entry = _own_live_entry(person, entry_id)
    if request.method == "GET":
        return render(request, "waiting_list/leave.html", {"entry": entry})
    try:
        services.leave_waiting_list(person=person, entry_id=entry.pk)
    except EntryNotFound:
        raise Http404 from None
    messages.success(request, _("You have left the waiting list."))
    return redirect("waiting_list")


@require_http_methods(["GET", "POST"])
@login_required
@limit_posts(booking_limits)
def offer(request: HttpRequest, token: str) -> HttpResponse:
    """The offer from its link (GET: what, where, until when, and two buttons); one POST
    accepts or declines. The GET changes nothing: mail scanners open links too."""
    person = _citizen(request)
    offer_id = offer_id_from(token)
    if offer_id is None:
        raise Http404
    try:
        found = services.own_offer(person, offer_id)
    except OfferNotFound:
        raise Http404 from None
    context: dict[str, object] = {"offer": found, "slot": found.slot, "centre": found.slot.centre}
    if request.method == "GET":
        status = 200 if found.status == OfferStatus.HELD else 409
        return render(request, "waiting_list/offer.html", context, status=status)
    action = request.POST.get("action")
    try:
        if action == "accept":
            appointment = services.accept_offer(person=person, offer_id=found.pk)
            messages.success(request, _("Appointment booked"), extra_tags="done-booked")
            return redirect("appointment", appointment_id=appointment.pk)
        if action == "decline":
            services.decline_offer(person=person, offer_id=found.pk)
            messages.success(request, _("You declined the offer; you are still on the list."))
            return redirect("waiting_list")
    except (OfferClosed, DomainError) as error:
        found.refresh_from_db()
        context["error"] = error
        return render(request, "waiting_list/offer.html", context, status=409)
    context["error"] = DomainError(_("Choose to accept or decline the offer."))
    return render(request, "waiting_list/offer.html", context, status=400)


def _own_live_entry(person: Citizen, entry_id: int) -> WaitingEntry:
    try:
        entry = services.own_entry(person, entry_id)
    except EntryNotFound:
        raise Http404 from None
    if not entry.is_live:
        raise Http404
    return entry
