"""API: a citizen's own appointments: book, list, read, cancel, reschedule, and the QR code
and calendar entry of one.

Every endpoint calls the same services and queries as the pages. Someone else's appointment
is a 404 `not_found`, exactly like a missing one. Booking, cancelling and rescheduling
accept an Idempotency-Key (vaxbook.api.idempotency) and count against the booking rate
limits.
"""

import uuid

from django.http import HttpRequest, HttpResponse
from django.utils.translation import gettext as _
from ninja import Field, Query, Router
from ninja.decorators import decorate_view
from ninja.params import HeaderEx, P, PathEx

from vaxbook.accounts import people
from vaxbook.accounts.models import Citizen, User
from vaxbook.api import http, idempotency
from vaxbook.api.auth import bearer, caller, citizen_of
from vaxbook.api.problems import ApiProblem, Problem
from vaxbook.api.schemas import AppointmentOut, DoseNumber, Id, Input, Output
from vaxbook.bookings import queries, services
from vaxbook.bookings.errors import AppointmentNotFound
from vaxbook.bookings.models import Appointment, BookingChannel
from vaxbook.core import ratelimit
from vaxbook.core.clients import client_address
from vaxbook.credentials.qr import qr_svg
from vaxbook.notifications.calendar import published_ics
from vaxbook.waiting_room.gate import require_api_pass

router = Router(tags=["appointments"], auth=bearer)

IdempotencyKey = HeaderEx[
    str | None,
    P(
        alias=idempotency.HEADER,
        pattern=idempotency.KEY_PATTERN,
        description="Any unique string (a UUID): sending the same request again with the "
        "same key replays the first answer instead of doing it twice. Kept 24 hours.",
    ),
]
AppointmentId = PathEx[uuid.UUID, P(description="The appointment's id.")]

NOT_FOUND = {404: "`not_found`: no such appointment of yours."}
CITIZEN = {
    403: "`citizen_required`: the account has no citizen profile (staff). While a waiting "
    "room is active: `pass_required` (no Waiting-Room-Pass header: join the line at "
    "POST /waiting-room/tickets), `pass_invalid` (forged, expired, or bound to another "
    "account)."
}
RATE = {429: "`rate_limited`: too many changes from this account or address."}
REUSED = "`idempotency_key_reused`: the key was used for another request"


def _described(descriptions: dict[int, str]) -> dict[str, dict[int, dict[str, str]]]:
    return {"responses": {status: {"description": text} for status, text in descriptions.items()}}


class BookingIn(Input):
    slot_id: Id
    dose_number: DoseNumber = Field(
        description="1 for the first dose; at most the vaccine's number of doses."
    )
    person_id: Id | None = Field(
        default=None,
        description="For one of the people you book for (GET /people); yourself when left out.",
    )


class RescheduleIn(Input):
    slot_id: Id = Field(description="The new slot: same vaccine, any time you are eligible for.")


class AppointmentPage(Output):
    items: list[AppointmentOut]
    count: int


def _limit(request: HttpRequest, user: User) -> None:
    # While a waiting room is active, every change needs its pass (403 otherwise): the
    # account's, whichever of its people the change is for.
    require_api_pass(request, user.pk)
    ratelimit.hit(*ratelimit.booking(client_address(request), user.pk))


def _person_booked(request: HttpRequest, person_id: int | None) -> tuple[Citizen, User]:
    """Whom a booking is for (the caller, or one of the people they book for), and the
    account that books."""
    user = caller(request)
    person = people.person_or_self(user=user, person_id=person_id, own=lambda: citizen_of(request))
    return person, user


def _on_behalf(person: Citizen, user: User) -> services.OnBehalf | None:
    if person.user_id == user.pk:
        return None
    return services.OnBehalf(user=user, channel=BookingChannel.RELATIVE)


def _person_of(request: HttpRequest, appointment_id: uuid.UUID) -> tuple[Citizen, User]:
    """The person whose appointment this is, among those the caller reaches (404
    otherwise), and the caller."""
    user = caller(request)
    try:
        appointment = queries.own_appointment(user=user, appointment_id=appointment_id)
    except AppointmentNotFound:
        citizen_of(request)  # an account that books for nobody gets 403 citizen_required
        raise
    return appointment.person, user


def _as_is(appointment: Appointment) -> dict[str, object]:
    return AppointmentOut.of(appointment).model_dump(mode="json")


@router.post(
    "/appointments",
    response={201: AppointmentOut, 403: Problem, 409: Problem, 422: Problem, 429: Problem},
    summary="Book an appointment",
    openapi_extra=_described(
        {
            **CITIZEN,
            409: "`slot_full`: no place left; `already_booked`: you hold this dose already; "
            "`slot_unavailable`: no such slot, closed, or started.",
            422: "`not_eligible`: `detail` says why (age, dose order, interval); "
            f"{REUSED}; `validation_error`.",
            **RATE,
        }
    ),
)
@decorate_view(http.private)
def book(request: HttpRequest, payload: BookingIn, key: IdempotencyKey = None) -> HttpResponse:
    """Book dose `dose_number` in slot `slot_id`, for yourself or for one of the people you
    book for (`person_id`). The answer carries the signed confirmation (`token`) for the
    QR code; the confirmation email follows (to you, and to the person when they have an
    address)."""
    person, user = _person_booked(request, payload.person_id)
    _limit(request, user)
    return idempotency.respond(
        request,
        user=user,
        key=key,
        payload=payload.model_dump(),
        status=201,
        perform=lambda within: services.book_appointment(
            person=person,
            slot_id=payload.slot_id,
            dose_number=payload.dose_number,
            within=within,
            on_behalf=_on_behalf(person, user),
        ),
        render=_as_is,
    )


