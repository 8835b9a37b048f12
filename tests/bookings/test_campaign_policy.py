"""The campaign policy as the booking engine applies it: cohorts open at an instant."""

import datetime as dt

import pytest
import time_machine

from tests.factories import CitizenFactory, SlotFactory, VaccineFactory
from tests.helpers import MADRID
from vaxbook.bookings import services
from vaxbook.bookings.eligibility_check import check_eligibility
from vaxbook.bookings.errors import NotEligible
from vaxbook.bookings.models import Appointment
from vaxbook.centres.policy import CohortOpening

pytestmark = pytest.mark.django_db

# Monday 1 March 2027, 08:00 in Madrid: the 60-69 cohort opens.
OPENING = dt.datetime(2027, 3, 1, 8, 0, tzinfo=MADRID)
SIXTY_FIVE = dt.date(1962, 1, 10)


@pytest.fixture
def vaccine():
    return VaccineFactory()


@pytest.fixture
def slot(vaccine):
    # A week after the opening, at a Madrid centre.
    return SlotFactory(
        vaccine=vaccine,
        starts_at=dt.datetime(2027, 3, 8, 10, 0, tzinfo=MADRID),
        ends_at=dt.datetime(2027, 3, 8, 10, 10, tzinfo=MADRID),
        capacity=10,
    )


@pytest.fixture
def sixties_open_at_eight():
    return CohortOpening.objects.create(
        name="Phase 3: 60 to 69", minimum_age=60, maximum_age=69, opens_at=OPENING
    )


def book(person, slot):
    return services.book_appointment(person=person, slot_id=slot.pk, dose_number=1)


@pytest.mark.usefixtures("sixties_open_at_eight")
def test_a_cohort_books_from_its_opening_second_and_not_one_second_before(slot):
    early = CitizenFactory(date_of_birth=SIXTY_FIVE)
    on_time = CitizenFactory(date_of_birth=SIXTY_FIVE)
    with (
        time_machine.travel(OPENING - dt.timedelta(seconds=1), tick=False),
        pytest.raises(NotEligible) as refused,
    ):
        book(early, slot)
    assert "1 March 2027 at 08:00 (Spanish mainland time)" in refused.value.message
    assert refused.value.opens_at == OPENING
    assert not Appointment.objects.filter(person=early).exists()

    with time_machine.travel(OPENING, tick=False):
        appointment = book(on_time, slot)
    assert appointment.person_id == on_time.pk
    slot.refresh_from_db()
    assert slot.booked == 1


@pytest.mark.usefixtures("sixties_open_at_eight")
def test_people_outside_every_open_cohort_are_told_their_group_is_not_open(slot):
    fifty = CitizenFactory(date_of_birth=dt.date(1977, 1, 10))
    with (
        time_machine.travel(OPENING + dt.timedelta(days=1), tick=False),
        pytest.raises(NotEligible, match="not open to your age group yet"),
    ):
        book(fifty, slot)


def test_a_priority_group_books_before_its_age_does(slot):
    CohortOpening.objects.create(
        name="Health workers", minimum_age=16, priority_group="health_worker", opens_at=OPENING
    )
    nurse = CitizenFactory(date_of_birth=dt.date(1990, 1, 1), priority_group="health_worker")
    neighbour = CitizenFactory(date_of_birth=dt.date(1990, 1, 1))
    with time_machine.travel(OPENING + dt.timedelta(hours=1), tick=False):
        assert book(nurse, slot).person_id == nurse.pk
        with pytest.raises(NotEligible):
            book(neighbour, slot)


def test_age_counts_on_the_appointment_day_not_the_booking_day(slot):
    CohortOpening.objects.create(name="60+", minimum_age=60, opens_at=OPENING)
    # Turns 60 on 5 March, before the appointment on 8 March.
    turning_sixty = CitizenFactory(date_of_birth=dt.date(1967, 3, 5))
    with time_machine.travel(OPENING + dt.timedelta(hours=1), tick=False):
        assert book(turning_sixty, slot).person_id == turning_sixty.pk


def test_without_any_opening_the_policy_is_off(slot):
    with time_machine.travel(OPENING, tick=False):
        assert book(CitizenFactory(date_of_birth=dt.date(2000, 1, 1)), slot)


def test_a_policy_change_applies_to_the_next_booking_without_a_restart(slot):
    person = CitizenFactory(date_of_birth=dt.date(1977, 1, 10))
    opening = CohortOpening.objects.create(
        name="60 to 69", minimum_age=60, maximum_age=69, opens_at=OPENING
    )
    with time_machine.travel(OPENING + dt.timedelta(hours=1), tick=False):
        with pytest.raises(NotEligible):
            book(person, slot)
        opening.minimum_age = 50
        opening.save()
        assert book(person, slot).person_id == person.pk


@pytest.mark.usefixtures("sixties_open_at_eight")
def test_the_check_before_you_start_tells_when_the_cohort_opens(vaccine):
    with time_machine.travel(OPENING - dt.timedelta(days=2), tick=False):
        answer = check_eligibility(date_of_birth=SIXTY_FIVE, dose_number=1)
    (refused,) = answer.refused
    assert refused.vaccine == vaccine
    assert refused.bookable_from == dt.date(2027, 3, 1)
    assert "08:00" in refused.refusal
