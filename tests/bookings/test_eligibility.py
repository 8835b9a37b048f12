import datetime as dt
import uuid

import pytest

from vaxbook.bookings.eligibility import HeldDose, age_on, check_dose, date_reaching_age
from vaxbook.bookings.errors import AlreadyBooked, NotEligible
from vaxbook.centres.models import Vaccine

COMIRNATY = Vaccine(
    pk=1,
    name="Comirnaty",
    doses_in_primary_course=2,
    minimum_days_between_doses=21,
    minimum_age=12,
)
VAXZEVRIA = Vaccine(
    pk=2,
    name="Vaxzevria",
    doses_in_primary_course=2,
    minimum_days_between_doses=28,
    minimum_age=18,
)
ADULT = dt.date(1980, 6, 15)
DAY = dt.date(2027, 3, 1)


def held(dose: int, day: dt.date, *, vaccine: Vaccine = COMIRNATY, given: bool = False):
    return HeldDose(
        appointment_id=uuid.uuid4(),
        dose_number=dose,
        vaccine_id=vaccine.pk,
        day=day,
        given=given,
    )


def check(*, dose: int = 1, day: dt.date = DAY, born: dt.date = ADULT, doses=(), vaccine=COMIRNATY):
    check_dose(date_of_birth=born, vaccine=vaccine, dose_number=dose, day=day, held=doses)


def test_age_counts_completed_years_on_the_day() -> None:
    assert age_on(dt.date(2009, 3, 2), dt.date(2021, 3, 1)) == 11
    assert age_on(dt.date(2009, 3, 1), dt.date(2021, 3, 1)) == 12


def test_someone_born_on_29_february_turns_a_year_older_on_1_march() -> None:
    born = dt.date(2012, 2, 29)
    assert age_on(born, dt.date(2025, 2, 28)) == 12
    assert age_on(born, dt.date(2025, 3, 1)) == 13
    assert date_reaching_age(born, 13) == dt.date(2025, 3, 1)
    assert date_reaching_age(born, 12) == dt.date(2024, 2, 29)


def test_minimum_age_is_reached_on_the_birthday_itself() -> None:
    check(born=dt.date(2015, 3, 1), day=dt.date(2027, 3, 1))


def test_one_day_too_young_is_not_eligible_and_told_from_when() -> None:
    with pytest.raises(NotEligible, match="2 March 2027"):
        check(born=dt.date(2015, 3, 2), day=dt.date(2027, 3, 1))


def test_age_is_judged_on_the_appointment_day_not_today() -> None:
    # 17 today, 18 by the appointment: eligible for an adults-only vaccine.
    check(vaccine=VAXZEVRIA, born=dt.date(2009, 2, 20), day=dt.date(2027, 3, 1))


def test_dose_beyond_the_primary_course_does_not_exist() -> None:
    with pytest.raises(NotEligible, match="no dose 3"):
        check(dose=3, doses=[held(1, DAY), held(2, DAY)])


def test_dose_two_needs_dose_one_first() -> None:
    with pytest.raises(NotEligible, match="Book dose 1 before dose 2"):
        check(dose=2)


def test_dose_two_exactly_the_interval_after_dose_one_is_allowed() -> None:
    check(dose=2, day=DAY + dt.timedelta(days=21), doses=[held(1, DAY)])


def test_dose_two_a_day_before_the_interval_is_refused_with_the_first_possible_date() -> None:
    with pytest.raises(NotEligible, match="22 March 2027"):
        check(dose=2, day=DAY + dt.timedelta(days=20), doses=[held(1, DAY)])


def test_dose_two_counts_from_the_day_dose_one_was_given() -> None:
    given = held(1, DAY, given=True)
    check(dose=2, day=DAY + dt.timedelta(days=21), doses=[given])


def test_dose_two_must_be_the_same_vaccine_as_dose_one() -> None:
    with pytest.raises(NotEligible, match="same vaccine"):
        check(dose=2, day=DAY + dt.timedelta(days=60), doses=[held(1, DAY, vaccine=VAXZEVRIA)])


def test_moving_dose_one_closer_than_the_interval_to_dose_two_is_refused() -> None:
    dose_two = held(2, DAY + dt.timedelta(days=21))
    with pytest.raises(NotEligible, match="on or before 1 March 2027"):
        check(dose=1, day=DAY + dt.timedelta(days=1), doses=[dose_two])
    check(dose=1, day=DAY, doses=[dose_two])


def test_moving_dose_one_to_another_vaccine_than_dose_two_is_refused() -> None:
    dose_two = held(2, DAY + dt.timedelta(days=60))
    with pytest.raises(NotEligible, match="Dose 1 must be the same vaccine as dose 2"):
        check(dose=1, vaccine=VAXZEVRIA, doses=[dose_two])


def test_second_appointment_for_a_booked_dose_is_already_booked() -> None:
    with pytest.raises(AlreadyBooked):
        check(dose=1, doses=[held(1, DAY + dt.timedelta(days=3))])


def test_a_dose_already_given_cannot_be_booked_again() -> None:
    with pytest.raises(NotEligible, match="already had dose 1"):
        check(dose=1, doses=[held(1, DAY - dt.timedelta(days=30), given=True)])
