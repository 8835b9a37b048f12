"""The Django admin for the health authority: the lists it works with, and the rules the
staff pages keep are kept here too."""

import datetime as dt

import pytest
import time_machine
from django.test import Client

from tests.helpers import at
from tests.management.helpers import book, make_site, slot_at
from tests.staff_clients import verified_client
from vaxbook.centres.models import OpeningTemplate, Slot

pytestmark = pytest.mark.django_db

DAY = dt.date(2027, 5, 12)


@pytest.fixture(autouse=True)
def fixed_clock():
    with time_machine.travel(at(8, day=dt.date(2027, 5, 10)), tick=False):
        yield


@pytest.fixture
def site():
    return make_site()


@pytest.fixture
def admin_client(site) -> Client:
    return verified_client(site.admin)


@pytest.mark.parametrize(
    "url",
    [
        "/admin/centres/centre/?q=Norte",
        "/admin/centres/centre/?is_active__exact=1",
        "/admin/centres/vaccine/?q=Pfizer",
        "/admin/centres/slot/?is_open__exact=1&o=6",
        "/admin/centres/openingtemplate/?weekday__exact=0",
        "/admin/bookings/appointment/?status__exact=booked",
        "/admin/accounts/staffmembership/?role__exact=manager",
        "/admin/accounts/user/?memberships__role=manager",
        "/admin/notifications/message/?status__exact=failed",
    ],
)
def test_the_lists_open_with_their_filters(admin_client, site, url) -> None:
    book(slot_at(site.centre, site.vaccine, at(10, day=DAY)))

    assert admin_client.get(url).status_code == 200


def test_the_slot_list_shows_places_booked_and_utilisation(admin_client, site) -> None:
    slot = slot_at(site.centre, site.vaccine, at(10, day=DAY), capacity=4)
    book(slot)

    page = admin_client.get("/admin/centres/slot/").content.decode()

    assert '<td class="field-utilisation">25%</td>' in page


def test_an_appointment_is_found_by_its_printed_reference(admin_client, site) -> None:
    appointment = book(slot_at(site.centre, site.vaccine, at(10, day=DAY)))

    page = admin_client.get(
        "/admin/bookings/appointment/", {"q": appointment.display_reference}
    ).content.decode()

    assert appointment.display_reference in page
    assert "1 appointment" in page


def test_slots_are_not_edited_in_the_admin(admin_client, site) -> None:
    slot = slot_at(site.centre, site.vaccine, at(10, day=DAY))
    book(slot)

    response = admin_client.post(
        f"/admin/centres/slot/{slot.pk}/change/",
        {"capacity": "0", "is_open": "", "centre": site.centre.pk, "vaccine": site.vaccine.pk},
    )

    assert response.status_code == 403
    slot.refresh_from_db()
    assert (slot.capacity, slot.booked, slot.is_open) == (5, 1, True)


def test_overlapping_opening_hours_are_refused_in_the_admin_too(admin_client, site) -> None:
    OpeningTemplate.objects.create(
        centre=site.centre,
        vaccine=site.vaccine,
        weekday=0,
        opens_at=dt.time(9),
        closes_at=dt.time(14),
        slot_minutes=10,
        places_per_slot=4,
    )

    response = admin_client.post(
        "/admin/centres/openingtemplate/add/",
        {
            "centre": site.centre.pk,
            "vaccine": site.vaccine.pk,
            "weekday": "0",
            "opens_at": "13:00",
            "closes_at": "15:00",
            "slot_minutes": "10",
            "places_per_slot": "4",
        },
    )

    assert response.status_code == 200
    assert "These hours overlap the Comirnaty opening hours on Monday" in response.content.decode()
    assert OpeningTemplate.objects.count() == 1
    assert Slot.objects.count() == 0
