"""Delivering the outbox: the task that sends Message rows, once each, whatever fails.

A message moves by conditional updates only:

    pending --claim--> sending --> sent
       ^                  |  \\--> failed   (a permanent refusal, or MAX_ATTEMPTS used up)
       |                  |   \\-> skipped  (a stale reminder, nobody to send to)
       \\---- retry -------/      (a transient failure: back to pending, later)

Never twice: the claim
----------------------
Any number of tasks may exist for one message (the first one, retries, the lease watchdog
below, the sweep, an admin's retry): whichever runs, it first claims the message with ONE
conditional update,

    UPDATE message SET status = 'sending', claim_token = <new uuid>, attempts = attempts + 1
     WHERE id IN (...) AND (status = 'pending' AND next_attempt_at <= now
                            OR status = 'sending' AND claimed_at <= now - LEASE)

and sends only the rows that now carry its token. Two workers claiming at once: on
PostgreSQL the second UPDATE waits for the first one's row lock, then re-evaluates its
WHERE clause on the committed row, which is `sending` with a fresh claim, and matches
nothing; on SQLite write transactions run one at a time (BEGIN IMMEDIATE). Every later
step is conditional on the token as well, so a worker that lost its claim (see below)
cannot overwrite what the new holder records.

Never lost: crashes
-------------------
The worker (django-tasks-db) does not retry a task and, when killed, leaves the task row
`RUNNING` for good. So whoever claims a message also enqueues, in the claim's transaction,
a watchdog: the same task, run after the LEASE. If the worker dies while sending, the
message stays `sending` until its lease runs out, the watchdog claims it again and sends
it with the same Message-ID. If it did not die, the watchdog finds nothing to claim.
`manage.py sweep_messages` catches what no task covers any more (a task that died between
its start and its claim, e.g. on a database outage).

At least once, not at most once: a worker killed after the mail server accepted a message
but before recording `sent` leaves a `sending` row, which is sent again after the lease.
We choose that over the alternative (marking it sent before sending, and losing it if the
worker dies) because a confirmation that never arrives is the failure this service exists
to prevent, and a repeated email is recognisable: it carries the same Message-ID, derived
from the idempotency key, which mail clients and servers use to fold duplicates. SMS has
no such header: a crash in that window can send a text twice.
"""

import datetime as dt
import logging
import smtplib
import uuid
from typing import Any

from django.db import connections, router, transaction
from django.db.models import F, Q
from django.tasks import task
from django.utils import timezone
from django_tasks_db.backend import DatabaseBackend
from django_tasks_db.models import DBTaskResult, get_date_max

from vaxbook.bookings.models import Appointment, AppointmentStatus
from vaxbook.notifications import messages as rendering
from vaxbook.notifications import sms
from vaxbook.notifications.events import Channel, Event
from vaxbook.notifications.models import Message, MessageStatus

logger = logging.getLogger(__name__)

# How long a claim is valid. Far longer than one send can take (SMTP with a 20 s timeout per
# step, an SMS provider with 15 s), so a live worker never loses its claim to a watchdog.
LEASE = dt.timedelta(minutes=15)
# Tries before a message is given up as failed: retries wait 30 s, 1, 2, 4 ... minutes, at
# most an hour, so the tenth try is about three hours after the first.
MAX_ATTEMPTS = 10
FIRST_RETRY_DELAY = dt.timedelta(seconds=30)
MAX_RETRY_DELAY = dt.timedelta(hours=1)
ERROR_TEXT_LIMIT = 2000


def retry_delay(attempts: int) -> dt.timedelta:
    """The wait after the `attempts`-th failed try: doubles from 30 s, capped at an hour."""
    return min(FIRST_RETRY_DELAY * 2 ** (attempts - 1), MAX_RETRY_DELAY)


def claimable(now: dt.datetime) -> Q:
    """Messages a task may claim at `now`: due ones, and those whose sender's lease ran out."""
    return Q(status=MessageStatus.PENDING, next_attempt_at__lte=now) | Q(
        status=MessageStatus.SENDING, claimed_at__lte=now - LEASE
    )


