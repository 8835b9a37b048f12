"""The public reads: vaccines, centres, a centre's slots; pages, and caching headers."""

import datetime as dt

import pytest
import time_machine

from tests.api.conftest import Api
from tests.factories import CentreFactory, SlotFactory, VaccineFactory, tomorrow_at
from tests.helpers import CANARY
from vaxbook.centres.models import Centre

pytestmark = pytest.mark.django_db


@pytest.fixture
def spikevax():
    return VaccineFactory(
        name="Spikevax",
        manufacturer="Moderna",
        doses_in_primary_course=2,
        minimum_days_between_doses=28,
        minimum_age=12,
        cvx_code="207",
    )


def test_vaccines_list_doses_intervals_and_ages(anonymous: Api, spikevax) -> None:
    response = anonymous.get("/vaccines")

    assert response.status == 200
    assert response.body == {
        "items": [
            {
                "id": spikevax.pk,
                "name": "Spikevax",
                "manufacturer": "Moderna",
                "doses": 2,
                "minimum_days_between_doses": 28,
                "minimum_age": 12,
                "cvx_code": "207",
            }
        ],
        "count": 1,
    }


def test_public_reads_are_cacheable_briefly_with_an_etag(anonymous: Api, slot) -> None:
    for path, max_age in [
        ("/vaccines", 300),
        ("/centres", 60),
        (f"/centres/{slot.centre_id}/slots", 30),
    ]:
        response = anonymous.get(path)
        assert response.status == 200, path
        assert response.headers["Cache-Control"] == f"public, max-age={max_age}"
        assert response.headers["ETag"].startswith('"')


def test_a_client_with_the_current_etag_gets_a_304(anonymous: Api, slot) -> None:
    path = f"/centres/{slot.centre_id}/slots"
    first = anonymous.get(path)

    again = anonymous.get(path, headers={"If-None-Match": first.headers["ETag"]})

    assert again.status == 304
    assert again.raw == b""
    assert again.headers["ETag"] == first.headers["ETag"]


def test_an_if_match_that_no_longer_matches_is_a_412_problem(anonymous: Api, slot) -> None:
    path = f"/centres/{slot.centre_id}/slots"
    current = anonymous.get(path).headers["ETag"]

    matching = anonymous.get(path, headers={"If-Match": current})
    stale = anonymous.get(path, headers={"If-Match": '"an-older-version"'})

    assert matching.status == 200
    assert stale.status == 412
    assert stale.headers["Content-Type"] == "application/problem+json"
    assert stale.code == "precondition_failed"


@pytest.mark.parametrize("path", ["/vaccines", "/centres", "/centres/{centre}/slots"])
def test_head_answers_what_get_would_without_the_body(anonymous: Api, slot, path: str) -> None:
    path = path.format(centre=slot.centre_id)
    got = anonymous.get(path)

    head = anonymous.request("HEAD", path)

    assert head.status == 200
    assert head.raw == b""
    assert head.headers["Content-Length"] == str(len(got.raw))
    for header in ("Content-Type", "Cache-Control", "ETag"):
        assert head.headers[header] == got.headers[header]


def test_if_unmodified_since_is_ignored_on_a_list(anonymous: Api) -> None:
    response = anonymous.get(
        "/vaccines", headers={"If-Unmodified-Since": "Mon, 01 Jan 2001 00:00:00 GMT"}
    )

    assert response.status == 200


def test_head_with_the_current_etag_is_a_304(anonymous: Api) -> None:
    etag = anonymous.get("/vaccines").headers["ETag"]

    response = anonymous.request("HEAD", "/vaccines", headers={"If-None-Match": etag})

    assert response.status == 304
    assert response.raw == b""


def test_head_on_ones_own_appointments_is_private(citizen: Api, anonymous: Api) -> None:
    mine = citizen.request("HEAD", "/appointments")
    nobody = anonymous.request("HEAD", "/appointments")

    assert (mine.status, mine.raw) == (200, b"")
    assert "no-store" in mine.headers["Cache-Control"]
    assert (nobody.status, nobody.raw) == (401, b"")


@pytest.mark.parametrize("path", ["/openapi.json", "/smart-scheduling/$bulk-publish"])
def test_head_on_the_published_documents(anonymous: Api, path: str) -> None:
    response = anonymous.request("HEAD", path)

    assert response.status == 200
    assert response.raw == b""


