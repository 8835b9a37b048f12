"""Changing places and closing slots or days while people hold bookings in them."""

import datetime as dt
from pathlib import Path

import pytest
import time_machine
from django.conf import LazySettings
from django.core import mail
from django.core.mail import EmailMultiAlternatives
from django.db import IntegrityError, transaction

from tests.factories import CitizenFactory
from tests.helpers import at
from tests.management.helpers import book, make_site, slot_at
from vaxbook.audit.models import AuditAction, AuditEvent
from vaxbook.bookings import services as bookings
from vaxbook.bookings.errors import NotPermitted as BookingNotPermitted
from vaxbook.bookings.errors import SlotUnavailable
from vaxbook.bookings.models import Appointment, AppointmentStatus
from vaxbook.centres import services
from vaxbook.centres.errors import (
    CapacityBelowBooked,
    CentreNotFound,
    InvalidChange,
    NotPermitted,
)
from vaxbook.centres.models import Slot
from vaxbook.notifications.events import Channel, Event
from vaxbook.notifications.models import Message
from vaxbook.notifications.tasks import deliver_messages

pytestmark = pytest.mark.django_db

TODAY = dt.date(2027, 5, 10)
DAY = dt.date(2027, 5, 12)  # the day being managed, two days on
REASON = "The vaccine delivery is late."


@pytest.fixture(autouse=True)
def fixed_clock():
    with time_machine.travel(at(8, day=TODAY), tick=False) as traveller:
        yield traveller


@pytest.fixture(autouse=True)
def message_settings(settings: LazySettings, tmp_path: Path) -> None:
    settings.SMS_BACKEND = "vaxbook.notifications.sms.FileBackend"
    settings.SMS_FILE_PATH = tmp_path / "sms"
    settings.SITE_URL = "https://vaccination.example.org"


@pytest.fixture
def site():
    return make_site()


@pytest.fixture
def day_slots(site):
    """Three slots on DAY at 10:00, 10:10 and 10:20 with 5 places each."""
    return [slot_at(site.centre, site.vaccine, at(10, minute, day=DAY)) for minute in (0, 10, 20)]


def places(slot: Slot) -> tuple[int, int, bool]:
    slot.refresh_from_db()
    return slot.capacity, slot.booked, slot.is_open


# --- one slot's places -------------------------------------------------------------------------


def test_places_go_up_and_down_to_what_is_booked(site, day_slots) -> None:
    slot = day_slots[0]
    book(slot)
    book(slot)

    services.change_slot_capacity(
        staff=site.manager, centre_id=site.centre.pk, slot_id=slot.pk, capacity=8
    )
    assert places(slot) == (8, 2, True)
    services.change_slot_capacity(
        staff=site.manager, centre_id=site.centre.pk, slot_id=slot.pk, capacity=2
    )
    assert places(slot) == (2, 2, True)
    events = AuditEvent.objects.filter(action=AuditAction.CAPACITY_CHANGE).order_by("id")
    assert [(e.detail["from"], e.detail["to"]) for e in events] == [(5, 8), (8, 2)]


def test_places_below_the_booked_count_are_refused_saying_how_many_are_booked(
    site, day_slots
) -> None:
    slot = day_slots[0]
    for _ in range(3):
        book(slot)

    with pytest.raises(CapacityBelowBooked) as refused:
        services.change_slot_capacity(
            staff=site.manager, centre_id=site.centre.pk, slot_id=slot.pk, capacity=2
        )

    assert refused.value.booked == 3
    assert refused.value.message.startswith(
        "3 places are already booked in this slot: it cannot have fewer than 3."
    )
    assert places(slot) == (5, 3, True)
    assert not AuditEvent.objects.exists()


def test_the_database_refuses_fewer_places_than_booked_whatever_code_runs(site, day_slots) -> None:
    slot = day_slots[0]
    book(slot)
    book(slot)

    with pytest.raises(IntegrityError), transaction.atomic():
        Slot.objects.filter(pk=slot.pk).update(capacity=1)


