"""Staff pages for managing centres. Each view parses a form, calls one service of
vaxbook.centres, and renders or redirects; the services check who may do what.

A page about a centre the user does not manage is a 404, like a centre that does not exist
(staff_required already hides the pages of centres one does not work at)."""

import csv
import datetime as dt
import functools
from collections.abc import Callable, Iterable, Iterator
from typing import Any, cast

from django import forms
from django.contrib import messages
from django.contrib.auth.views import PasswordResetConfirmView
from django.http import (
    Http404,
    HttpRequest,
    HttpResponse,
    HttpResponseBase,
    StreamingHttpResponse,
)
from django.shortcuts import redirect, render
from django.urls import reverse, reverse_lazy
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import ngettext
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from vaxbook.accounts import enrolment
from vaxbook.accounts.current import signed_in_user
from vaxbook.accounts.models import User
from vaxbook.accounts.staff import staff_required
from vaxbook.bookings.models import BookingChannel
from vaxbook.centres import reports, services, slot_generation
from vaxbook.centres.errors import (
    CapacityBelowBooked,
    CentreNotFound,
    InvalidCentre,
    InvalidChange,
    InvalidInvitation,
    InvalidRange,
    InvalidTemplate,
    NotPermitted,
)
from vaxbook.centres.models import Centre
from vaxbook.centres.permissions import is_administrator
from vaxbook.core.clients import client_address
from vaxbook.core.streaming import started
from vaxbook.management import charts
from vaxbook.management.forms import (
    CentreForm,
    CloseDayForm,
    CloseForm,
    DayPlacesForm,
    DayRangeForm,
    InviteForm,
    PlacesForm,
    TemplateForm,
)
from vaxbook.waiting_list import reports as waiting_list_reports

View = Callable[..., HttpResponseBase]


