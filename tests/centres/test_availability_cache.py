"""The cached day of slots and centre search: a write of a day makes every instance show it
at once, and nothing else (vaxbook.centres.availability)."""

import os
import re

import pytest
import redis
import time_machine
from django.core.cache import caches
from django.core.cache.backends.redis import RedisCache
from django.db import transaction
from django.test import Client
from django.utils import timezone

from config import env
from tests.factories import CentreFactory, CitizenFactory, SlotFactory, tomorrow_at
from vaxbook.bookings import services
from vaxbook.centres import availability
from vaxbook.centres.models import Slot

pytestmark = pytest.mark.django_db

REDIS_URL = os.environ.get("AVAILABILITY_TEST_REDIS_URL", "redis://127.0.0.1:6379/12")


def day_page(client: Client, slot: Slot) -> str:
    return client.get(f"/centres/{slot.centre_id}/", {"date": slot.local_date.isoformat()}).text


def slot_list(client: Client, slot: Slot) -> list[dict]:
    response = client.get(
        f"/api/v1/centres/{slot.centre_id}/slots", {"date": slot.local_date.isoformat()}
    )
    return response.json()["items"]


def places_left(page: str) -> list[str]:
    """The "places left" cells of the day page, in order."""
    table = page.split("<tbody>")[1].split("</tbody>")[0]
    return [row.split("<td>")[3].split("</td>")[0] for row in table.split("<tr>")[1:]]


def test_the_day_list_is_kept_until_a_write_of_that_day() -> None:
    slot = SlotFactory(starts_at=tomorrow_at(10), capacity=5)
    client = Client()
    assert places_left(day_page(client, slot)) == ["5"]
    # A change that bypasses the services (and their version bump) is not seen: the list
    # comes from the cache, not the database.
    Slot.objects.filter(pk=slot.pk).update(booked=3)
    assert places_left(day_page(client, slot)) == ["5"]
    assert slot_list(client, slot)[0]["remaining"] == 2  # the API's own entry, filled now
    Slot.objects.filter(pk=slot.pk).update(booked=4)
    assert slot_list(client, slot)[0]["remaining"] == 2

    services.book_appointment(person=CitizenFactory(), slot_id=slot.pk, dose_number=1)

    assert places_left(day_page(client, slot)) == ["<strong>Full</strong>"]
    assert slot_list(client, slot)[0]["remaining"] == 0


def test_with_the_cache_switched_off_every_read_comes_from_the_database(settings) -> None:
    settings.AVAILABILITY_CACHE = False
    slot = SlotFactory(starts_at=tomorrow_at(10), capacity=5)
    client = Client()
    assert places_left(day_page(client, slot)) == ["5"]

    Slot.objects.filter(pk=slot.pk).update(booked=3)

    assert places_left(day_page(client, slot)) == ["2"]
    assert slot_list(client, slot)[0]["remaining"] == 2


def test_a_booking_shows_the_place_taken_at_once_on_the_page_and_in_the_api() -> None:
    slot = SlotFactory(starts_at=tomorrow_at(10), capacity=2)
    client = Client()
    assert places_left(day_page(client, slot)) == ["2"]
    assert slot_list(client, slot)[0]["remaining"] == 2

    services.book_appointment(person=CitizenFactory(), slot_id=slot.pk, dose_number=1)

    assert places_left(day_page(client, slot)) == ["1"]
    assert slot_list(client, slot)[0]["remaining"] == 1


def test_cancelling_rescheduling_and_capacity_changes_show_at_once() -> None:
    first = SlotFactory(starts_at=tomorrow_at(10), capacity=2)
    second = SlotFactory(centre=first.centre, starts_at=tomorrow_at(11), capacity=2)
    person = CitizenFactory()
    client = Client()
    appointment = services.book_appointment(person=person, slot_id=first.pk, dose_number=1)
    assert places_left(day_page(client, first)) == ["1", "2"]

    services.reschedule_appointment(
        person=person, appointment_id=appointment.pk, new_slot_id=second.pk
    )
    assert places_left(day_page(client, first)) == ["2", "1"]

    services.cancel_appointment(person=person, appointment_id=appointment.pk)
    assert places_left(day_page(client, first)) == ["2", "2"]


def test_a_booking_leaves_other_days_and_centres_cached() -> None:
    slot = SlotFactory(starts_at=tomorrow_at(10), capacity=5)
    other_centre = SlotFactory(starts_at=tomorrow_at(10), capacity=5)
    client = Client()
    before = availability.versions(
        [availability.day_key(other_centre.centre_id, other_centre.local_date)]
    )

    services.book_appointment(person=CitizenFactory(), slot_id=slot.pk, dose_number=1)

    after = availability.versions(
        [availability.day_key(other_centre.centre_id, other_centre.local_date)]
    )
    assert after == before
    assert places_left(day_page(client, slot)) == ["4"]


