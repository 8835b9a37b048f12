"""Two accounts that book for the same person, at the same instant: the rules per person
hold across accounts (real threads against the configured database)."""

import datetime as dt
from typing import Any

import pytest

from tests.bookings.test_races import SUCCESS, race
from tests.factories import CitizenFactory, SlotFactory
from vaxbook.accounts import people
from vaxbook.accounts.models import Citizen
from vaxbook.bookings import services
from vaxbook.bookings.models import Appointment, BookingChannel

pytestmark = [pytest.mark.race, pytest.mark.django_db(transaction=True)]


def test_two_bookers_booking_the_same_relative_at_once_end_with_one_appointment() -> None:
    first, second = CitizenFactory(), CitizenFactory()
    details: dict[str, Any] = {
        "full_name": "Carmen López",
        "date_of_birth": dt.date(1948, 3, 2),
        "phone": "+34600111222",
    }
    mum = people.add_person(booker=first.user, **details)
    assert people.add_person(booker=second.user, **details).pk == mum.pk
    slots = [SlotFactory(), SlotFactory()]

    def book(booker: Citizen, slot_id: int) -> str:
        services.book_appointment(
            person=mum,
            slot_id=slot_id,
            dose_number=1,
            on_behalf=services.OnBehalf(user=booker.user, channel=BookingChannel.RELATIVE),
        )
        return SUCCESS

    outcomes = race([lambda: book(first, slots[0].pk), lambda: book(second, slots[1].pk)])

    assert sorted(map(str, outcomes)) == ["already_booked", SUCCESS]
    assert Appointment.objects.filter(person=mum).count() == 1
    for slot in slots:
        slot.refresh_from_db()
    assert sorted(slot.booked for slot in slots) == [0, 1]


def test_two_accounts_adding_the_same_new_person_at_once_make_one_record() -> None:
    first, second = CitizenFactory(), CitizenFactory()
    details: dict[str, Any] = {
        "full_name": "Carmen López",
        "date_of_birth": dt.date(1948, 3, 2),
        "phone": "+34600111222",
    }

    outcomes = race(
        [
            lambda: people.add_person(booker=first.user, **details).pk,
            lambda: people.add_person(booker=second.user, **details).pk,
        ]
    )

    assert len(set(outcomes)) == 1, outcomes
    assert Citizen.objects.filter(user__isnull=True).count() == 1
