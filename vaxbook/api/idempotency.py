"""Idempotency-Key: a client that did not hear the answer to a booking, a cancellation or a
reschedule sends the same request again with the same key, and gets the first answer back
instead of a second booking.

The rule, per user and key, for LIFETIME (24 hours):

- the first successful request is performed and its response (status and body) recorded;
- the same key with the same request (method, path and body) replays that response,
  with `Idempotent-Replayed: true`, and changes nothing;
- the same key with another request is a 422 `idempotency_key_reused`.

A failed request (409 slot_full, 422 not_eligible...) changed nothing and records nothing:
sending it again with the same key tries again.

The record keeps no signed confirmation: the answer's `token` names the person and their
date of birth, so it is left out of the recorded body, and a replay signs a new one for the
appointment as it is now (a confirmation verifies the same way whenever it was signed; two
signatures of the same claims always differ anyway). The record itself, with nothing
personal left but its account, is deleted once its key has expired (purge_expired, run with
the retention rules, vaxbook.accounts.retention).

How two identical requests at the same instant make one booking
---------------------------------------------------------------
The record is written by ONE statement inside the booking's own transaction (the services'
`within` hook, vaxbook.bookings.services.Within), after the booking's writes:

    INSERT ... ON CONFLICT (user_id, key) DO UPDATE ... WHERE <the old record has expired>

so the key is recorded exactly when the booking commits, and never without it. Of two
racing requests, the second waits for the first at the person's row lock (every citizen
operation takes it first) or, on the key's unique index, at this INSERT; once the first
commits, the second either fails the booking's own rules (already booked, already
cancelled) or finds the key taken (the statement changes no row) and rolls its whole
transaction back. Either way it then reads the committed record and replays it. On SQLite
the transactions simply run one after the other, with the same result.
"""

import datetime as dt
import hashlib
import json
from collections.abc import Callable
from typing import Any

from django.core.serializers.json import DjangoJSONEncoder
from django.db import IntegrityError, connection
from django.http import HttpRequest, HttpResponse
from django.utils import timezone
from django.utils.translation import gettext as _

from vaxbook.accounts.models import User
from vaxbook.api.models import IdempotencyRecord
from vaxbook.api.problems import ApiProblem
from vaxbook.bookings.models import Appointment
from vaxbook.bookings.services import Within
from vaxbook.core.errors import DomainError
from vaxbook.credentials.tokens import issue_token

HEADER = "Idempotency-Key"
LIFETIME = dt.timedelta(hours=24)
MAX_KEY_LENGTH = 255
# Visible ASCII, as the IETF draft's examples: a UUID is the usual choice.
KEY_PATTERN = r"^[\x21-\x7e]{1,255}$"
JSON_CONTENT_TYPE = "application/json; charset=utf-8"
# The answer's field that carries the signed confirmation (never recorded).
CONFIRMATION = "token"

_CLAIM = """
    INSERT INTO api_idempotencyrecord
           (user_id, "key", fingerprint, status_code, body, created_at)
    VALUES (%s, %s, %s, %s, %s, %s)
    ON CONFLICT (user_id, "key") DO UPDATE
       SET fingerprint = excluded.fingerprint, status_code = excluded.status_code,
           body = excluded.body, created_at = excluded.created_at
     WHERE api_idempotencyrecord.created_at < %s
"""


# Read when a keyed request fails, which is most requests when a hot slot fills up: as SQL,
# because the same read through the ORM costs six times as much Python.
_RECORDED = """
    SELECT fingerprint, status_code, body FROM api_idempotencyrecord
     WHERE user_id = %s AND "key" = %s AND created_at > %s
"""


class KeyTaken(Exception):
    """The key was recorded meanwhile by another request: roll this one back."""


type Perform = Callable[[Within | None], Appointment]
type Render = Callable[[Appointment], dict[str, Any]]


