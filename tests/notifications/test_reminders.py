"""Reminders: scheduled at booking for the evening before, on the centre's clock, and not
sent for an appointment that was cancelled or moved meanwhile."""

import datetime as dt
from collections.abc import Iterator
from pathlib import Path

import pytest
import time_machine
from django.conf import LazySettings
from django.core import mail
from django_tasks_db.models import DBTaskResult

from tests.factories import CentreFactory, SlotFactory, tomorrow_at
from tests.notifications.test_delivery import (
    REMINDER_DUE,
    START,
    book,
    message_of,
    run_worker,
    use_test_settings,
)
from vaxbook.bookings import services
from vaxbook.notifications.events import Channel, Event
from vaxbook.notifications.models import Message, MessageStatus
from vaxbook.notifications.services import reminder_time

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture(autouse=True)
def notification_settings(settings: LazySettings, tmp_path: Path) -> None:
    use_test_settings(settings, tmp_path)


@pytest.fixture
def clock() -> Iterator[time_machine.Traveller]:
    with time_machine.travel(START, tick=False) as traveller:
        yield traveller


def subjects() -> list[str]:
    return [str(sent.subject) for sent in mail.outbox]


def test_the_reminder_goes_out_at_six_the_evening_before(clock) -> None:
    appointment = book()
    run_worker()  # the confirmation
    clock.move_to(REMINDER_DUE - dt.timedelta(seconds=1))
    run_worker()
    assert len(mail.outbox) == 1

    clock.move_to(REMINDER_DUE)
    run_worker()

    reminder = message_of(appointment, Event.REMINDER)
    assert reminder.status == MessageStatus.SENT
    assert len(mail.outbox) == 2
    assert mail.outbox[1].message()["Message-ID"] == reminder.email_message_id
    assert "tomorrow" in subjects()[1]


def test_the_reminder_is_on_the_centres_clock(clock) -> None:
    # New York moved to summer time on 8 March 2026, Madrid only does on the 29th.
    centre = CentreFactory(time_zone="America/New_York")
    slot = SlotFactory(centre=centre, starts_at=tomorrow_at(10, zone="America/New_York"))

    appointment = book(slot=slot)

    reminder = message_of(appointment, Event.REMINDER)
    assert reminder.next_attempt_at == dt.datetime(2026, 3, 9, 22, 0, tzinfo=dt.UTC)
    assert reminder_time(slot) == reminder.next_attempt_at


def test_an_appointment_booked_after_the_evening_before_gets_no_reminder(clock) -> None:
    clock.move_to(REMINDER_DUE + dt.timedelta(minutes=1))

    appointment = book()

    assert list(Message.objects.values_list("event", flat=True)) == [Event.BOOKED]
    assert DBTaskResult.objects.count() == 1
    assert appointment.slot.starts_at - dt.datetime.now(tz=dt.UTC) < dt.timedelta(hours=16)


def test_the_reminder_of_a_cancelled_appointment_is_not_sent(clock) -> None:
    appointment = book(phone="+34600000001")
    services.cancel_appointment(person=appointment.person, appointment_id=appointment.pk)
    run_worker()

    clock.move_to(REMINDER_DUE)
    run_worker()

    for channel in Channel:
        reminder = message_of(appointment, Event.REMINDER, channel)
        assert reminder.status == MessageStatus.SKIPPED
        assert reminder.last_error == "The appointment is cancelled."
    assert len(mail.outbox) == 2  # booked and cancelled, no reminder
    assert "cancelled" in subjects()[1]


def test_a_moved_appointment_is_reminded_of_its_new_time_only(clock) -> None:
    first = SlotFactory()
    second = SlotFactory(starts_at=tomorrow_at(10) + dt.timedelta(days=2))
    appointment = book(slot=first)
    services.reschedule_appointment(
        person=appointment.person, appointment_id=appointment.pk, new_slot_id=second.pk
    )
    run_worker()
    assert len(mail.outbox) == 2  # booked, rescheduled

    clock.move_to(REMINDER_DUE)  # the evening before the old time
    run_worker()
    old, new = Message.objects.filter(event=Event.REMINDER).order_by("version")
    assert old.status == MessageStatus.SKIPPED
    assert old.last_error == "The appointment has moved since this reminder was scheduled."
    assert len(mail.outbox) == 2

    clock.move_to(reminder_time(second))
    run_worker()
    new.refresh_from_db()
    assert new.status == MessageStatus.SENT
    assert len(mail.outbox) == 3


def test_moving_away_and_back_gives_one_reminder(clock) -> None:
    first = SlotFactory()
    second = SlotFactory(starts_at=tomorrow_at(10) + dt.timedelta(days=2))
    appointment = book(slot=first)
    for slot in (second, first):
        services.reschedule_appointment(
            person=appointment.person, appointment_id=appointment.pk, new_slot_id=slot.pk
        )
    run_worker()

    clock.move_to(REMINDER_DUE)  # the evening before the first slot, where it is again
    run_worker()
    clock.move_to(reminder_time(second))
    run_worker()

    reminders = dict(Message.objects.filter(event=Event.REMINDER).values_list("version", "status"))
    assert reminders == {
        0: MessageStatus.SKIPPED,  # for the first slot, replaced by the one of the move back
        1: MessageStatus.SKIPPED,  # for the second slot, left
        2: MessageStatus.SENT,
    }
    assert sum("Reminder" in subject for subject in subjects()) == 1


def test_a_reminder_too_late_for_its_appointment_is_not_sent(clock) -> None:
    appointment = book()
    run_worker()

    clock.move_to(appointment.slot.starts_at + dt.timedelta(minutes=5))  # the worker was down
    run_worker()

    reminder = message_of(appointment, Event.REMINDER)
    assert reminder.status == MessageStatus.SKIPPED
    assert reminder.last_error == "The appointment has already started."
    assert len(mail.outbox) == 1