def test_a_started_slot_keeps_its_places(site, day_slots, fixed_clock) -> None:
    fixed_clock.move_to(at(10, 5, day=DAY))

    with pytest.raises(InvalidChange):
        services.change_slot_capacity(
            staff=site.manager, centre_id=site.centre.pk, slot_id=day_slots[0].pk, capacity=9
        )

    assert places(day_slots[0]) == (5, 0, True)


@pytest.mark.parametrize("capacity", [-1, 501])
def test_places_out_of_range_are_refused(site, day_slots, capacity) -> None:
    with pytest.raises(InvalidChange):
        services.change_slot_capacity(
            staff=site.manager,
            centre_id=site.centre.pk,
            slot_id=day_slots[0].pk,
            capacity=capacity,
        )


def test_a_slot_of_another_centre_is_not_found_through_this_one(site) -> None:
    other_centre = site.other_manager.memberships.get().centre
    theirs = slot_at(other_centre, site.vaccine, at(10, day=DAY))

    with pytest.raises(CentreNotFound):
        services.change_slot_capacity(
            staff=site.manager, centre_id=site.centre.pk, slot_id=theirs.pk, capacity=1
        )

    assert places(theirs) == (5, 0, True)


# --- a day's places ------------------------------------------------------------------------------


def test_a_days_places_change_together(site, day_slots) -> None:
    book(day_slots[1])

    changed = services.change_day_capacity(
        staff=site.manager, centre_id=site.centre.pk, day=DAY, capacity=2
    )

    assert changed == 3
    assert [places(slot) for slot in day_slots] == [(2, 0, True), (2, 1, True), (2, 0, True)]


def test_a_day_below_its_fullest_slot_changes_nothing_and_says_how_many_are_booked(
    site, day_slots
) -> None:
    for _ in range(4):
        book(day_slots[2])
    book(day_slots[0])

    with pytest.raises(CapacityBelowBooked) as refused:
        services.change_day_capacity(
            staff=site.manager, centre_id=site.centre.pk, day=DAY, capacity=3
        )

    assert refused.value.booked == 4
    assert refused.value.message == (
        "A slot on that day already has 4 places booked: the day's slots cannot have fewer "
        "than 4 places."
    )
    assert [places(slot) for slot in day_slots] == [(5, 1, True), (5, 0, True), (5, 4, True)]
    assert not AuditEvent.objects.exists()


def test_a_day_without_slots_has_nothing_to_change(site) -> None:
    with pytest.raises(InvalidChange):
        services.change_day_capacity(
            staff=site.manager, centre_id=site.centre.pk, day=DAY, capacity=3
        )


# --- closing ---------------------------------------------------------------------------------


def test_closing_a_day_cancels_its_bookings_gives_places_back_and_tells_each_person(
    site, day_slots
) -> None:
    texted = book(day_slots[0], phone="+34600000001")
    emailed = [book(day_slots[0]), book(day_slots[2])]
    other_day = book(slot_at(site.centre, site.vaccine, at(10, day=DAY + dt.timedelta(days=1))))
    Message.objects.all().delete()  # the confirmations of the bookings above

    closure = services.close_day(
        staff=site.manager,
        centre_id=site.centre.pk,
        day=DAY,
        reason=f"  {REASON} ",
        client_address="192.0.2.44",
    )

    assert closure.slots == 3
    assert {a.pk for a in closure.cancelled} == {texted.pk, *(a.pk for a in emailed)}
    assert [places(slot) for slot in day_slots] == [(5, 0, False)] * 3
    for appointment in [texted, *emailed]:
        appointment.refresh_from_db()
        assert appointment.status == AppointmentStatus.CANCELLED
        assert appointment.cancellation_reason == REASON
    other_day.refresh_from_db()
    assert other_day.status == AppointmentStatus.BOOKED
    # One email per person, and a text message for the person with a phone number.
    sent = sorted(
        (str(m.appointment_id), m.channel, m.event, m.reason) for m in Message.objects.all()
    )
    assert sent == sorted(
        [(str(a.pk), Channel.EMAIL, Event.CANCELLED, REASON) for a in [texted, *emailed]]
        + [(str(texted.pk), Channel.SMS, Event.CANCELLED, REASON)]
    )
    event = AuditEvent.objects.get(action=AuditAction.DAY_CLOSED)
    assert (event.actor, event.centre_id, event.client_address) == (
        site.manager,
        site.centre.pk,
        "192.0.2.44",
    )
    assert event.detail["reason"] == REASON
    assert sorted(event.detail["cancelled"]) == sorted(a.reference for a in [texted, *emailed])


