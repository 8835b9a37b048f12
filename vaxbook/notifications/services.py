"""Announcing appointment changes: the outbox rows and the tasks that deliver them.

`announce()` runs inside the transaction of the change it announces (the booking services
call it), and writes there both the Message rows and the task that will send them. So a
rolled-back booking leaves no message and no task, and a committed one always has both:
the confirmation can be late (the mail server is down) but never lost, and never sent for a
booking that did not happen.

What a booking pays for it: one INSERT of its messages (all channels, the reminders too)
and one INSERT of their task (tasks.enqueue_delivery), two statements; a reschedule adds one
read for its occurrence number. Nothing is rendered or sent here.
"""

import datetime as dt
import logging
from dataclasses import dataclass
from typing import Any

from django.db import connection, transaction
from django.db.models import Max
from django.utils import timezone

from vaxbook.bookings.models import Appointment
from vaxbook.centres.models import Slot
from vaxbook.notifications import sms
from vaxbook.notifications.events import Channel, Event
from vaxbook.notifications.models import Message, MessageStatus
from vaxbook.notifications.tasks import LEASE, deliver_messages, enqueue_delivery

logger = logging.getLogger(__name__)

# The reminder goes out the evening before the appointment's day, at this time on the
# centre's clock. An appointment booked after that (for tomorrow, or today) gets none: its
# confirmation has just arrived.
REMINDER_LOCAL_TIME = dt.time(18, 0)

# Events that give the appointment a (new) time, and so a reminder.
SCHEDULING_EVENTS = frozenset({Event.BOOKED, Event.RESCHEDULED})

# A pending message this long overdue has lost its task (see sweep_messages).
ORPHAN_AFTER = dt.timedelta(hours=1)
# Messages one sweep enqueues again at most, of each kind: the next sweep takes the rest.
SWEEP_BATCH = 1000


def announce(*, appointment: Appointment, event: Event, reason: str = "") -> None:
    """Write the messages announcing `event` and enqueue their delivery, in the caller's
    transaction. For a cancellation, `reason` is the centre's reason; empty when the person
    cancelled themselves.

    `appointment.slot` must be its slot after the change (with its centre, for a booking or
    a reschedule: the reminder's time is on the centre's clock). `appointment.person`, when
    already loaded, saves the query for the phone number."""
    if not connection.in_atomic_block:
        raise RuntimeError(
            "announce() runs inside the transaction of the change it announces, so that the "
            "messages exist exactly when the change does."
        )
    now = timezone.now()
    event = Event(event)
    version = _occurrence(appointment, event)
    channels = [Channel.EMAIL]  # every account has an email address (a required field)
    if sms.is_enabled() and _phone(appointment):
        channels.append(Channel.SMS)

    announcements = [_NewMessage(event, channel, now, reason) for channel in channels]
    reminders: list[_NewMessage] = []
    remind_at = reminder_time(appointment.slot) if event in SCHEDULING_EVENTS else None
    if remind_at is not None and remind_at > now:
        reminders = [_NewMessage(Event.REMINDER, channel, remind_at) for channel in channels]
    ids = _insert_messages(appointment, version, now, [*announcements, *reminders])
    # One task: it sends the announcements and gives the reminders their own task, due on
    # the evening before (enqueuing that one here would cost the booking a statement).
    enqueue_delivery(ids[: len(announcements)], ids[len(announcements) :])


def reminder_time(slot: Slot) -> dt.datetime:
    """REMINDER_LOCAL_TIME on the centre's clock, the day before the appointment's day."""
    day_before = slot.local_date - dt.timedelta(days=1)
    return dt.datetime.combine(day_before, REMINDER_LOCAL_TIME, tzinfo=slot.centre.zone)


def retry_message(message: Message) -> bool:
    """Give a failed message a new round of attempts, from now. False when it is not failed
    (any more): someone else retried it, or it was never failed."""
    now = timezone.now()
    with transaction.atomic():
        retried = Message.objects.filter(pk=message.pk, status=MessageStatus.FAILED).update(
            status=MessageStatus.PENDING, attempts=0, next_attempt_at=now
        )
        if retried:
            deliver_messages.enqueue([message.pk])
    return bool(retried)