def test_a_slot_that_starts_leaves_the_cached_list() -> None:
    early = SlotFactory(starts_at=tomorrow_at(9))
    SlotFactory(centre=early.centre, starts_at=tomorrow_at(10))
    client = Client()
    assert "09:00" in day_page(client, early)

    with time_machine.travel(tomorrow_at(9, 30)):
        page = day_page(client, early)

    assert "09:00" not in page
    assert "10:00" in page


def test_the_shared_fragment_holds_no_csrf_token_and_the_header_follows_the_visitor() -> None:
    slot = SlotFactory(starts_at=tomorrow_at(10))
    anonymous = Client()
    assert "Sign in" in day_page(anonymous, slot)
    person = CitizenFactory()
    signed_in = Client()
    signed_in.force_login(person.user)

    page = day_page(signed_in, slot)

    assert "Sign out" in page
    assert f"/book/{slot.pk}/" in page
    key = availability.versions([availability.day_key(slot.centre_id, slot.local_date)])
    (version,) = key.values()
    today = slot.centre.local_date(timezone.now()).isoformat()
    entry = caches["default"].get(
        f"avail:day-html:{slot.centre_id}:{slot.local_date.isoformat()}:{today}:en:{version}"
    )
    assert entry is not None
    assert "csrfmiddlewaretoken" not in entry[1]
    assert "Sign" not in entry[1]


def test_a_cached_page_carries_each_visitors_own_csrf_token() -> None:
    slot = SlotFactory(starts_at=tomorrow_at(10))
    day_page(Client(), slot)  # cached by another visitor
    visitor = Client(enforce_csrf_checks=True)

    page = day_page(visitor, slot)

    token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', page)
    assert token is not None
    assert "{csrf-token}" not in page
    switched = visitor.post(
        "/i18n/setlang/", {"language": "es", "next": "/", "csrfmiddlewaretoken": token[1]}
    )
    assert switched.status_code == 302


def test_each_language_has_its_own_fragment() -> None:
    slot = SlotFactory(starts_at=tomorrow_at(10))
    assert "Book" in day_page(Client(), slot)

    spanish = Client(headers={"Accept-Language": "es"})

    assert "Reservar" in day_page(spanish, slot)


def test_the_day_page_answers_304_until_its_places_change() -> None:
    slot = SlotFactory(starts_at=tomorrow_at(10), capacity=3)
    client = Client()
    path = f"/centres/{slot.centre_id}/?date={slot.local_date.isoformat()}"
    client.get(path)  # the first visit gets its CSRF cookie, which the page's forms use
    first = client.get(path)
    etag = first.headers["ETag"]
    assert "no-cache" in first.headers["Cache-Control"]

    assert client.get(path, headers={"If-None-Match": etag}).status_code == 304

    services.book_appointment(person=CitizenFactory(), slot_id=slot.pk, dose_number=1)
    changed = client.get(path, headers={"If-None-Match": etag})
    assert changed.status_code == 200
    assert places_left(changed.text) == ["2"]


def test_the_api_slot_list_answers_304_until_its_places_change() -> None:
    slot = SlotFactory(starts_at=tomorrow_at(10), capacity=3)
    client = Client()
    path = f"/api/v1/centres/{slot.centre_id}/slots?date={slot.local_date.isoformat()}"
    etag = client.get(path).headers["ETag"]
    assert client.get(path, headers={"If-None-Match": etag}).status_code == 304

    services.book_appointment(person=CitizenFactory(), slot_id=slot.pk, dose_number=1)

    changed = client.get(path, headers={"If-None-Match": etag})
    assert changed.status_code == 200
    assert changed.json()["items"][0]["remaining"] == 2


def test_the_search_shows_a_centre_full_at_once() -> None:
    centre = CentreFactory(name="Centro Único")
    slot = SlotFactory(centre=centre, starts_at=tomorrow_at(10), capacity=1)
    SlotFactory(centre=centre, starts_at=tomorrow_at(12), capacity=1)
    client = Client()
    found = client.get("/api/v1/centres", {"q": "Único"}).json()["items"][0]
    assert "T10:00" in found["next_free"]

    services.book_appointment(person=CitizenFactory(), slot_id=slot.pk, dose_number=1)

    found = client.get("/api/v1/centres", {"q": "Único"}).json()["items"][0]
    assert "T12:00" in found["next_free"]
    assert "12:00" in client.get("/centres/", {"q": "Único"}).text