def test_the_cancellation_email_gives_the_reason_and_a_link_to_book_again(site, day_slots) -> None:
    appointment = book(day_slots[0])
    Message.objects.all().delete()
    services.close_day(staff=site.manager, centre_id=site.centre.pk, day=DAY, reason=REASON)
    message = Message.objects.get(appointment=appointment, channel=Channel.EMAIL)

    deliver_messages.call([message.pk])

    (email,) = mail.outbox
    assert isinstance(email, EmailMultiAlternatives)
    assert email.to == [appointment.person.user.email]
    assert REASON in email.body
    assert "the vaccination centre has had to cancel your appointment" in email.body
    search = f"https://vaccination.example.org/centres/?q=Madrid&vaccine={site.vaccine.pk}"
    assert search in email.body
    html = str(email.alternatives[0][0])
    assert search.replace("&", "&amp;") in html


def test_a_closed_day_cannot_be_booked_any_more(site, day_slots) -> None:
    services.close_day(staff=site.manager, centre_id=site.centre.pk, day=DAY, reason=REASON)

    with pytest.raises(SlotUnavailable):
        bookings.book_appointment(person=CitizenFactory(), slot_id=day_slots[0].pk, dose_number=1)


def test_closing_keeps_checked_in_people_and_slots_that_have_started(
    site, day_slots, fixed_clock
) -> None:
    early = book(day_slots[0])
    waiting = book(day_slots[2])
    fixed_clock.move_to(at(10, 5, day=DAY))  # the 10:00 slot has started
    bookings.check_in(appointment_id=early.pk, staff=site.receptionist)

    closure = services.close_day(
        staff=site.manager, centre_id=site.centre.pk, day=DAY, reason=REASON
    )

    assert closure.slots == 2
    assert [a.pk for a in closure.cancelled] == [waiting.pk]
    assert places(day_slots[0]) == (5, 1, True)
    assert places(day_slots[2]) == (5, 0, False)
    early.refresh_from_db()
    assert early.status == AppointmentStatus.CHECKED_IN


def test_closing_one_slot_cancels_only_its_bookings(site, day_slots) -> None:
    closing, staying = book(day_slots[1]), book(day_slots[2])

    closure = services.close_slot(
        staff=site.manager, centre_id=site.centre.pk, slot_id=day_slots[1].pk, reason=REASON
    )

    assert [a.pk for a in closure.cancelled] == [closing.pk]
    assert places(day_slots[1]) == (5, 0, False)
    assert places(day_slots[2]) == (5, 1, True)
    staying.refresh_from_db()
    assert staying.status == AppointmentStatus.BOOKED
    assert AuditEvent.objects.get().action == AuditAction.SLOT_CLOSED


def test_closing_one_vaccines_slots_leaves_the_others(site, day_slots) -> None:
    from tests.factories import VaccineFactory

    other = VaccineFactory(name="Spikevax", cvx_code="207")
    site.centre.vaccines.add(other)
    theirs = slot_at(site.centre, other, at(11, day=DAY))

    services.close_day(
        staff=site.manager,
        centre_id=site.centre.pk,
        day=DAY,
        reason=REASON,
        vaccine_id=other.pk,
    )

    assert places(theirs) == (5, 0, False)
    assert all(places(slot)[2] for slot in day_slots)


