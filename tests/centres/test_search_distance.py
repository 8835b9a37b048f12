"""Finding a centre by postcode or by position, nearest first, with the distance shown."""

from decimal import Decimal

import pytest
from django.test import Client

from tests.factories import CentreFactory, SlotFactory, VaccineFactory
from vaxbook.centres.queries import Position, distance_km, find_centres, postcode_position

pytestmark = pytest.mark.django_db

SOL = Position(40.41690, -3.70350)  # Puerta del Sol, Madrid


def centre(name: str, postcode: str, lat: str, lon: str, **extra):
    return CentreFactory(
        name=name,
        postcode=postcode,
        latitude=Decimal(lat),
        longitude=Decimal(lon),
        **extra,
    )


@pytest.fixture
def madrid_and_barcelona() -> None:
    centre("La Paz", "28046", "40.48150", "-3.68700")  # 7.3 km north
    centre("Retiro", "28009", "40.42390", "-3.67890")  # 2.2 km east
    centre("WiZink", "28009", "40.42400", "-3.67200", is_active=False)
    centre("Fira", "08004", "41.37330", "2.15200", town="Barcelona")  # 505 km away


def test_haversine_distance_between_madrid_and_barcelona() -> None:
    # Puerta del Sol to Plaça de Catalunya: 505 km as the crow flies.
    assert distance_km(SOL, Position(41.38700, 2.17000)) == pytest.approx(505, abs=2)
    assert distance_km(SOL, SOL) == 0


def test_a_postcode_is_where_its_centres_are_or_those_of_its_longest_shared_prefix(
    madrid_and_barcelona,
) -> None:
    retiro = postcode_position("28009")
    assert retiro is not None
    assert retiro.latitude == pytest.approx((40.42390 + 40.42400) / 2)
    nearby = postcode_position("28013")  # no centre there: those of 280xx
    assert nearby is not None
    assert distance_km(nearby, SOL) < 10
    assert postcode_position("99999") is None
    assert postcode_position("Madrid") is None


@pytest.mark.parametrize("typed", ["SW1A 2AA", "sw1a2aa", " Sw1A  2aA ", "SW1A-2AA"])
def test_a_postcode_is_found_with_or_without_spaces_in_any_case(typed: str) -> None:
    centre("Westminster", "SW1A 2AA", "51.50340", "-0.12760", town="London")
    centre("Elsewhere", "EH1 1YZ", "55.95330", "-3.18830", town="Edinburgh")
    names = [result.centre.name for result in find_centres(text=typed).results]
    assert names == ["Westminster"]


def test_a_postcode_search_lists_the_centres_near_it_nearest_first_with_distances(
    madrid_and_barcelona,
) -> None:
    search = find_centres(text="28013")
    assert search.from_postcode
    assert [result.centre.name for result in search.results] == ["Retiro", "La Paz"]
    assert all(result.distance_km is not None for result in search.results)

    page = Client().get("/centres/", {"q": "28013"}).text
    assert "Distances are from postcode 28013." in page
    assert "km away" in page
    assert page.index("Retiro") < page.index("La Paz")
    assert "Fira" not in page


def test_a_position_lists_the_centres_around_it_nearest_first(madrid_and_barcelona) -> None:
    response = Client().get("/centres/", {"near": "40.417,-3.704"})
    assert response.status_code == 200
    page = response.text
    assert "Distances are from your location." in page
    assert "2.3 km away" in page
    assert "7.3 km away" in page
    assert page.index("Retiro") < page.index("La Paz")
    assert "Fira" not in page
    assert "WiZink" not in page  # closed centres are never listed
    assert 'name="near" value="40.417,-3.704"' in page  # kept for the next search


def test_a_town_searched_from_a_position_is_in_distance_order(madrid_and_barcelona) -> None:
    centre("Getafe", "28901", "40.30570", "-3.73280")
    results = find_centres(text="Madrid", near=SOL).results
    assert [result.centre.name for result in results] == ["Retiro", "La Paz", "Getafe"]


def test_without_a_postcode_or_position_no_distance_is_shown(madrid_and_barcelona) -> None:
    page = Client().get("/centres/", {"q": "Madrid"}).text
    assert "km away" not in page
    assert "Distances are from" not in page


def test_filter_by_vaccine_keeps_the_distances(madrid_and_barcelona) -> None:
    spikevax = VaccineFactory(name="Spikevax", cvx_code="207")
    retiro = CentreFactory._meta.model.objects.get(name="Retiro")
    SlotFactory(centre=retiro, vaccine=spikevax)
    page = Client().get("/centres/", {"near": "40.417,-3.704", "vaccine": spikevax.pk}).text
    assert "Retiro" in page
    assert "La Paz" not in page
    assert "2.3 km away" in page


@pytest.mark.parametrize(
    ("query", "field", "message"),
    [
        ({"vaccine": "999999"}, "id_vaccine", "Choose a vaccine from the list."),
        ({"vaccine": "Comirnaty"}, "id_vaccine", "Choose a vaccine from the list."),
        ({"near": "91,0"}, "id_q", "Your position could not be read."),
        ({"near": "north"}, "id_q", "Your position could not be read."),
        ({"near": "nan,nan"}, "id_q", "Your position could not be read."),
        ({"q": "x" * 101}, "id_q", "Enter 100 characters or fewer."),
    ],
)
def test_bad_search_input_gets_an_error_summary_not_a_crash(
    query: dict[str, str], field: str, message: str
) -> None:
    response = Client().get("/centres/", query)
    assert response.status_code == 400
    assert "<title>Error: Find a vaccination centre" in response.text
    assert f'href="#{field}"' in response.text
    assert message in response.text


def test_the_location_button_is_hidden_until_the_script_shows_it() -> None:
    page = Client().get("/centres/").text
    assert "core/js/locate.js" in page
    assert "hidden data-locate" in page
    assert "<script>" not in page
