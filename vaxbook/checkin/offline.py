"""The scan page without a network: what a staff tablet keeps, and where its queue goes.

    GET  /staff/centres/<id>/day.json        the centre's local day now, with its appointments
    POST /staff/centres/<id>/check-ins.json  check-ins queued offline -> the outcome of each

The page (static/checkin/scan.js) keeps the day's list and the JWK Set while it is online.
Offline it verifies a confirmation's signature and claims in the browser and queues the
check-in; that is only a first filter. The server decides when the queue arrives: each
queued item goes through check_in_with() exactly as if it were scanned now, so the first
check-in of an appointment wins and a later one, or the same item sent again (a response
lost on a bad connection, a queue replayed), gets `already_checked_in` with when and by
whom. No queue can check a person in twice.

Both views are staff pages for one centre (staff_required: anyone else gets a 404). The
day's list holds names and dates of birth, so it is never stored by a cache.
"""

import datetime as dt
import json
import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from django.http import Http404, HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import get_object_or_404
from django.utils import timezone
from django.utils.dateparse import parse_datetime
from django.utils.translation import gettext as _
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET, require_POST

from vaxbook.accounts.current import signed_in_user
from vaxbook.accounts.models import User
from vaxbook.accounts.staff import staff_required
from vaxbook.bookings.errors import NotPermitted
from vaxbook.bookings.models import Appointment
from vaxbook.centres.models import Centre
from vaxbook.checkin import queries
from vaxbook.checkin.validation import Outcome, Validation, check_in_with
from vaxbook.core.clients import client_address
from vaxbook.credentials.tokens import MAX_TOKEN_LENGTH

# A tablet sends its queue in batches of at most this many; a longer list is refused whole.
MAX_QUEUED_PER_REQUEST = 100
# A full batch of the longest tokens with their other members fits with room to spare;
# anything larger is refused before it is read.
MAX_BODY_BYTES = 640 * 1024
# The page makes client ids with crypto.randomUUID(); anything printable and short will do.
_CLIENT_ID = re.compile(r"[A-Za-z0-9_-]{1,64}")


class BadQueue(Exception):
    """The body is not a queue of check-ins: nothing in it was looked at."""

    def __init__(self, message: str, *, code: str = "bad_request", status: int = 400) -> None:
        super().__init__(message)
        self.message, self.code, self.status = message, code, status


@dataclass(frozen=True)
class QueuedCheckIn:
    """One check-in queued on a device: what was presented (exactly one of token and
    reference), when the device queued it (its own clock: shown back, never trusted) and
    the device's id for it, which the answer carries so the device can drop it from its
    queue."""

    client_id: str
    queued_at: dt.datetime
    token: str | None = None
    reference: str | None = None


# --- reads and writes ---------------------------------------------------------------------


def check_in_queue(
    *, staff: User, centre_id: int, queue: Sequence[QueuedCheckIn], client_address: str
) -> list[Validation]:
    """Each queued check-in, in order, as if presented now (and audited as such). Each is
    its own transaction: one that is refused leaves the others as they are."""
    return [
        check_in_with(
            staff=staff,
            centre_id=centre_id,
            token=item.token,
            reference=item.reference,
            client_address=client_address,
        )
        for item in queue
    ]


# --- the request body ---------------------------------------------------------------------


def parse_queue(body: bytes) -> list[QueuedCheckIn]:
    """`{"items": [{"client_id", "queued_at", "token" | "reference"}, ...]}`, or BadQueue
    saying what is wrong."""
    try:
        data = json.loads(body)
    # RecursionError: a few hundred kilobytes of "[" nest deeper than the parser goes.
    except (ValueError, RecursionError):
        raise BadQueue(_("The body is not JSON.")) from None
    items = data.get("items") if isinstance(data, dict) else None
    if not isinstance(items, list):
        raise BadQueue(_("The body must be an object with a list of check-ins in “items”."))
    if not items:
        raise BadQueue(_("The list of check-ins is empty."))
    if len(items) > MAX_QUEUED_PER_REQUEST:
        raise BadQueue(
            _("Send at most %(count)d check-ins at a time.") % {"count": MAX_QUEUED_PER_REQUEST},
            code="too_many",
            status=413,
        )
    return [_queued(item, index) for index, item in enumerate(items)]


