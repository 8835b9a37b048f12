"""Test data shared by the browser tests: one centre in Madrid with a day of slots
tomorrow and the day dose 2 falls due, and helpers that book through the real services."""

import datetime as dt
from dataclasses import dataclass

from tests.factories import CentreFactory, CitizenFactory, SlotFactory, VaccineFactory, tomorrow_at
from vaxbook.accounts.models import Citizen
from vaxbook.bookings.models import Appointment
from vaxbook.bookings.services import book_appointment
from vaxbook.centres.models import Centre, Slot, Vaccine

PASSWORD = "a-long-test-password"  # tests.factories.UserFactory's


@dataclass(frozen=True)
class Clinic:
    centre: Centre
    vaccine: Vaccine
    ten: Slot  # tomorrow 10:00, 5 places
    noon: Slot  # tomorrow 12:00, 5 places
    dose_two: Slot  # 10:00 on the day dose 2 falls due (21 days after `ten`)


def clinic(name: str = "Centro de Salud Lavapiés") -> Clinic:
    vaccine = VaccineFactory()
    centre = CentreFactory(name=name, town="Madrid", postcode="28012")
    return Clinic(
        centre=centre,
        vaccine=vaccine,
        ten=SlotFactory(centre=centre, vaccine=vaccine, starts_at=tomorrow_at(10)),
        noon=SlotFactory(centre=centre, vaccine=vaccine, starts_at=tomorrow_at(12)),
        dose_two=SlotFactory(
            centre=centre,
            vaccine=vaccine,
            starts_at=tomorrow_at(10) + dt.timedelta(days=vaccine.minimum_days_between_doses),
        ),
    )


def booked(slot: Slot, person: Citizen | None = None, dose_number: int = 1) -> Appointment:
    """An appointment booked through the booking service, so counters and rows agree."""
    return book_appointment(
        person=person or CitizenFactory(), slot_id=slot.pk, dose_number=dose_number
    )


def fill_up(slot: Slot) -> None:
    """Other people take every place left in `slot`."""
    slot.refresh_from_db()
    for _ in range(slot.capacity - slot.booked):
        booked(slot)
