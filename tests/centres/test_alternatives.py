"""What is offered when a place was taken: other times that day, the next days, nearby
centres; only free places of the same vaccine."""

import datetime as dt
from decimal import Decimal

import pytest

from tests.factories import CentreFactory, SlotFactory, VaccineFactory, tomorrow_at
from vaxbook.centres.queries import alternatives

pytestmark = pytest.mark.django_db

DAY = dt.timedelta(days=1)


def at(centre, when, **extra):
    return SlotFactory(centre=centre, starts_at=when, **extra)


@pytest.fixture
def taken():
    centre = CentreFactory(
        name="Retiro", latitude=Decimal("40.42390"), longitude=Decimal("-3.67890")
    )
    return at(centre, tomorrow_at(12), capacity=1, booked=1)


def test_other_times_that_day_nearest_to_the_taken_one_shown_in_time_order(taken) -> None:
    centre = taken.centre
    at(centre, tomorrow_at(8))  # 4 hours before
    nine = at(centre, tomorrow_at(9))  # 3 hours before
    half_past_eleven = at(centre, tomorrow_at(11, 30))
    one = at(centre, tomorrow_at(13))
    at(centre, tomorrow_at(18))  # 6 hours after
    at(centre, tomorrow_at(12, 30), capacity=2, booked=2)  # full
    at(centre, tomorrow_at(12, 40), is_open=False)  # closed
    at(centre, tomorrow_at(12, 50), vaccine=VaccineFactory(name="Spikevax", cvx_code="207"))

    assert alternatives(taken, same_day=3).same_day == [nine, half_past_eleven, one]


def test_the_first_free_time_of_each_of_the_next_days(taken) -> None:
    centre = taken.centre
    day_two_early = at(centre, tomorrow_at(9) + DAY)
    at(centre, tomorrow_at(15) + DAY)
    day_four = at(centre, tomorrow_at(10) + 3 * DAY)
    at(centre, tomorrow_at(8) + 2 * DAY, capacity=1, booked=1)  # day three: full
    day_five = at(centre, tomorrow_at(16) + 4 * DAY)
    at(centre, tomorrow_at(16) + 5 * DAY)

    assert alternatives(taken, next_days=3).next_days == [day_two_early, day_four, day_five]


def test_nearby_centres_nearest_first_within_reach(taken) -> None:
    def centre(name, lat, lon):
        return CentreFactory(name=name, latitude=Decimal(lat), longitude=Decimal(lon))

    la_paz = at(centre("La Paz", "40.48150", "-3.68700"), tomorrow_at(17))  # 6.4 km
    sol = at(centre("Sol", "40.41690", "-3.70350"), tomorrow_at(10) + DAY)  # 2.2 km
    at(centre("Sol", "40.41690", "-3.70350"), tomorrow_at(10), capacity=1, booked=1)
    at(centre("Fira", "41.37330", "2.15200"), tomorrow_at(12))  # Barcelona: too far
    other_vaccine = VaccineFactory(name="Spikevax", cvx_code="207")
    at(centre("Getafe", "40.30570", "-3.73280"), tomorrow_at(12), vaccine=other_vaccine)

    nearby = alternatives(taken).nearby

    assert [option.slot for option in nearby] == [sol, la_paz]
    assert nearby[0].distance_km == pytest.approx(2.2, abs=0.1)
    assert nearby[1].distance_km == pytest.approx(6.4, abs=0.1)


def test_nothing_free_anywhere_is_an_empty_answer(taken) -> None:
    assert not alternatives(taken)
