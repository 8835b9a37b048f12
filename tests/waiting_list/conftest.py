"""A centre whose slots tomorrow are full, and people waiting for them."""

import datetime as dt
from collections.abc import Iterator
from typing import Any

import pytest
import time_machine
from django.conf import LazySettings
from django.utils import timezone

from tests.factories import CentreFactory, CitizenFactory, SlotFactory, VaccineFactory
from vaxbook.accounts.models import Citizen
from vaxbook.bookings import services as bookings
from vaxbook.bookings.models import Appointment
from vaxbook.centres.models import Centre, Slot, Vaccine
from vaxbook.waiting_list import services
from vaxbook.waiting_list.models import ALL_TIMES_OF_DAY, ALL_WEEKDAYS, WaitingEntry

# A Monday, 08:00 in Madrid: the slots below are on Tuesday 10:00 (morning), far from short
# notice.
NOW = dt.datetime(2027, 3, 1, 8, 0, tzinfo=dt.UTC)
TUESDAY = dt.date(2027, 3, 2)


@pytest.fixture(autouse=True)
def clock() -> Iterator[time_machine.Traveller]:
    with time_machine.travel(NOW, tick=False) as traveller:
        yield traveller


@pytest.fixture(autouse=True)
def waiting_list_settings(settings: LazySettings) -> None:
    settings.WAITING_LIST_OFFER_MINUTES = 30
    settings.WAITING_LIST_SHORT_NOTICE_OFFER_MINUTES = 10
    settings.WAITING_LIST_SHORT_NOTICE_HOURS = 3
    settings.SITE_URL = "https://vaccination.example.org"


@pytest.fixture
def vaccine() -> Vaccine:
    return VaccineFactory()


@pytest.fixture
def centre(vaccine: Vaccine) -> Centre:
    centre: Centre = CentreFactory()
    centre.vaccines.add(vaccine)
    return centre


def at(day: dt.date, hour: int, minute: int = 0) -> dt.datetime:
    import zoneinfo

    return dt.datetime.combine(
        day, dt.time(hour, minute), tzinfo=zoneinfo.ZoneInfo("Europe/Madrid")
    )


@pytest.fixture
def slot(centre: Centre, vaccine: Vaccine) -> Slot:
    """Tuesday 10:00, one place, booked."""
    slot: Slot = SlotFactory(centre=centre, vaccine=vaccine, starts_at=at(TUESDAY, 10), capacity=1)
    return slot


def book(slot: Slot, person: Citizen | None = None, dose_number: int = 1) -> Appointment:
    return bookings.book_appointment(
        person=person or CitizenFactory(), slot_id=slot.pk, dose_number=dose_number
    )


def cancel(appointment: Appointment) -> Appointment:
    return bookings.cancel_appointment(person=appointment.person, appointment_id=appointment.pk)


def wish(centres: list[Centre], **changes: Any) -> services.Wish:
    today = timezone.localdate()
    values: dict[str, Any] = {
        "centre_ids": frozenset(centre.pk for centre in centres),
        "first_day": today,
        "last_day": today + dt.timedelta(days=14),
        "weekdays": ALL_WEEKDAYS,
        "times_of_day": ALL_TIMES_OF_DAY,
        "short_notice": False,
    }
    values.update(changes)
    return services.Wish(**values)


def join(
    centres: list[Centre],
    vaccine: Vaccine,
    person: Citizen | None = None,
    dose_number: int = 1,
    **changes: Any,
) -> WaitingEntry:
    return services.join_waiting_list(
        person=person or CitizenFactory(),
        vaccine_id=vaccine.pk,
        dose_number=dose_number,
        wish=wish(centres, **changes),
    )


def places(slot: Slot) -> tuple[int, int]:
    """(booked, capacity) as stored now."""
    slot.refresh_from_db()
    return slot.booked, slot.capacity