def manager_page(view: View) -> View:
    """staff_required, and a 404 for what the services say the user may not manage."""

    @functools.wraps(view)
    def guarded(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponseBase:
        try:
            return view(request, *args, **kwargs)
        except (NotPermitted, CentreNotFound):
            raise Http404 from None

    # staff_required hands back whatever response the view gives (typed as HttpResponse).
    return staff_required(cast(Callable[..., HttpResponse], guarded))


def _user(request: HttpRequest) -> User:
    return signed_in_user(request)


def _status(*forms_: forms.Form | None) -> int:
    return 400 if any(form is not None and form.errors for form in forms_) else 200


def _add_errors(form: forms.Form, errors: dict[str, list[str]], fallback: str) -> None:
    for field, messages_ in errors.items():
        for message in messages_:
            form.add_error(field if field in form.fields else None, message)
    if not form.errors:
        form.add_error(None, fallback)


# --- home ----------------------------------------------------------------------------------


@require_GET
@manager_page
def manage_home(request: HttpRequest) -> HttpResponse:
    """The centres the user manages; for administrators, also opening a centre and the
    report of all centres."""
    user = _user(request)
    centres = services.managed_centres(user=user)
    if not centres and not is_administrator(user):
        raise Http404
    return render(
        request,
        "management/home.html",
        {"centres": centres, "is_administrator": is_administrator(user)},
    )


@require_GET
@manager_page
def centre_overview(request: HttpRequest, centre_id: int) -> HttpResponse:
    user = _user(request)
    centre = services.managed_centre(user=user, centre_id=centre_id)
    today = centre.local_date(timezone.now())
    return render(
        request,
        "management/centre.html",
        {
            "centre": centre,
            "vaccines": centre.vaccines.order_by("name"),
            "today": today,
            "week": [today + dt.timedelta(days=n) for n in range(7)],
        },
    )


# --- centres -------------------------------------------------------------------------------


@require_http_methods(["GET", "POST"])
@manager_page
def centre_new(request: HttpRequest) -> HttpResponse:
    user = _user(request)
    if not is_administrator(user):
        raise Http404
    form = CentreForm(request.POST if request.method == "POST" else None)
    if request.method == "POST" and form.is_valid():
        try:
            centre = services.create_centre(
                staff=user, details=form.details(), client_address=client_address(request)
            )
        except InvalidCentre as error:
            _add_errors(form, error.errors, error.message)
        else:
            messages.success(request, _("The centre %(name)s is open.") % {"name": centre.name})
            return redirect("manage_centre", centre_id=centre.pk)
    return render(
        request, "management/centre_form.html", {"form": form, "centre": None}, status=_status(form)
    )


@require_http_methods(["GET", "POST"])
@manager_page
def centre_edit(request: HttpRequest, centre_id: int) -> HttpResponse:
    user = _user(request)
    centre = services.managed_centre(user=user, centre_id=centre_id)
    if request.method == "POST":
        form = CentreForm(request.POST)
        if form.is_valid():
            try:
                services.update_centre(
                    staff=user,
                    centre_id=centre.pk,
                    details=form.details(),
                    client_address=client_address(request),
                )
            except InvalidCentre as error:
                _add_errors(form, error.errors, error.message)
            else:
                messages.success(request, _("The centre's details are saved."))
                return redirect("manage_centre", centre_id=centre.pk)
    else:
        form = CentreForm(
            initial={
                "name": centre.name,
                "address": centre.address,
                "postcode": centre.postcode,
                "town": centre.town,
                "phone": centre.phone,
                "latitude": centre.latitude,
                "longitude": centre.longitude,
                "time_zone": centre.time_zone,
                "is_active": centre.is_active,
                "vaccine_ids": list(centre.vaccines.all()),
            }
        )
    return render(
        request,
        "management/centre_form.html",
        {"form": form, "centre": centre},
        status=_status(form),
    )


# --- opening hours -------------------------------------------------------------------------


@require_http_methods(["GET", "POST"])
@manager_page
def opening_hours(request: HttpRequest, centre_id: int) -> HttpResponse:
    user = _user(request)
    centre = services.managed_centre(user=user, centre_id=centre_id)
    vaccines = centre.vaccines.order_by("name")
    form = TemplateForm(request.POST if request.method == "POST" else None, vaccines=vaccines)
    if request.method == "POST" and form.is_valid():
        try:
            services.add_opening_template(
                staff=user,
                centre_id=centre.pk,
                details=form.details(),
                client_address=client_address(request),
            )
        except InvalidTemplate as error:
            _add_errors(form, error.errors, error.message)
        else:
            messages.success(request, _("The opening hours are added."))
            return redirect("manage_hours", centre_id=centre.pk)
    templates = centre.opening_templates.select_related("vaccine")
    return render(
        request,
        "management/hours.html",
        {"centre": centre, "form": form, "templates": templates, "vaccines": vaccines},
        status=_status(form),
    )


@require_POST
@manager_page
def opening_hours_remove(request: HttpRequest, centre_id: int, template_id: int) -> HttpResponse:
    services.remove_opening_template(
        staff=_user(request),
        centre_id=centre_id,
        template_id=template_id,
        client_address=client_address(request),
    )
    messages.success(request, _("The opening hours are removed. Slots already made stay."))
    return redirect("manage_hours", centre_id=centre_id)


# --- generating slots ----------------------------------------------------------------------


@require_http_methods(["GET", "POST"])
@manager_page
def generate(request: HttpRequest, centre_id: int) -> HttpResponse:
    """GET: the range form. POST without `confirm`: the preview. POST with `confirm`: the
    run, then its result."""
    user = _user(request)
    centre = services.managed_centre(user=user, centre_id=centre_id)
    today = centre.local_date(timezone.now())
    preview = result = None
    if request.method == "POST":
        form = DayRangeForm(request.POST)
        if form.is_valid():
            first_day, last_day = form.days()
            confirm = "confirm" in request.POST
            try:
                generation = slot_generation.generate_slots(
                    staff=user,
                    centre_id=centre.pk,
                    first_day=first_day,
                    last_day=last_day,
                    dry_run=not confirm,
                    client_address=client_address(request),
                )
            except InvalidRange as error:
                form.add_error(None, error.message)
            else:
                if confirm:
                    result = generation
                else:
                    preview = generation
    else:
        form = DayRangeForm(initial={"first_day": today, "last_day": today + dt.timedelta(days=13)})
    return render(
        request,
        "management/generate.html",
        {
            "centre": centre,
            "form": form,
            "preview": preview,
            "result": result,
            "max_days": slot_generation.MAX_DAYS,
            "has_templates": centre.opening_templates.exists(),
        },
        status=_status(form),
    )


# --- days and slots: places and closing ----------------------------------------------------


def _day(raw: str) -> dt.date:
    try:
        return dt.date.fromisoformat(raw)
    except ValueError:
        raise Http404 from None


@require_GET
@manager_page
def day_page(request: HttpRequest, centre_id: int, day: str) -> HttpResponse:
    return _render_day(request, centre_id, _day(day))


def _render_day(
    request: HttpRequest,
    centre_id: int,
    day: dt.date,
    *,
    places_form: DayPlacesForm | None = None,
) -> HttpResponse:
    user = _user(request)
    centre = services.managed_centre(user=user, centre_id=centre_id)
    vaccines = centre.vaccines.order_by("name")
    slots = services.day_slots(user=user, centre_id=centre.pk, day=day)
    now = timezone.now()
    return render(
        request,
        "management/day.html",
        {
            "centre": centre,
            "day": day,
            "slots": slots,
            "now": now,
            "offered": sum(slot.capacity for slot in slots if slot.is_open),
            "booked": sum(slot.booked for slot in slots),
            "changeable": any(slot.starts_at > now for slot in slots),
            "closable": any(slot.starts_at > now and slot.is_open for slot in slots),
            "places_form": places_form or DayPlacesForm(vaccines=vaccines),
            "previous_day": day - dt.timedelta(days=1),
            "next_day": day + dt.timedelta(days=1),
        },
        status=_status(places_form),
    )


@require_POST
@manager_page
def day_places(request: HttpRequest, centre_id: int, day: str) -> HttpResponse:
    user = _user(request)
    the_day = _day(day)
    centre = services.managed_centre(user=user, centre_id=centre_id)
    form = DayPlacesForm(request.POST, vaccines=centre.vaccines.order_by("name"))
    if form.is_valid():
        vaccine = form.cleaned_data["vaccine"]
        try:
            changed = services.change_day_capacity(
                staff=user,
                centre_id=centre.pk,
                day=the_day,
                capacity=form.cleaned_data["places"],
                vaccine_id=vaccine.pk if vaccine else None,
                client_address=client_address(request),
            )
        except (CapacityBelowBooked, InvalidChange) as error:
            form.add_error("places", error.message)
        else:
            messages.success(
                request,
                ngettext(
                    "%(count)d slot now has %(places)d places.",
                    "%(count)d slots now have %(places)d places each.",
                    changed,
                )
                % {"count": changed, "places": form.cleaned_data["places"]},
            )
            return redirect("manage_day", centre_id=centre.pk, day=the_day.isoformat())
    return _render_day(request, centre.pk, the_day, places_form=form)


@require_http_methods(["GET", "POST"])
@manager_page
def day_close(request: HttpRequest, centre_id: int, day: str) -> HttpResponse:
    """GET: what closing the day would cancel, and the reason form. POST: close it."""
    user = _user(request)
    the_day = _day(day)
    centre = services.managed_centre(user=user, centre_id=centre_id)
    vaccines = centre.vaccines.order_by("name")
    form = CloseDayForm(request.POST if request.method == "POST" else None, vaccines=vaccines)
    if request.method == "POST" and form.is_valid():
        vaccine = form.cleaned_data["vaccine"]
        try:
            closure = services.close_day(
                staff=user,
                centre_id=centre.pk,
                day=the_day,
                reason=form.cleaned_data["reason"],
                vaccine_id=vaccine.pk if vaccine else None,
                client_address=client_address(request),
            )
        except InvalidChange as error:
            form.add_error(None, error.message)
        else:
            messages.success(request, _closure_message(closure))
            return redirect("manage_day", centre_id=centre.pk, day=the_day.isoformat())
    slots = services.day_slots(user=user, centre_id=centre.pk, day=the_day)
    now = timezone.now()
    open_slots = [slot for slot in slots if slot.is_open and slot.starts_at > now]
    return render(
        request,
        "management/day_close.html",
        {
            "centre": centre,
            "day": the_day,
            "form": form,
            "open_slots": len(open_slots),
            "booked": sum(slot.booked for slot in open_slots),
        },
        status=_status(form),
    )


@require_GET
@manager_page
def slot_page(request: HttpRequest, centre_id: int, slot_id: int) -> HttpResponse:
    return _render_slot(request, centre_id, slot_id)


def _render_slot(
    request: HttpRequest,
    centre_id: int,
    slot_id: int,
    *,
    places_form: PlacesForm | None = None,
    close_form: CloseForm | None = None,
) -> HttpResponse:
    slot = services.managed_slot(user=_user(request), centre_id=centre_id, slot_id=slot_id)
    return render(
        request,
        "management/slot.html",
        {
            "centre": slot.centre,
            "slot": slot,
            "day": slot.local_date,
            "started": slot.starts_at <= timezone.now(),
            "places_form": places_form
            or PlacesForm(prefix="places", initial={"places": slot.capacity}),
            "close_form": close_form or CloseForm(prefix="close"),
        },
        status=_status(places_form, close_form),
    )


@require_POST
@manager_page
def slot_places(request: HttpRequest, centre_id: int, slot_id: int) -> HttpResponse:
    user = _user(request)
    form = PlacesForm(request.POST, prefix="places")
    if form.is_valid():
        try:
            slot = services.change_slot_capacity(
                staff=user,
                centre_id=centre_id,
                slot_id=slot_id,
                capacity=form.cleaned_data["places"],
                client_address=client_address(request),
            )
        except (CapacityBelowBooked, InvalidChange) as error:
            form.add_error("places", error.message)
        else:
            messages.success(
                request, _("The slot now has %(places)d places.") % {"places": slot.capacity}
            )
            return redirect("manage_slot", centre_id=centre_id, slot_id=slot_id)
    return _render_slot(request, centre_id, slot_id, places_form=form)


@require_POST
@manager_page
def slot_close(request: HttpRequest, centre_id: int, slot_id: int) -> HttpResponse:
    user = _user(request)
    form = CloseForm(request.POST, prefix="close")
    if form.is_valid():
        try:
            closure = services.close_slot(
                staff=user,
                centre_id=centre_id,
                slot_id=slot_id,
                reason=form.cleaned_data["reason"],
                client_address=client_address(request),
            )
        except InvalidChange as error:
            form.add_error("reason", error.message)
        else:
            messages.success(request, _closure_message(closure))
            return redirect("manage_slot", centre_id=centre_id, slot_id=slot_id)
    return _render_slot(request, centre_id, slot_id, close_form=form)


def _closure_message(closure: services.Closure) -> str:
    closed = ngettext("%(count)d slot is closed.", "%(count)d slots are closed.", closure.slots) % {
        "count": closure.slots
    }
    cancelled = len(closure.cancelled)
    told = ngettext(
        "%(count)d appointment is cancelled and the person is being told.",
        "%(count)d appointments are cancelled and the people are being told.",
        cancelled,
    ) % {"count": cancelled}
    return f"{closed} {told}"


# --- staff ---------------------------------------------------------------------------------


@require_http_methods(["GET", "POST"])
@manager_page
def staff_page(request: HttpRequest, centre_id: int) -> HttpResponse:
    user = _user(request)
    centre = services.managed_centre(user=user, centre_id=centre_id)
    form = InviteForm(request.POST if request.method == "POST" else None)
    if request.method == "POST" and form.is_valid():
        try:
            invitation = services.invite_staff(
                staff=user,
                centre_id=centre.pk,
                email=form.cleaned_data["email"],
                role=form.cleaned_data["role"],
                client_address=client_address(request),
            )
        except InvalidInvitation as error:
            form.add_error(None, error.message)
        else:
            messages.success(request, _invitation_message(invitation))
            return redirect("manage_staff", centre_id=centre.pk)
    return render(
        request,
        "management/staff.html",
        {
            "centre": centre,
            "form": form,
            "members": services.staff_of(user=user, centre_id=centre.pk),
        },
        status=_status(form),
    )


def _invitation_message(invitation: services.Invitation) -> str:
    membership = invitation.membership
    values = {"email": membership.user.email, "role": membership.get_role_display().lower()}
    match invitation.outcome:
        case "created":
            message = _("%(email)s is now %(role)s here. They get an email to choose a password.")
        case "role_changed":
            message = _("%(email)s is now %(role)s here.")
        case "unchanged":
            message = _("%(email)s was already %(role)s here.")
        case _unused:
            message = _("%(email)s is now %(role)s here, with their existing account.")
    if invitation.email_sent and invitation.outcome != "created":
        message += " " + _("They get a new email to choose a password.")
    return message % values


# --- reports -------------------------------------------------------------------------------


@require_GET
@manager_page
def centre_report(request: HttpRequest, centre_id: int) -> HttpResponse:
    centre = services.managed_centre(user=_user(request), centre_id=centre_id)
    return _render_report(request, centre)


@require_GET
@manager_page
def all_centres_report(request: HttpRequest) -> HttpResponse:
    if not is_administrator(_user(request)):
        raise Http404
    return _render_report(request, None)


def _render_report(request: HttpRequest, centre: Centre | None) -> HttpResponse:
    user = _user(request)
    centre_id = centre.pk if centre else None
    today = reports.report_today(centre_id)
    coming, past = reports.chart_days(user=user, centre_id=centre_id, today=today)
    days = list(
        reports.figures(
            user=user,
            first_day=today - dt.timedelta(days=reports.CHART_DAYS),
            last_day=today + dt.timedelta(days=reports.CHART_DAYS - 1),
            centre_id=centre_id,
            grouping="day",
        )
    )
    by_centre: list[tuple[Centre, reports.Figures]] = []
    if centre is None:
        names = {c.pk: c for c in Centre.objects.all()}
        by_centre = [
            (names[row.centre_id], row)
            for row in reports.figures(
                user=user,
                first_day=today - dt.timedelta(days=reports.CHART_DAYS),
                last_day=today + dt.timedelta(days=reports.CHART_DAYS - 1),
                grouping="centre",
            )
            if row.centre_id in names
        ]
    by_channel = reports.channel_counts(
        user=user,
        first_day=today - dt.timedelta(days=reports.CHART_DAYS),
        last_day=today + dt.timedelta(days=reports.CHART_DAYS - 1),
        centre_id=centre_id,
    )
    waiting_list = waiting_list_reports.totals_by_day(
        waiting_list_reports.figures(
            user=user,
            first_day=today - dt.timedelta(days=reports.CHART_DAYS),
            last_day=today + dt.timedelta(days=reports.CHART_DAYS - 1),
            centre_id=centre_id,
        )
    )
    csv_form = DayRangeForm(
        initial={"first_day": today - dt.timedelta(days=364), "last_day": today},
    )
    return render(
        request,
        "management/report.html",
        {
            "centre": centre,
            "today": today,
            "days": days,
            "by_centre": by_centre,
            "by_channel": [
                (BookingChannel(channel).label, count) for channel, count in by_channel.items()
            ],
            "utilisation_chart": charts.utilisation_chart(coming),
            "no_show_chart": charts.no_show_chart(past),
            "waiting_list": waiting_list,
            "offers_chart": charts.offers_chart(
                waiting_list,
                made=[day.offers_made for day in waiting_list],
                accepted=[day.accepted for day in waiting_list],
            ),
            "waiting_list_csv_url": reverse("waiting_list_report_csv"),
            "csv_form": csv_form,
            "csv_url": (
                reverse("manage_report_csv", args=[centre.pk])
                if centre
                else reverse("all_reports_csv")
            ),
        },
    )


@require_GET
@manager_page
def centre_report_csv(request: HttpRequest, centre_id: int) -> HttpResponseBase:
    return _csv(request, centre_id)


@require_GET
@manager_page
def all_centres_report_csv(request: HttpRequest) -> HttpResponseBase:
    if not is_administrator(_user(request)):
        raise Http404
    return _csv(request, None)


class _Echo:
    """A file whose write() hands the line back: csv.writer formats, the response streams."""

    def write(self, value: str) -> str:
        return value


DAY_COLUMNS = (
    "centre_id",
    "centre",
    "date",
    "slots",
    "places_offered",
    "booked",
    "utilisation",
    "checked_in",
    "vaccinated",
    "no_shows",
    "no_show_rate",
    "cancelled",
)
SLOT_COLUMNS = (
    "centre_id",
    "centre",
    "date",
    "starts",
    "ends",
    "vaccine",
    "open",
    "places",
    "booked",
    "checked_in",
    "vaccinated",
    "no_shows",
    "cancelled",
)


def _csv(request: HttpRequest, centre_id: int | None) -> HttpResponseBase:
    """The figures of a range of days as CSV, streamed: `kind=days` one row per centre and
    day, `kind=slots` one row per slot. Machine-readable: ISO dates, 24-hour local times,
    ratios as decimals, column names in English."""
    user = _user(request)
    # Permission first: a vaccinator is refused (404) before being told the parameters are
    # wrong.
    reports.check_may_report(user=user, centre_id=centre_id)
    form = DayRangeForm(request.GET)
    kind = request.GET.get("kind", "days")
    if kind not in {"days", "slots"} or not form.is_valid():
        return HttpResponse(
            _("Choose the kind of export and a first and last day."),
            status=400,
            content_type="text/plain; charset=utf-8",
        )
    first_day, last_day = form.days()
    try:
        if kind == "days":
            names = dict(Centre.objects.values_list("pk", "name"))
            rows: Iterable[Iterable[Any]] = _day_rows(
                reports.figures(
                    user=user, first_day=first_day, last_day=last_day, centre_id=centre_id
                ),
                names,
            )
        else:
            rows = _slot_rows(
                reports.slot_figures(
                    user=user, first_day=first_day, last_day=last_day, centre_id=centre_id
                )
            )
    except InvalidRange as error:
        return HttpResponse(error.message, status=400, content_type="text/plain; charset=utf-8")
    writer = csv.writer(_Echo())
    header = DAY_COLUMNS if kind == "days" else SLOT_COLUMNS
    lines = (writer.writerow(row) for row in _with_header(header, started(rows)))
    scope = f"centre-{centre_id}" if centre_id else "all-centres"
    filename = f"vaxbook-{scope}-{kind}-{first_day.isoformat()}-{last_day.isoformat()}.csv"
    return StreamingHttpResponse(
        lines,
        content_type="text/csv; charset=utf-8",
        headers={"Content-Disposition": f'attachment; filename="{filename}"'},
    )


def _with_header(header: Iterable[str], rows: Iterable[Iterable[Any]]) -> Iterator[Iterable[Any]]:
    yield header
    yield from rows


def _ratio(value: float | None) -> str:
    return "" if value is None else f"{value:.4f}"


def _day_rows(
    figures: Iterable[reports.Figures], names: dict[int, str]
) -> Iterator[tuple[Any, ...]]:
    for row in figures:
        yield (
            row.centre_id,
            names.get(row.centre_id or 0, ""),
            row.day.isoformat() if row.day else "",
            row.slots,
            row.offered,
            row.booked,
            _ratio(row.utilisation),
            row.checked_in,
            row.vaccinated,
            row.no_shows,
            _ratio(row.no_show_rate),
            row.cancelled,
        )


def _slot_rows(slots: Iterable[reports.SlotFigures]) -> Iterator[tuple[Any, ...]]:
    for slot in slots:
        start, end = slot.local_start, slot.local_end
        yield (
            slot.centre_id,
            slot.centre,
            start.date().isoformat(),
            start.strftime("%H:%M"),
            end.strftime("%H:%M"),
            slot.vaccine,
            "yes" if slot.is_open else "no",
            slot.capacity,
            slot.booked,
            slot.checked_in,
            slot.vaccinated,
            slot.no_shows,
            slot.cancelled,
        )


# --- invited staff choose their password ---------------------------------------------------


class SetPasswordView(PasswordResetConfirmView):
    """The link of the invitation email: choose a password, then add the authenticator in
    the same browser (the grant of vaxbook.accounts.enrolment); the link works once."""

    template_name = "management/set_password.html"
    token_generator = enrolment.invitation_tokens
    post_reset_login = True
    success_url = reverse_lazy("staff_enrol")
    reset_url_token = "choose-password"  # noqa: S105 (a URL segment, not a password)

    def form_valid(self, form: Any) -> HttpResponse:
        response = super().form_valid(form)
        enrolment.grant_enrolment(self.request, form.user)
        return response