@task()
def deliver_messages(message_ids: list[int], later: list[int] | None = None) -> None:
    """Send the messages `message_ids` that are due and not being sent by someone else.

    One task carries the messages of one announcement (the email and the SMS), so that a
    booking writes one task rather than one per message: `later` are its messages due
    later (the reminders), which this task gives a task of their own, at their time."""
    for message in _claim(message_ids, timezone.now(), later=later or []):
        _deliver(message)


# What `deliver_messages.enqueue(...)` writes on the database task backend, in one
# hand-written statement: through the ORM the same row costs a booking about 0.7 ms of
# Python (model instance, signals, query compiling), as much as the rest of the booking's
# writes together. The worker reads it like any other task. The task_enqueued signal is not
# sent for it (Django's only receiver logs at DEBUG level).
_ENQUEUE = """
    INSERT INTO django_tasks_database_dbtaskresult
           (id, status, enqueued_at, args_kwargs, priority, task_path, worker_ids,
            queue_name, backend_name, run_after, exception_class_path, traceback)
    VALUES (%s, 'READY', %s, %s, %s, %s, %s, %s, %s, %s, '', '')
"""

_TASK_FIELDS = {field.name: field for field in DBTaskResult._meta.concrete_fields}


def enqueue_delivery(message_ids: list[int], later: list[int]) -> None:
    """`deliver_messages.enqueue(message_ids, later)`, in the caller's transaction."""
    backend = deliver_messages.get_backend()
    if not isinstance(backend, DatabaseBackend):  # another backend (tests may swap it)
        deliver_messages.enqueue(message_ids, later)
        return
    connection = connections[router.db_for_write(DBTaskResult)]

    def value(name: str, python: object) -> Any:
        return _TASK_FIELDS[name].get_db_prep_save(python, connection)

    with connection.cursor() as cursor:
        cursor.execute(
            _ENQUEUE,
            [
                value("id", uuid.uuid4()),
                value("enqueued_at", timezone.now()),
                value("args_kwargs", {"args": [message_ids, later], "kwargs": {}}),
                deliver_messages.priority,
                deliver_messages.module_path,
                value("worker_ids", []),
                deliver_messages.queue_name,
                backend.alias,
                value("run_after", get_date_max()),  # what the backend stores for "now"
            ],
        )


def _claim(message_ids: list[int], now: dt.datetime, *, later: list[int]) -> list[Message]:
    token = uuid.uuid4()
    with transaction.atomic():
        if later:
            _schedule(later)
        claimed = (
            Message.objects.filter(pk__in=message_ids)
            .filter(claimable(now))
            .update(
                status=MessageStatus.SENDING,
                claimed_at=now,
                claim_token=token,
                attempts=F("attempts") + 1,
            )
        )
        if not claimed:
            return []
        messages = list(
            Message.objects.filter(pk__in=message_ids, claim_token=token).select_related(
                "appointment__slot__centre",
                "appointment__slot__vaccine",
                "appointment__person__user",
                "appointment__vaccination",
            )
        )
        # The watchdog, committed with the claim: see the module docstring.
        deliver_messages.using(run_after=now + LEASE).enqueue([m.pk for m in messages])
    return messages


def _schedule(message_ids: list[int]) -> None:
    """A task for each due time of these pending messages, run at that time."""
    due_times: dict[dt.datetime, list[int]] = {}
    for message_id, due in Message.objects.filter(
        pk__in=message_ids, status=MessageStatus.PENDING
    ).values_list("pk", "next_attempt_at"):
        due_times.setdefault(due, []).append(message_id)
    for due, ids in sorted(due_times.items()):
        deliver_messages.using(run_after=due).enqueue(ids)