def test_head_where_there_is_no_get_is_405(citizen: Api) -> None:
    response = citizen.request("HEAD", "/auth/token")

    assert response.status == 405
    assert set(response.headers["Allow"].split(", ")) == {"POST", "DELETE"}
    assert response.headers["Content-Type"] == "application/problem+json"  # headers only


def test_the_etag_changes_with_availability(anonymous: Api, slot) -> None:
    path = f"/centres/{slot.centre_id}/slots"
    day = slot.local_date.isoformat()
    first = anonymous.get(path, date=day)
    slot.booked = 1
    slot.save()

    again = anonymous.get(path, date=day, headers={"If-None-Match": first.headers["ETag"]})

    assert again.status == 200
    assert again.body["items"][0]["remaining"] == 4
    assert again.headers["ETag"] != first.headers["ETag"]


# --- centres ---------------------------------------------------------------------------


@pytest.fixture
def madrid(db: None) -> Centre:
    return CentreFactory(name="Hospital Isabel Zendal", town="Madrid", postcode="28055")


@pytest.fixture
def barcelona(db: None) -> Centre:
    return CentreFactory(
        name="Fira de Barcelona",
        town="Barcelona",
        postcode="08038",
        latitude="41.37",
        longitude="2.15",
    )


@pytest.fixture
def las_palmas(db: None) -> Centre:
    return CentreFactory(
        name="Hospital Insular",
        town="Las Palmas de Gran Canaria",
        postcode="35016",
        latitude="28.10",
        longitude="-15.42",
        time_zone="Atlantic/Canary",
    )


def names(response) -> list[str]:
    return [item["name"] for item in response.body["items"]]


def test_centres_by_town_with_their_next_free_time(anonymous: Api, madrid, barcelona) -> None:
    SlotFactory(centre=madrid, starts_at=tomorrow_at(9), booked=5)  # full
    SlotFactory(centre=madrid, starts_at=tomorrow_at(11))

    response = anonymous.get("/centres", q="madrid")

    assert response.status == 200
    assert response.body["count"] == 1
    [found] = response.body["items"]
    assert found["name"] == "Hospital Isabel Zendal"
    assert found["vaccines"] == ["Comirnaty"]
    assert found["next_free"] == tomorrow_at(11).isoformat()
    assert found["time_zone"] == "Europe/Madrid"


def test_centres_by_postcode(anonymous: Api, madrid, barcelona) -> None:
    assert names(anonymous.get("/centres", q="08038")) == ["Fira de Barcelona"]


def test_centres_with_a_vaccine(anonymous: Api, madrid, barcelona, spikevax) -> None:
    SlotFactory(centre=madrid)
    SlotFactory(centre=barcelona, vaccine=spikevax)

    response = anonymous.get("/centres", vaccine=spikevax.pk)

    assert names(response) == ["Fira de Barcelona"]


def test_centres_with_a_free_place_on_a_day(anonymous: Api, madrid, barcelona) -> None:
    SlotFactory(centre=madrid, starts_at=tomorrow_at(10))
    day_after = tomorrow_at(12) + dt.timedelta(days=1)
    SlotFactory(centre=barcelona, starts_at=day_after)
    SlotFactory(centre=barcelona, starts_at=tomorrow_at(12), booked=5)  # full

    response = anonymous.get("/centres", date=day_after.date().isoformat())

    assert names(response) == ["Fira de Barcelona"]
    assert response.body["items"][0]["next_free"] == day_after.isoformat()


def test_the_day_is_the_centres_own(anonymous: Api, las_palmas) -> None:
    # 23:30 in Las Palmas on 1 July is already 2 July in Madrid and 22:30 UTC.
    late = dt.datetime(2027, 7, 1, 23, 30, tzinfo=CANARY)
    SlotFactory(centre=las_palmas, starts_at=late)

    with time_machine.travel(dt.datetime(2027, 6, 1, tzinfo=dt.UTC)):
        on_first = anonymous.get("/centres", date="2027-07-01")
        on_second = anonymous.get("/centres", date="2027-07-02")

    assert names(on_first) == ["Hospital Insular"]
    assert on_first.body["items"][0]["next_free"] == "2027-07-01T23:30:00+01:00"
    assert names(on_second) == []


def test_inactive_centres_are_not_listed(anonymous: Api, madrid) -> None:
    CentreFactory(name="Closed centre", town="Madrid", is_active=False)

    assert names(anonymous.get("/centres", q="Madrid")) == ["Hospital Isabel Zendal"]