@pytest.mark.parametrize(
    ("reason", "message"),
    [("   ", "Give the reason for closing"), ("x" * 301, "Keep the reason to 300 characters")],
)
def test_closing_needs_a_reason_people_can_read(site, day_slots, reason, message) -> None:
    appointment = book(day_slots[0])

    with pytest.raises(InvalidChange, match=message):
        services.close_day(staff=site.manager, centre_id=site.centre.pk, day=DAY, reason=reason)

    appointment.refresh_from_db()
    assert appointment.status == AppointmentStatus.BOOKED
    assert places(day_slots[0]) == (5, 1, True)


def test_closing_a_closed_slot_or_an_empty_day_says_so(site, day_slots) -> None:
    services.close_slot(
        staff=site.manager, centre_id=site.centre.pk, slot_id=day_slots[0].pk, reason=REASON
    )

    with pytest.raises(InvalidChange, match="already closed"):
        services.close_slot(
            staff=site.manager, centre_id=site.centre.pk, slot_id=day_slots[0].pk, reason=REASON
        )
    with pytest.raises(InvalidChange, match="no open slots left"):
        services.close_day(
            staff=site.manager,
            centre_id=site.centre.pk,
            day=DAY + dt.timedelta(days=3),
            reason=REASON,
        )


# --- who may ---------------------------------------------------------------------------------


ACTIONS = {
    "slot places": lambda site, slots, user: services.change_slot_capacity(
        staff=user, centre_id=site.centre.pk, slot_id=slots[0].pk, capacity=9
    ),
    "day places": lambda site, slots, user: services.change_day_capacity(
        staff=user, centre_id=site.centre.pk, day=DAY, capacity=9
    ),
    "close slot": lambda site, slots, user: services.close_slot(
        staff=user, centre_id=site.centre.pk, slot_id=slots[0].pk, reason=REASON
    ),
    "close day": lambda site, slots, user: services.close_day(
        staff=user, centre_id=site.centre.pk, day=DAY, reason=REASON
    ),
}


@pytest.mark.parametrize("action", ACTIONS)
@pytest.mark.parametrize("who", ["vaccinator", "receptionist", "other_manager", "citizen"])
def test_only_managers_and_administrators_change_places_or_close(
    site, day_slots, action, who
) -> None:
    appointment = book(day_slots[0])

    with pytest.raises(NotPermitted):
        ACTIONS[action](site, day_slots, getattr(site, who))

    assert [places(slot) for slot in day_slots] == [(5, 1, True), (5, 0, True), (5, 0, True)]
    appointment.refresh_from_db()
    assert appointment.status == AppointmentStatus.BOOKED
    assert not AuditEvent.objects.exists()


@pytest.mark.parametrize("action", ACTIONS)
@pytest.mark.parametrize("who", ["manager", "admin"])
def test_managers_and_administrators_do(site, day_slots, action, who) -> None:
    ACTIONS[action](site, day_slots, getattr(site, who))

    assert AuditEvent.objects.filter(actor=getattr(site, who)).count() == 1


def test_the_booking_engine_itself_refuses_a_closure_by_someone_who_does_not_manage(
    site, day_slots
) -> None:
    appointment = book(day_slots[0])

    with pytest.raises(BookingNotPermitted):
        bookings.cancel_for_centre_closure(
            staff=site.vaccinator, slot_ids=[day_slots[0].pk], reason=REASON
        )

    appointment.refresh_from_db()
    assert appointment.status == AppointmentStatus.BOOKED


def test_the_booking_engine_closes_slots_of_one_centre_at_a_time(site, day_slots) -> None:
    other_centre = site.other_manager.memberships.get().centre
    theirs = slot_at(other_centre, site.vaccine, at(10, day=DAY))

    with pytest.raises(BookingNotPermitted):
        bookings.cancel_for_centre_closure(
            staff=site.admin, slot_ids=[day_slots[0].pk, theirs.pk], reason=REASON
        )

    assert places(theirs) == (5, 0, True)
    assert not Appointment.objects.exists()