def _deliver(message: Message) -> None:
    try:
        skip_reason = _reason_to_skip(message) or _send(message)
    except Exception as error:  # any failure to send is retried or recorded; not BaseException
        _record_failure(message, error)
        return
    if skip_reason:
        logger.info("Message %s skipped: %s", message.idempotency_key, skip_reason)
        _settle(message, status=MessageStatus.SKIPPED, last_error=skip_reason)
    else:
        _settle(message, status=MessageStatus.SENT, sent_at=timezone.now(), last_error="")


def _reason_to_skip(message: Message) -> str:
    """Why a reminder should not go out (any longer); empty when it should."""
    if message.event != Event.REMINDER:
        return ""
    appointment = message.appointment
    if appointment.status != AppointmentStatus.BOOKED:
        return f"The appointment is {appointment.get_status_display().lower()}."
    if appointment.slot_id != message.slot_id:
        return "The appointment has moved since this reminder was scheduled."
    if appointment.slot.starts_at <= timezone.now():
        return "The appointment has already started."
    # Moved away and back to this slot: the reminder scheduled by the last move stands.
    if Message.objects.filter(
        appointment_id=appointment.pk,
        event=Event.REMINDER,
        channel=message.channel,
        version__gt=message.version,
    ).exists():
        return "A later reminder replaces this one."
    return ""


def _send(message: Message) -> str:
    """Render and hand the message over; an explanation instead when there is nobody to
    send it to."""
    appointment: Appointment = message.appointment
    event = Event(message.event)
    if message.channel == Channel.SMS:
        phone = appointment.person.phone.strip()
        if not phone:
            return "The person has no phone number."
        text = rendering.render_sms(appointment=appointment, event=event, reason=message.reason)
        sms.get_backend().send(phone, text)
        return ""
    email = rendering.render_email(appointment=appointment, event=event, reason=message.reason)
    if not email.recipients():
        return "The person has no email address."
    email.extra_headers["Message-ID"] = message.email_message_id
    email.send()
    return ""


def _record_failure(message: Message, error: Exception) -> None:
    description = f"{type(error).__name__}: {error}"[:ERROR_TEXT_LIMIT]
    if _is_permanent(error) or message.attempts >= MAX_ATTEMPTS:
        logger.error(
            "Message %s failed after %d attempt(s): %s",
            message.idempotency_key,
            message.attempts,
            description,
        )
        _settle(message, status=MessageStatus.FAILED, last_error=description)
        return
    retry_at = timezone.now() + retry_delay(message.attempts)
    logger.warning(
        "Message %s not sent (attempt %d), retrying at %s: %s",
        message.idempotency_key,
        message.attempts,
        retry_at.isoformat(),
        description,
    )
    # Back to pending and the retry's task in one transaction: a crash between the two
    # cannot leave a pending message that no task will ever send.
    with transaction.atomic():
        if _settle(
            message,
            status=MessageStatus.PENDING,
            next_attempt_at=retry_at,
            last_error=description,
        ):
            deliver_messages.using(run_after=retry_at).enqueue([message.pk])


def _settle(message: Message, **changes: object) -> bool:
    """Record the outcome of our claim, unless the claim was lost meanwhile (our lease ran
    out and another task claimed the message again: it records its own outcome)."""
    settled = Message.objects.filter(
        pk=message.pk, status=MessageStatus.SENDING, claim_token=message.claim_token
    ).update(**changes)
    if not settled:
        logger.warning(
            "Message %s was claimed again while being sent; its new sender records it.",
            message.idempotency_key,
        )
    return bool(settled)


def _is_permanent(error: Exception) -> bool:
    """Whether trying again cannot help: the server refused the address or the content
    (SMTP 5xx replies), or the SMS provider refused the request. Connection failures,
    timeouts and 4xx replies ("try again later") are transient."""
    if isinstance(error, sms.SmsError):
        return error.permanent
    if isinstance(error, smtplib.SMTPRecipientsRefused):
        return all(code >= 500 for code, _reply in error.recipients.values())
    if isinstance(error, smtplib.SMTPSenderRefused | smtplib.SMTPDataError):
        return error.smtp_code >= 500
    return False
