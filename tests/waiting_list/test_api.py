"""The waiting list through the API: the same rules, as problem+json."""

import datetime as dt

import pytest

from tests.api.conftest import Api, token_for
from tests.factories import CitizenFactory
from tests.waiting_list.conftest import TUESDAY, book, cancel, join
from vaxbook.waiting_list import services
from vaxbook.waiting_list.models import OfferStatus

pytestmark = pytest.mark.django_db


def api_of(person) -> Api:
    return Api(token_for(person.user))


def body(centre, vaccine, **changes) -> dict[str, object]:
    payload: dict[str, object] = {
        "vaccine_id": vaccine.pk,
        "dose_number": 1,
        "centre_ids": [centre.pk],
        "first_day": TUESDAY.isoformat(),
        "last_day": (TUESDAY + dt.timedelta(days=7)).isoformat(),
        "weekdays": [0, 1, 2],
        "times_of_day": ["morning"],
    }
    payload.update(changes)
    return payload


def test_join_see_change_and_leave(centre, vaccine):
    client = api_of(CitizenFactory())

    joined = client.post("/waiting-list", body(centre, vaccine))
    assert joined.status == 201
    assert joined.body["status"] == "waiting"
    assert joined.body["times_of_day"] == ["morning"]
    entry_id = joined.body["id"]

    listed = client.get("/waiting-list")
    assert [item["id"] for item in listed.body["items"]] == [entry_id]
    changed = client.request(
        "PUT", f"/waiting-list/{entry_id}", {**body(centre, vaccine, weekdays=[5, 6])}
    )
    assert changed.status == 422  # vaccine and dose are not part of a change
    wish = body(centre, vaccine, weekdays=[5, 6])
    del wish["vaccine_id"], wish["dose_number"]
    changed = client.request("PUT", f"/waiting-list/{entry_id}", wish)
    assert changed.status == 200
    assert changed.body["weekdays"] == [5, 6]
    left = client.post(f"/waiting-list/{entry_id}/leave")
    assert (left.status, left.body["status"]) == (200, "left")


def test_joining_twice_is_409(centre, vaccine):
    client = api_of(CitizenFactory())
    client.post("/waiting-list", body(centre, vaccine))

    again = client.post("/waiting-list", body(centre, vaccine))

    assert (again.status, again.code) == (409, "already_waiting")


def test_joining_when_not_eligible_is_422_with_the_reason(centre, vaccine):
    client = api_of(CitizenFactory(date_of_birth=dt.date(2020, 1, 1)))

    refused = client.post("/waiting-list", body(centre, vaccine))

    assert (refused.status, refused.code) == (422, "not_eligible")
    assert "12" in refused.body["detail"]


@pytest.mark.parametrize(
    "changes",
    [
        {"centre_ids": []},
        {"weekdays": [7]},
        {"times_of_day": ["night"]},
        {"first_day": "tomorrow"},
        {"dose_number": "1"},
    ],
)
def test_malformed_entries_are_422(centre, vaccine, changes):
    refused = api_of(CitizenFactory()).post("/waiting-list", body(centre, vaccine, **changes))

    assert (refused.status, refused.code) == (422, "validation_error")


def test_a_reversed_range_is_invalid_entry(centre, vaccine):
    refused = api_of(CitizenFactory()).post(
        "/waiting-list",
        body(centre, vaccine, last_day=(TUESDAY - dt.timedelta(days=1)).isoformat()),
    )

    assert (refused.status, refused.code) == (422, "invalid_entry")


def test_accepting_an_offer_books_it_once(centre, vaccine, slot):
    entry = join([centre], vaccine)
    cancel(book(slot))
    (offer,) = services.offer_free_places(slot_ids=[slot.pk])
    client = api_of(entry.person)

    seen = client.get("/waiting-list")
    assert seen.body["items"][0]["offer"]["id"] == str(offer.pk)
    accepted = client.post(f"/waiting-list/offers/{offer.pk}/accept")
    again = client.post(f"/waiting-list/offers/{offer.pk}/accept")

    assert accepted.status == 201
    assert accepted.body["status"] == "booked"
    assert (again.status, again.code) == (409, "offer_closed")


def test_someone_elses_offer_is_404_and_stays_held(centre, vaccine, slot):
    join([centre], vaccine)
    cancel(book(slot))
    (offer,) = services.offer_free_places(slot_ids=[slot.pk])

    stranger = api_of(CitizenFactory())

    assert stranger.get(f"/waiting-list/offers/{offer.pk}").status == 404
    assert stranger.post(f"/waiting-list/offers/{offer.pk}/accept").status == 404
    assert stranger.post(f"/waiting-list/offers/{offer.pk}/decline").status == 404
    offer.refresh_from_db()
    assert offer.status == OfferStatus.HELD


def test_declining_through_the_api(centre, vaccine, slot):
    entry = join([centre], vaccine)
    cancel(book(slot))
    (offer,) = services.offer_free_places(slot_ids=[slot.pk])

    declined = api_of(entry.person).post(f"/waiting-list/offers/{offer.pk}/decline")

    assert (declined.status, declined.body["status"]) == (200, "declined")
