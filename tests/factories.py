"""Test data. Slots start tomorrow at 10:00 in the centre's zone unless told otherwise."""

import datetime as dt
import zoneinfo
from decimal import Decimal

import factory
from django.utils import timezone

from vaxbook.accounts.models import Citizen, StaffMembership, StaffRole, User
from vaxbook.centres.models import Centre, Slot, Vaccine


class UserFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = User
        skip_postgeneration_save = True

    email = factory.Sequence(lambda n: f"person{n}@example.org")
    password = factory.django.Password("a-long-test-password")


class CitizenFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Citizen

    user = factory.SubFactory(UserFactory)
    full_name = factory.Sequence(lambda n: f"Citizen Number{n}")
    date_of_birth = dt.date(1980, 6, 15)


class CentreFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Centre

    name = factory.Sequence(lambda n: f"Vaccination Centre {n}")
    address = "Calle de Alcalá 1"
    postcode = "28014"
    town = "Madrid"
    latitude = Decimal("40.41831")
    longitude = Decimal("-3.70275")
    time_zone = "Europe/Madrid"


class StaffMembershipFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = StaffMembership

    user = factory.SubFactory(UserFactory)
    centre = factory.SubFactory(CentreFactory)
    role = StaffRole.VACCINATOR


class VaccineFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Vaccine
        django_get_or_create = ("name",)

    name = "Comirnaty"
    manufacturer = "Pfizer-BioNTech"
    doses_in_primary_course = 2
    minimum_days_between_doses = 21
    minimum_age = 12
    cvx_code = "208"


def tomorrow_at(hour: int, minute: int = 0, *, zone: str = "Europe/Madrid") -> dt.datetime:
    """Tomorrow (in `zone`) at hour:minute local time, as an aware datetime."""
    tz = zoneinfo.ZoneInfo(zone)
    day = timezone.now().astimezone(tz).date() + dt.timedelta(days=1)
    return dt.datetime.combine(day, dt.time(hour, minute), tzinfo=tz)


class SlotFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Slot

    centre = factory.SubFactory(CentreFactory)
    vaccine = factory.SubFactory(VaccineFactory)
    starts_at = factory.LazyFunction(lambda: tomorrow_at(10))
    ends_at = factory.LazyAttribute(lambda slot: slot.starts_at + dt.timedelta(minutes=10))
    capacity = 5
    booked = 0
    is_open = True


def staff_at(centre: Centre, role: str = StaffRole.VACCINATOR) -> User:
    """A new staff member with `role` at `centre`."""
    membership: StaffMembership = StaffMembershipFactory(centre=centre, role=role)
    return membership.user
