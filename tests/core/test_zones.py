from django.utils import translation

from tests.factories import CentreFactory
from vaxbook.core.zones import place_time


def test_the_centres_zones_have_the_names_people_use() -> None:
    assert place_time("Atlantic/Canary") == "Canary Islands time"
    assert place_time("Europe/Madrid") == "Spanish mainland time"
    with translation.override("es"):
        assert place_time("Atlantic/Canary") == "hora de Canarias"
        assert place_time("Europe/Madrid") == "hora peninsular"


def test_another_zone_is_named_by_its_city_and_a_zone_of_no_place_by_its_id() -> None:
    assert place_time("America/New_York") == "New York time"
    assert place_time("UTC") == "UTC"
    assert place_time("Etc/GMT-5") == "Etc/GMT-5"
    with translation.override("es"):
        assert place_time("Europe/Paris") == "hora de Paris"


def test_a_centre_names_its_clock() -> None:
    assert CentreFactory.build(time_zone="Atlantic/Canary").place_time == "Canary Islands time"