def respond(
    request: HttpRequest,
    *,
    user: User,
    key: str | None,
    payload: Any,
    status: int,
    perform: Perform,
    render: Render,
) -> HttpResponse:
    """Run `perform` (a citizen service call, passing on the `within` hook it is given),
    answering `status` with `render(appointment)` as JSON; with a key, as described above."""
    if key is None:
        return _json_response(status, _dump(render(perform(None))))
    now = timezone.now()
    fingerprint = _fingerprint(request, payload)
    recorded: list[str] = []

    def within(appointment: Appointment) -> None:
        answer = render(appointment)
        if not _claim(user, key, fingerprint, status, _dump(_without_confirmation(answer)), now):
            raise KeyTaken
        recorded.append(_dump(answer))

    try:
        perform(within)
    except (KeyTaken, DomainError, IntegrityError) as error:
        record = _recorded(user, key, now)
        if record is None:
            if isinstance(error, KeyTaken):  # recorded, then expired within a request: retry
                raise ApiProblem(
                    409,
                    "idempotency_key_in_use",
                    _("Another request with this Idempotency-Key is in progress. Retry."),
                ) from None
            raise
        recorded_fingerprint, recorded_status, recorded_body = record
        if recorded_fingerprint != fingerprint:
            raise ApiProblem(
                422,
                "idempotency_key_reused",
                _(
                    "This Idempotency-Key was used for another request in the last 24 "
                    "hours. Use a new key for a new request."
                ),
            ) from None
        response = _json_response(recorded_status, _with_confirmation(recorded_body, user))
        response["Idempotent-Replayed"] = "true"
        return response
    return _json_response(status, recorded[0])


def purge_expired(*, now: dt.datetime | None = None) -> int:
    cutoff = (now or timezone.now()) - LIFETIME
    deleted, _by_model = IdempotencyRecord.objects.filter(created_at__lte=cutoff).delete()
    return deleted


def _without_confirmation(answer: dict[str, Any]) -> dict[str, Any]:
    """The answer to record: without its confirmation, if it carries one (a cancellation's
    answer says `null`, and keeps saying it)."""
    if answer.get(CONFIRMATION) is None:
        return answer
    return {name: value for name, value in answer.items() if name != CONFIRMATION}


def _with_confirmation(recorded_body: str, user: User) -> str:
    """The recorded answer, with a confirmation signed now where the first one had one."""
    answer = json.loads(recorded_body)
    if CONFIRMATION in answer:
        return recorded_body
    appointment = (
        Appointment.objects.select_related("person", "slot__centre", "slot__vaccine")
        .filter(pk=answer["id"], person__user=user)
        .first()
    )
    token = None if appointment is None else issue_token(appointment)
    return _dump({**answer, CONFIRMATION: token})


def _fingerprint(request: HttpRequest, payload: Any) -> str:
    canonical = json.dumps(
        [request.method, request.path, payload],
        sort_keys=True,
        separators=(",", ":"),
        cls=DjangoJSONEncoder,
    )
    return hashlib.sha256(canonical.encode()).hexdigest()


def _dump(body: dict[str, Any]) -> str:
    return json.dumps(body, cls=DjangoJSONEncoder, separators=(",", ":"))


def _json_response(status: int, body: str) -> HttpResponse:
    return HttpResponse(body, status=status, content_type=JSON_CONTENT_TYPE)


def _recorded(user: User, key: str, now: dt.datetime) -> tuple[str, int, str] | None:
    """The fingerprint, status and body recorded under the key, if it is live at `now`."""
    with connection.cursor() as cursor:
        cursor.execute(
            _RECORDED, [user.pk, key, connection.ops.adapt_datetimefield_value(now - LIFETIME)]
        )
        row = cursor.fetchone()
    return None if row is None else (row[0], row[1], row[2])


def _claim(
    user: User, key: str, fingerprint: str, status: int, body: str, now: dt.datetime
) -> bool:
    """Record the response under the key, unless a live record holds it already."""
    adapt = connection.ops.adapt_datetimefield_value
    with connection.cursor() as cursor:
        cursor.execute(
            _CLAIM,
            [user.pk, key, fingerprint, status, body, adapt(now), adapt(now - LIFETIME)],
        )
        return cursor.rowcount == 1