def sweep_messages(*, now: dt.datetime | None = None) -> tuple[int, int]:
    """Enqueue delivery for messages that no task covers any more; (stuck, orphaned).

    Stuck: `sending` past the lease, whose worker died (its watchdog task normally reclaims
    it; this covers a lost watchdog). Orphaned: `pending` and overdue by ORPHAN_AFTER, whose
    task died before claiming it (e.g. a worker killed at that instant, a database outage).
    A message that does still have its task gets a second one: harmless, the claim lets one
    of them send it (tasks.py). The orphans' due time moves to now, so that a long queue
    (a busy worker, not a lost task) gets at most one extra task per ORPHAN_AFTER."""
    now = now or timezone.now()
    stuck = list(
        Message.objects.filter(
            status=MessageStatus.SENDING, claimed_at__lte=now - LEASE
        ).values_list("pk", flat=True)[:SWEEP_BATCH]
    )
    with transaction.atomic():
        orphans = list(
            Message.objects.filter(
                status=MessageStatus.PENDING, next_attempt_at__lte=now - ORPHAN_AFTER
            ).values_list("pk", flat=True)[:SWEEP_BATCH]
        )
        Message.objects.filter(pk__in=orphans, status=MessageStatus.PENDING).update(
            next_attempt_at=now
        )
        for message_id in [*stuck, *orphans]:
            deliver_messages.enqueue([message_id])
    if stuck or orphans:
        logger.warning(
            "Sweep: %d stuck and %d orphaned message(s) enqueued again.", len(stuck), len(orphans)
        )
    return len(stuck), len(orphans)


@dataclass(frozen=True)
class _NewMessage:
    event: Event
    channel: Channel
    due: dt.datetime
    reason: str = ""


# The outbox rows of one announcement in one statement, written in SQL for the same reason
# as the booking's own statements (vaxbook/bookings/sql.py): through the ORM, bulk_create
# costs a booking about 0.5 ms of Python, several times what the database takes to run it.
# The database checks what Python does not (constraints on status, event and channel).
_INSERT_MESSAGES = """
    INSERT INTO notifications_message
           (appointment_id, slot_id, event, channel, version, idempotency_key, reason,
            status, attempts, last_error, created_at, next_attempt_at)
    VALUES {rows}
    RETURNING id, idempotency_key
"""
_MESSAGE_ROW = "(%s, %s, %s, %s, %s, %s, %s, 'pending', 0, '', %s, %s)"


def _insert_messages(
    appointment: Appointment, version: int, now: dt.datetime, messages: list[_NewMessage]
) -> list[int]:
    """INSERT the messages; their ids, in the order given."""
    appointment_id = Appointment._meta.pk.get_db_prep_value(appointment.pk, connection)
    created_at = connection.ops.adapt_datetimefield_value(now)
    keys = [
        Message.key_for(
            appointment_id=appointment.pk, event=m.event, channel=m.channel, version=version
        )
        for m in messages
    ]
    parameters: list[Any] = []
    for message, key in zip(messages, keys, strict=True):
        parameters += [
            appointment_id,
            appointment.slot_id,
            message.event.value,
            message.channel.value,
            version,
            key,
            message.reason,
            created_at,
            connection.ops.adapt_datetimefield_value(message.due),
        ]
    with connection.cursor() as cursor:
        cursor.execute(
            _INSERT_MESSAGES.format(rows=", ".join([_MESSAGE_ROW] * len(messages))), parameters
        )
        # RETURNING promises no order: the keys say which id is which.
        id_by_key = {key: message_id for message_id, key in cursor.fetchall()}
    return [id_by_key[key] for key in keys]


def _occurrence(appointment: Appointment, event: Event) -> int:
    """The message version: which reschedule this is (1, 2, ...), 0 for the other events,
    which happen once in an appointment's life. Read under the person lock the booking
    services hold, so two reschedules cannot both read the same number (and if they did,
    the unique idempotency key would refuse the second, not send it twice)."""
    if event != Event.RESCHEDULED:
        return 0
    latest = Message.objects.filter(
        appointment_id=appointment.pk, event=Event.RESCHEDULED
    ).aggregate(latest=Max("version"))["latest"]
    return (latest or 0) + 1


def _phone(appointment: Appointment) -> str:
    # Loads the person (one query) unless the caller has: the booking services pass it.
    return appointment.person.phone.strip()