@router.get("/appointments", response={200: AppointmentPage}, summary="Your appointments")
@decorate_view(http.private)
def list_appointments(request: HttpRequest, page: Query[http.PageQuery]) -> AppointmentPage:
    """Your own appointments and those of the people you book for (`person_id` says whose),
    soonest first, cancelled ones included."""
    items, count = http.page(queries.own_appointments(caller(request)), page)
    return AppointmentPage(items=[AppointmentOut.of(item) for item in items], count=count)


@router.get(
    "/appointments/{appointment_id}",
    response={200: AppointmentOut, 404: Problem},
    summary="One of your appointments",
    openapi_extra=_described(NOT_FOUND),
)
@decorate_view(http.private)
def get_appointment(request: HttpRequest, appointment_id: AppointmentId) -> AppointmentOut:
    return AppointmentOut.of(
        queries.own_appointment(user=caller(request), appointment_id=appointment_id)
    )


@router.post(
    "/appointments/{appointment_id}/cancel",
    response={
        200: AppointmentOut,
        403: Problem,
        404: Problem,
        409: Problem,
        422: Problem,
        429: Problem,
    },
    summary="Cancel an appointment",
    openapi_extra=_described(
        {
            **CITIZEN,
            **NOT_FOUND,
            409: "`not_cancellable`: checked in, started, or cancelled already.",
            422: f"{REUSED}; `validation_error`.",
            **RATE,
        }
    ),
)
@decorate_view(http.private)
def cancel(
    request: HttpRequest, appointment_id: AppointmentId, key: IdempotencyKey = None
) -> HttpResponse:
    """Cancel your booked appointment (or that of a person you book for); its place goes
    back to the slot at once."""
    person, user = _person_of(request, appointment_id)
    _limit(request, user)
    return idempotency.respond(
        request,
        user=user,
        key=key,
        payload=None,
        status=200,
        perform=lambda within: services.cancel_appointment(
            person=person, appointment_id=appointment_id, within=within
        ),
        render=_as_is,
    )


@router.post(
    "/appointments/{appointment_id}/reschedule",
    response={
        200: AppointmentOut,
        403: Problem,
        404: Problem,
        409: Problem,
        422: Problem,
        429: Problem,
    },
    summary="Move an appointment to another slot",
    openapi_extra=_described(
        {
            **CITIZEN,
            **NOT_FOUND,
            409: "`not_cancellable`: it can no longer be moved; `slot_full`, "
            "`slot_unavailable`: the new slot cannot be had; `already_booked`: it is "
            "already at that time. The appointment then stays as it was.",
            422: "`not_eligible`: not at that time, or a slot of another vaccine (to "
            f"change vaccine, cancel and book again); {REUSED}; `validation_error`.",
            **RATE,
        }
    ),
)
@decorate_view(http.private)
def reschedule(
    request: HttpRequest,
    appointment_id: AppointmentId,
    payload: RescheduleIn,
    key: IdempotencyKey = None,
) -> HttpResponse:
    """Move your booked appointment to `slot_id`, keeping its reference. All or nothing:
    if the new place cannot be had, the old one is kept."""
    person, user = _person_of(request, appointment_id)
    _limit(request, user)
    return idempotency.respond(
        request,
        user=user,
        key=key,
        payload=payload.model_dump(),
        status=200,
        perform=lambda within: services.reschedule_appointment(
            person=person,
            appointment_id=appointment_id,
            new_slot_id=payload.slot_id,
            within=within,
        ),
        render=_as_is,
    )


@router.get(
    "/appointments/{appointment_id}/qr.svg",
    response={200: None, 404: Problem},
    summary="The QR code of an appointment",
    openapi_extra={
        "responses": {
            200: {
                "description": "The QR code (SVG) carrying the signed confirmation.",
                "content": {"image/svg+xml": {"schema": {"type": "string"}}},
            },
            404: {"description": NOT_FOUND[404] + " Or cancelled or missed: no code."},
        }
    },
)
@decorate_view(http.private)
def appointment_qr(request: HttpRequest, appointment_id: AppointmentId) -> HttpResponse:
    appointment = queries.own_appointment(user=caller(request), appointment_id=appointment_id)
    token = AppointmentOut.of(appointment).token
    if token is None:
        raise ApiProblem(
            404, "not_found", _("This appointment has no confirmation code: it is not live.")
        )
    return HttpResponse(qr_svg(token), content_type="image/svg+xml")


@router.get(
    "/appointments/{appointment_id}/calendar.ics",
    response={200: None, 404: Problem},
    summary="The calendar entry of an appointment",
    openapi_extra={
        "responses": {
            200: {
                "description": "An iCalendar file (RFC 5545) to import, METHOD:PUBLISH; "
                "a cancelled appointment's event has STATUS:CANCELLED.",
                "content": {"text/calendar": {"schema": {"type": "string"}}},
            },
            **_described(NOT_FOUND)["responses"],
        }
    },
)
@decorate_view(http.private)
def appointment_calendar(request: HttpRequest, appointment_id: AppointmentId) -> HttpResponse:
    appointment = queries.own_appointment(user=caller(request), appointment_id=appointment_id)
    response = HttpResponse(published_ics(appointment), content_type="text/calendar")
    response["Content-Disposition"] = (
        f'attachment; filename="vaccination-{appointment.reference}.ics"'
    )
    return response