def test_booking_from_a_stale_page_says_the_place_was_taken() -> None:
    slot = SlotFactory(starts_at=tomorrow_at(10), capacity=1)
    person = CitizenFactory()
    client = Client()
    client.force_login(person.user)
    stale = day_page(client, slot)  # shows the place free
    assert f"/book/{slot.pk}/" in stale
    services.book_appointment(person=CitizenFactory(), slot_id=slot.pk, dose_number=1)

    refused = client.post(f"/book/{slot.pk}/", {"dose_number": "1"})

    assert refused.status_code == 409
    assert "This time slot has just been fully booked" in refused.text


@pytest.mark.django_db(transaction=True)
def test_versions_go_up_when_the_write_commits_never_when_it_rolls_back(monkeypatch) -> None:
    monkeypatch.setattr(availability, "after_commit", transaction.on_commit)
    slot = SlotFactory(starts_at=tomorrow_at(10))
    key = availability.day_key(slot.centre_id, slot.local_date)
    (start,) = availability.versions([key]).values()

    seen_inside = []

    def rolled_back() -> None:
        with transaction.atomic():
            availability.slots_changed([slot])
            seen_inside.append(availability.versions([key])[key])
            raise RuntimeError("rolled back")

    with pytest.raises(RuntimeError):
        rolled_back()
    assert seen_inside == [start]  # not before the commit
    assert availability.versions([key])[key] == start

    with transaction.atomic():
        availability.slots_changed([slot])
    assert availability.versions([key])[key] == start + 1


# --- two instances on one Redis --------------------------------------------------------


@pytest.fixture
def two_instances(settings):
    """Two cache clients of their own on the same Redis database, as two app instances
    have; the test switches the default cache between them."""
    settings.CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.redis.RedisCache",
            "LOCATION": REDIS_URL,
            "KEY_PREFIX": "vaxbook-availability-test",
        }
    }
    params = {"KEY_PREFIX": "vaxbook-availability-test"}
    first, second = RedisCache(REDIS_URL, params), RedisCache(REDIS_URL, params)
    first.clear()
    yield first, second
    first.clear()


def on(instance: RedisCache) -> None:
    caches["default"] = instance


def test_a_booking_on_one_instance_shows_at_once_on_another(two_instances) -> None:
    first, second = two_instances
    slot = SlotFactory(starts_at=tomorrow_at(10), capacity=5)
    on(first)
    assert places_left(day_page(Client(), slot)) == ["5"]
    Slot.objects.filter(pk=slot.pk).update(booked=1)  # unannounced: not seen
    on(second)
    assert places_left(day_page(Client(), slot)) == ["5"]  # the first instance's entry

    services.book_appointment(person=CitizenFactory(), slot_id=slot.pk, dose_number=1)

    on(first)
    assert places_left(day_page(Client(), slot)) == ["3"]
    assert slot_list(Client(), slot)[0]["remaining"] == 3


def test_on_redis_a_booking_costs_one_round_trip(two_instances, monkeypatch) -> None:
    first, _second = two_instances
    on(first)
    slot = SlotFactory(starts_at=tomorrow_at(10), capacity=5)
    services.book_appointment(person=CitizenFactory(), slot_id=slot.pk, dose_number=1)
    commands: list[bytes] = []
    send = redis.connection.Connection.send_packed_command

    def counted(connection, command, *args, **kwargs):
        commands.append(command if isinstance(command, bytes) else b"".join(command))
        return send(connection, command, *args, **kwargs)

    monkeypatch.setattr(redis.connection.Connection, "send_packed_command", counted)
    services.book_appointment(person=CitizenFactory(), slot_id=slot.pk, dose_number=1)

    assert len(commands) == 1
    assert b"EVALSHA" in commands[0]


def test_a_lost_version_starts_above_every_cached_entry(two_instances) -> None:
    first, _second = two_instances
    on(first)
    slot = SlotFactory(starts_at=tomorrow_at(10), capacity=5)
    client = Client()
    assert places_left(day_page(client, slot)) == ["5"]
    Slot.objects.filter(pk=slot.pk).update(booked=2)
    first.delete(availability.day_key(slot.centre_id, slot.local_date))  # evicted

    assert places_left(day_page(client, slot)) == ["3"]


@pytest.fixture
def redis_down(settings):
    """The default cache on a Redis that is not there (nothing listens on port 1)."""
    working = settings.CACHES
    settings.CACHES = {"default": env.cache("redis://127.0.0.1:1/0")}
    yield
    settings.CACHES = working  # before the suite's own fixtures clear the cache


def test_without_redis_the_pages_are_served_from_the_database(redis_down, caplog) -> None:
    slot = SlotFactory(starts_at=tomorrow_at(10), capacity=5)
    client = Client()

    assert places_left(day_page(client, slot)) == ["5"]
    assert slot_list(client, slot)[0]["remaining"] == 5
    services.book_appointment(person=CitizenFactory(), slot_id=slot.pk, dose_number=1)
    assert places_left(day_page(client, slot)) == ["4"]
    assert "the shared cache did not answer" in caplog.text