def test_centres_come_in_pages(anonymous: Api) -> None:
    for number in range(5):
        CentreFactory(name=f"Centre {number}", town="Toledo")

    first = anonymous.get("/centres", limit=2)
    last = anonymous.get("/centres", limit=2, offset=4)

    assert first.body["count"] == 5
    assert names(first) == ["Centre 0", "Centre 1"]
    assert names(last) == ["Centre 4"]


@pytest.mark.parametrize(
    "query",
    [{"limit": 0}, {"limit": 101}, {"offset": -1}, {"limit": "ten"}, {"offset": 10**30}],
)
def test_page_bounds_are_checked(anonymous: Api, query) -> None:
    response = anonymous.get("/centres", **query)

    assert response.status == 422
    assert response.code == "validation_error"
    assert response.body["errors"][0]["location"] == "query"


# --- slots -----------------------------------------------------------------------------


def test_a_centres_slots_on_a_day_with_places_left(anonymous: Api, madrid, spikevax) -> None:
    full = SlotFactory(centre=madrid, starts_at=tomorrow_at(9), booked=5)
    free = SlotFactory(centre=madrid, starts_at=tomorrow_at(9), vaccine=spikevax, capacity=3)
    SlotFactory(centre=madrid, starts_at=tomorrow_at(12), is_open=False)
    SlotFactory(centre=madrid, starts_at=tomorrow_at(10) + dt.timedelta(days=1))

    response = anonymous.get(f"/centres/{madrid.pk}/slots", date=tomorrow_at(9).date().isoformat())

    assert response.status == 200
    assert response.body == {
        "items": [
            {
                "id": full.pk,
                "starts_at": tomorrow_at(9).isoformat(),
                "ends_at": tomorrow_at(9, 10).isoformat(),
                "vaccine": {"id": full.vaccine_id, "name": "Comirnaty"},
                "capacity": 5,
                "remaining": 0,
            },
            {
                "id": free.pk,
                "starts_at": tomorrow_at(9).isoformat(),
                "ends_at": tomorrow_at(9, 10).isoformat(),
                "vaccine": {"id": spikevax.pk, "name": "Spikevax"},
                "capacity": 3,
                "remaining": 3,
            },
        ],
        "count": 2,
    }


def test_slots_of_one_vaccine(anonymous: Api, madrid, spikevax) -> None:
    SlotFactory(centre=madrid)
    wanted = SlotFactory(centre=madrid, vaccine=spikevax)

    response = anonymous.get(
        f"/centres/{madrid.pk}/slots",
        date=tomorrow_at(10).date().isoformat(),
        vaccine=spikevax.pk,
    )

    assert [item["id"] for item in response.body["items"]] == [wanted.pk]


def test_slots_default_to_today_at_the_centre(anonymous: Api, madrid) -> None:
    today = SlotFactory(centre=madrid, starts_at=tomorrow_at(10) - dt.timedelta(days=1))
    SlotFactory(centre=madrid, starts_at=tomorrow_at(10))

    with time_machine.travel(today.starts_at - dt.timedelta(hours=2)):
        response = anonymous.get(f"/centres/{madrid.pk}/slots")

    assert [item["id"] for item in response.body["items"]] == [today.pk]


@pytest.mark.parametrize("centre_id", ["999999", "0", "-1", "abc", str(2**64)])
def test_slots_of_a_missing_centre(anonymous: Api, centre_id: str) -> None:
    response = anonymous.get(f"/centres/{centre_id}/slots")

    assert response.status in {404, 422}
    assert response.content_type == "application/problem+json"
    assert response.code == ("not_found" if centre_id == "999999" else "validation_error")


def test_slots_of_an_inactive_centre_are_not_found(anonymous: Api) -> None:
    closed = CentreFactory(is_active=False)

    assert anonymous.get(f"/centres/{closed.pk}/slots").code == "not_found"


@pytest.mark.parametrize("date", ["tomorrow", "2027-02-30", "1999-12-31", "3000-01-01", "20270101"])
def test_an_impossible_date_is_a_422(anonymous: Api, madrid, date: str) -> None:
    response = anonymous.get(f"/centres/{madrid.pk}/slots", date=date)

    assert response.status == 422
    assert response.body["errors"][0]["field"] == "date"
