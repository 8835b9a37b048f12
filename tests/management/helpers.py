"""Test data for the management tests: a centre with its vaccine, its people by role, and
bookings made through the booking engine (so counters and rows agree)."""

import datetime as dt
from dataclasses import dataclass

from tests import helpers
from tests.factories import CentreFactory, CitizenFactory, SlotFactory, UserFactory, VaccineFactory
from tests.factories import staff_at as staff_member_at
from vaxbook.accounts.models import Citizen, StaffRole, User
from vaxbook.bookings.models import Appointment
from vaxbook.centres.models import Centre, Slot, Vaccine


@dataclass
class Site:
    """A centre offering one vaccine, with one person of each kind."""

    centre: Centre
    vaccine: Vaccine
    admin: User
    manager: User
    vaccinator: User
    receptionist: User
    other_manager: User  # manages another centre
    citizen: User


def make_site() -> Site:
    vaccine = VaccineFactory()
    centre = CentreFactory(name="Centro de Vacunación Norte")
    centre.vaccines.add(vaccine)
    other = CentreFactory(name="Centro de Vacunación Sur")
    other.vaccines.add(vaccine)
    return Site(
        centre=centre,
        vaccine=vaccine,
        admin=UserFactory(email="authority@example.org", is_superuser=True, is_staff=True),
        manager=staff_member_at(centre, StaffRole.MANAGER),
        vaccinator=staff_member_at(centre, StaffRole.VACCINATOR),
        receptionist=staff_member_at(centre, StaffRole.RECEPTIONIST),
        other_manager=staff_member_at(other, StaffRole.MANAGER),
        citizen=CitizenFactory().user,
    )


def slot_at(centre: Centre, vaccine: Vaccine, starts_at: dt.datetime, capacity: int = 5) -> Slot:
    slot: Slot = SlotFactory(centre=centre, vaccine=vaccine, starts_at=starts_at, capacity=capacity)
    return slot


def book(slot: Slot, *, person: Citizen | None = None, phone: str = "") -> Appointment:
    """A booking through the engine, made the day before the slot's day."""
    return helpers.book(slot, days_before=1, person=person, phone=phone)