def _queued(item: object, index: int) -> QueuedCheckIn:
    def bad(why: str) -> BadQueue:
        return BadQueue(_("Check-in %(number)d: %(why)s") % {"number": index + 1, "why": why})

    if not isinstance(item, dict):
        raise bad(_("not an object."))
    client_id = item.get("client_id")
    if not isinstance(client_id, str) or not _CLIENT_ID.fullmatch(client_id):
        raise bad(_("“client_id” must be 1 to 64 letters, digits, - or _."))
    queued_at_text = item.get("queued_at")
    try:
        queued_at = parse_datetime(queued_at_text) if isinstance(queued_at_text, str) else None
    except ValueError:
        queued_at = None
    if queued_at is None or timezone.is_naive(queued_at):
        raise bad(_("“queued_at” must be a date and time with its offset (ISO 8601)."))
    presented = {key: item[key] for key in ("token", "reference") if item.get(key) is not None}
    if len(presented) != 1:
        raise bad(_("give exactly one of “token” and “reference”."))
    [(key, value)] = presented.items()
    if not isinstance(value, str) or len(value) > MAX_TOKEN_LENGTH:
        raise bad(
            _("“%(key)s” must be a text of at most %(max)d characters.")
            % {
                "key": key,
                "max": MAX_TOKEN_LENGTH,
            }
        )
    return QueuedCheckIn(client_id=client_id, queued_at=queued_at, **{key: value})


# --- views --------------------------------------------------------------------------------


@require_GET
@never_cache
@staff_required
def day_json(request: HttpRequest, centre_id: int) -> HttpResponse:
    """The centre's local day now and its appointments, for the scan page to keep."""
    centre = get_object_or_404(Centre, pk=centre_id)
    now = timezone.now()
    day = centre.local_date(now)
    appointments = list(queries.day_appointments(centre, day))
    return JsonResponse(
        {
            "centre": {"id": centre.pk, "name": centre.name, "time_zone": centre.time_zone},
            "date": day.isoformat(),
            "generated_at": now.isoformat(),
            "appointments": [_listed(appointment, centre) for appointment in appointments],
            "count": len(appointments),
        }
    )


@require_POST
@never_cache
@staff_required
def check_ins_json(request: HttpRequest, centre_id: int) -> HttpResponse:
    """Check in what a device queued offline; the outcome of each, in the order sent."""
    user = signed_in_user(request)
    if request.content_type != "application/json":
        return _problem(415, "unsupported_media_type", _("Send the check-ins as JSON."))
    try:
        declared = int(request.META.get("CONTENT_LENGTH") or 0)
    except ValueError:
        declared = 0
    if declared > MAX_BODY_BYTES:
        return _problem(413, "too_large", _("Send fewer check-ins at a time."))
    try:
        body = request.body
        if len(body) > MAX_BODY_BYTES:
            return _problem(413, "too_large", _("Send fewer check-ins at a time."))
        queue = parse_queue(body)
        validations = check_in_queue(
            staff=user, centre_id=centre_id, queue=queue, client_address=client_address(request)
        )
    except BadQueue as error:
        return _problem(error.status, error.code, error.message)
    except NotPermitted:  # the membership was removed since the page was opened
        raise Http404 from None
    return JsonResponse(
        {
            "items": [
                _answer(item, validation)
                for item, validation in zip(queue, validations, strict=True)
            ],
            "count": len(queue),
        }
    )


# --- JSON shapes --------------------------------------------------------------------------


def _listed(appointment: Appointment, centre: Centre) -> dict[str, Any]:
    return {
        "id": str(appointment.pk),
        "reference": appointment.reference,
        "display_reference": appointment.display_reference,
        "status": appointment.status,
        "starts_at": appointment.slot.starts_at.astimezone(centre.zone).isoformat(),
        "dose_number": appointment.dose_number,
        "vaccine": appointment.slot.vaccine.name,
        "holder_name": appointment.person.full_name,
        "holder_date_of_birth": appointment.person.date_of_birth.isoformat(),
        **_checked_in(appointment.checked_in_at, appointment.checked_in_by, centre),
    }


def _answer(item: QueuedCheckIn, validation: Validation) -> dict[str, Any]:
    appointment = validation.appointment
    # Who the person is only where the staff page shows it: for a check-in at this desk.
    shows_holder = validation.outcome in {Outcome.VALID, Outcome.ALREADY_CHECKED_IN}
    return {
        "client_id": item.client_id,
        "queued_at": item.queued_at.isoformat(),
        "outcome": validation.outcome.value,
        # check_in_with() answers `valid` only when it has just checked the person in.
        "checked_in": validation.is_valid,
        "appointment": None
        if appointment is None
        else {
            "id": str(appointment.pk),
            "reference": appointment.reference,
            "display_reference": appointment.display_reference,
            "status": appointment.status,
            "holder_name": appointment.person.full_name if shows_holder else None,
        },
        **_checked_in(
            validation.checked_in_at,
            validation.checked_in_by,
            appointment.slot.centre if appointment is not None else None,
        ),
    }


def _checked_in(at: dt.datetime | None, by: User | None, centre: Centre | None) -> dict[str, Any]:
    local = at.astimezone(centre.zone) if at is not None and centre is not None else at
    return {
        "checked_in_at": local.isoformat() if local is not None else None,
        "checked_in_by": by.email if by is not None else None,
    }


def _problem(status: int, code: str, detail: str) -> JsonResponse:
    """An RFC 9457 problem, with the stable `code` the API uses."""
    return JsonResponse(
        {"type": "about:blank", "title": detail, "status": status, "code": code, "detail": detail},
        status=status,
        content_type="application/problem+json",
    )
