import datetime as dt
from decimal import Decimal

import pytest
import time_machine
from django.test import Client

from tests.factories import CentreFactory, SlotFactory, VaccineFactory, tomorrow_at
from tests.helpers import in_spanish

pytestmark = pytest.mark.django_db

MADRID = {"latitude": Decimal("40.41831"), "longitude": Decimal("-3.70275")}
BARCELONA = {"latitude": Decimal("41.37700"), "longitude": Decimal("2.15200")}


def test_search_finds_a_centre_by_postcode_with_or_without_spaces_in_any_case() -> None:
    CentreFactory(name="CAP Manso", postcode="08015", town="Barcelona", **BARCELONA)
    CentreFactory(name="Other", postcode="28014", town="Madrid", **MADRID)
    for typed in ["08015", " 080 15 ", "barcelona", "cap manso"]:
        page = Client().get("/centres/", {"q": typed}).text
        assert "CAP Manso" in page, typed
        assert "Other" not in page, typed


def test_search_shows_the_vaccines_and_the_next_free_time_in_the_centres_zone() -> None:
    centre = CentreFactory(name="Hospital Doctor Negrín", time_zone="Atlantic/Canary")
    SlotFactory(centre=centre, starts_at=tomorrow_at(9, zone="Atlantic/Canary"))
    page = Client().get("/centres/", {"q": "Negrín"}).text
    assert "Comirnaty" in page
    assert "09:00" in page


def test_filter_by_vaccine_leaves_out_centres_without_it() -> None:
    spikevax = VaccineFactory(name="Spikevax", cvx_code="207")
    SlotFactory(centre=CentreFactory(name="Has Comirnaty"))
    SlotFactory(centre=CentreFactory(name="Has Spikevax"), vaccine=spikevax)
    page = Client().get("/centres/", {"vaccine": spikevax.pk}).text
    assert "Has Spikevax" in page
    assert "Has Comirnaty" not in page


def test_day_page_lists_slots_with_places_left_and_shows_full_ones_as_full() -> None:
    centre = CentreFactory()
    SlotFactory(centre=centre, starts_at=tomorrow_at(10), capacity=4, booked=1)
    SlotFactory(centre=centre, starts_at=tomorrow_at(11), capacity=2, booked=2)
    day = tomorrow_at(10).date().isoformat()
    page = Client().get(f"/centres/{centre.pk}/", {"date": day}).text
    assert "10:00" in page
    assert "11:00" in page
    assert "Full" in page
    assert page.count("/book/") == 1


@pytest.mark.parametrize("date", ["yesterday", "2020-01-01", "9999-99-99", ""])
def test_odd_or_past_dates_show_today_rather_than_an_error(date: str) -> None:
    centre = CentreFactory()
    assert Client().get(f"/centres/{centre.pk}/", {"date": date}).status_code == 200


def test_unknown_or_closed_centre_is_404() -> None:
    closed = CentreFactory(is_active=False)
    assert Client().get(f"/centres/{closed.pk}/").status_code == 404
    assert Client().get("/centres/999999/").status_code == 404


@time_machine.travel(dt.datetime(2027, 3, 1, 12, tzinfo=dt.UTC))
def test_the_day_page_follows_the_centres_day_across_the_clock_change() -> None:
    centre = CentreFactory()
    # 2027-03-28 is 23 hours long in Madrid: 00:30 and 23:30 are both that day, the
    # next day's 00:30 is not.
    for day, hour in [(28, 0), (28, 23), (29, 0)]:
        SlotFactory(
            centre=centre, starts_at=dt.datetime(2027, 3, day, hour, 30, tzinfo=centre.zone)
        )
    page = Client().get(f"/centres/{centre.pk}/", {"date": "2027-03-28"}).text
    assert page.count("<td>00:30</td>") == 1
    assert "<td>23:30</td>" in page


def test_a_day_without_free_times_points_to_the_next_day_that_has_some() -> None:
    centre = CentreFactory()
    SlotFactory(centre=centre, starts_at=tomorrow_at(10), capacity=2, booked=2)
    later = tomorrow_at(11) + dt.timedelta(days=3)
    SlotFactory(centre=centre, starts_at=later)

    page = Client().get(f"/centres/{centre.pk}/", {"date": tomorrow_at(0).date().isoformat()}).text

    assert "There are no free times on this day." in page
    assert f'href="?date={later.date().isoformat()}"' in page
    assert "There are no later free times" not in page


def test_with_no_later_free_time_at_all_the_day_page_offers_another_centre() -> None:
    centre = CentreFactory()
    SlotFactory(centre=centre, starts_at=tomorrow_at(10), capacity=2, booked=2)
    day = tomorrow_at(0).date() + dt.timedelta(days=2)

    page = Client().get(f"/centres/{centre.pk}/", {"date": day.isoformat()}).text

    assert "There are no later free times at this centre." in page
    assert "Next day" not in page
    assert 'href="/centres/"' in page
    assert "Find another centre" in page


def test_a_day_with_free_times_says_nothing_more() -> None:
    centre = CentreFactory()
    SlotFactory(centre=centre, starts_at=tomorrow_at(10))

    page = Client().get(f"/centres/{centre.pk}/", {"date": tomorrow_at(0).date().isoformat()}).text

    assert "Next day" in page
    assert "There are no" not in page


def test_no_later_free_time_in_spanish() -> None:
    centre = CentreFactory()
    page = in_spanish(Client()).get(f"/centres/{centre.pk}/").text
    assert "Este centro no tiene más horas libres." in page
    assert "Buscar otro centro" in page
