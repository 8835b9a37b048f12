"""Times, bookings and the Spanish switch that tests in several folders share."""

import datetime as dt
import zoneinfo
from typing import Any

import time_machine
from django.test import Client

from tests.factories import CitizenFactory
from vaxbook.accounts.models import Citizen
from vaxbook.bookings import services
from vaxbook.bookings.models import Appointment
from vaxbook.centres.models import Slot

MADRID = zoneinfo.ZoneInfo("Europe/Madrid")
CANARY = zoneinfo.ZoneInfo("Atlantic/Canary")
DAY = dt.date(2027, 7, 15)  # a summer Thursday: Madrid is UTC+2, the Canaries UTC+1, the server UTC


def at(
    hour: int, minute: int = 0, *, day: dt.date = DAY, zone: zoneinfo.ZoneInfo = MADRID
) -> dt.datetime:
    """hour:minute on `day` in `zone` (DAY in Madrid unless told), as an aware datetime."""
    return dt.datetime.combine(day, dt.time(hour, minute), tzinfo=zone)


def book(
    slot: Slot, *, days_before: int = 2, person: Citizen | None = None, **citizen: Any
) -> Appointment:
    """`slot` booked through the booking service, with the clock stopped `days_before` days
    before it starts, by `person` or by a new citizen with the `citizen` fields given."""
    person = person or CitizenFactory(**citizen)
    with time_machine.travel(slot.starts_at - dt.timedelta(days=days_before), tick=False):
        return services.book_appointment(person=person, slot_id=slot.pk, dose_number=1)


def in_spanish(client: Client) -> Client:
    """`client`, having switched the site to Spanish as the language menu does."""
    assert client.post("/i18n/setlang/", {"language": "es", "next": "/"}).status_code == 302
    return client
