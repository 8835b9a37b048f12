"""Closing a day while people book, cancel and move into it: real threads against the
configured database (see tests/bookings/test_races.py for the pattern)."""

import datetime as dt
from collections.abc import Callable
from functools import partial

import pytest

from tests.bookings.test_races import (
    SUCCESS,
    assert_slot_counters_match_appointments,
    race,
    tally,
)
from tests.factories import CitizenFactory, SlotFactory, tomorrow_at
from tests.management.helpers import make_site
from vaxbook.accounts.models import Citizen
from vaxbook.bookings import services as bookings
from vaxbook.bookings.models import Appointment, AppointmentStatus
from vaxbook.centres import services
from vaxbook.centres.models import Slot
from vaxbook.notifications.events import Channel, Event
from vaxbook.notifications.models import Message

pytestmark = [pytest.mark.race, pytest.mark.django_db(transaction=True)]

REASON = "The vaccine delivery is late."


def test_a_day_closed_while_people_book_cancel_and_move_ends_with_nobody_booked_in_it() -> None:
    site = make_site()
    closing = [
        SlotFactory.create(
            centre=site.centre, vaccine=site.vaccine, starts_at=tomorrow_at(10, minute), capacity=20
        )
        for minute in (0, 10)
    ]
    elsewhere = SlotFactory.create(
        centre=site.centre,
        vaccine=site.vaccine,
        starts_at=tomorrow_at(10) + dt.timedelta(days=1),
        capacity=20,
    )
    holders: list[Citizen] = CitizenFactory.create_batch(6)
    held = [
        bookings.book_appointment(person=person, slot_id=closing[i % 2].pk, dose_number=1)
        for i, person in enumerate(holders)
    ]
    movers_in: list[Citizen] = CitizenFactory.create_batch(3)
    moving_in = [
        bookings.book_appointment(person=person, slot_id=elsewhere.pk, dose_number=1)
        for person in movers_in
    ]
    newcomers: list[Citizen] = CitizenFactory.create_batch(8)
    day = closing[0].local_date

    actions: list[Callable[[], object]] = [
        partial(
            services.close_day, staff=site.manager, centre_id=site.centre.pk, day=day, reason=REASON
        ),
        *[
            partial(
                bookings.book_appointment, person=person, slot_id=closing[i % 2].pk, dose_number=1
            )
            for i, person in enumerate(newcomers)
        ],
        *[
            partial(bookings.cancel_appointment, person=holders[i], appointment_id=held[i].pk)
            for i in range(3)
        ],
        *[
            partial(
                bookings.reschedule_appointment,
                person=movers_in[i],
                appointment_id=moving_in[i].pk,
                new_slot_id=closing[0].pk,
            )
            for i in range(3)
        ],
    ]
    outcomes = race(actions)

    assert not [o for o in outcomes if isinstance(o, Exception)], tally(outcomes)
    assert label_of_closure(outcomes[0]) == SUCCESS
    bookers, cancellers, movers = outcomes[1:9], outcomes[9:12], outcomes[12:]
    assert set(tally(bookers)) <= {SUCCESS, "slot_unavailable"}
    # A person's own cancellation loses to the centre's when the centre's came first.
    assert set(tally(cancellers)) <= {SUCCESS, "not_cancellable"}
    assert set(tally(movers)) <= {SUCCESS, "slot_unavailable"}
    for slot in closing:
        slot.refresh_from_db()
        assert not slot.is_open
        assert slot.booked == 0
    assert not Appointment.objects.filter(
        slot__in=closing, status=AppointmentStatus.BOOKED
    ).exists()
    assert_slot_counters_match_appointments()
    # Everyone the centre cancelled is told, once, with the reason.
    by_centre = Appointment.objects.filter(slot__in=closing, cancellation_reason=REASON)
    assert by_centre.exists()
    told = Message.objects.filter(event=Event.CANCELLED, channel=Channel.EMAIL, reason=REASON)
    assert sorted(told.values_list("appointment_id", flat=True)) == sorted(
        by_centre.values_list("pk", flat=True)
    )
    # A move into the closed day either failed (the person keeps the old time) or
    # landed before the closure and was cancelled by it.
    for appointment in moving_in:
        appointment.refresh_from_db()
        assert (appointment.slot_id, appointment.status) in {
            (elsewhere.pk, AppointmentStatus.BOOKED),
            (closing[0].pk, AppointmentStatus.CANCELLED),
        }
    assert (
        Slot.objects.get(pk=elsewhere.pk).booked
        == Appointment.objects.filter(slot=elsewhere, status=AppointmentStatus.BOOKED).count()
    )


def label_of_closure(outcome: object) -> str:
    return SUCCESS if isinstance(outcome, services.Closure) else str(outcome)
