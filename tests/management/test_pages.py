"""The management pages: who sees which (a 404 for everyone else), forms that say what is
wrong, and the flows a manager goes through."""

import csv
import datetime as dt
import io
from dataclasses import dataclass
from unittest import mock

import pytest
import time_machine
from django.db import OperationalError
from django.db.models import Count, Q
from django.test import Client

from tests.factories import VaccineFactory
from tests.helpers import at, in_spanish
from tests.management.helpers import Site, book, make_site, slot_at
from tests.staff_clients import verified_client
from vaxbook.accounts.models import StaffMembership, StaffRole, User
from vaxbook.bookings.models import Appointment, AppointmentStatus
from vaxbook.centres.models import Centre, OpeningTemplate, Slot
from vaxbook.notifications.events import Event
from vaxbook.notifications.models import Message

pytestmark = pytest.mark.django_db

TODAY = dt.date(2027, 5, 10)  # a Monday
DAY = dt.date(2027, 5, 12)


@pytest.fixture(autouse=True)
def fixed_clock():
    with time_machine.travel(at(8, day=TODAY), tick=False) as traveller:
        yield traveller


@dataclass
class SiteWithSlot(Site):
    slot: Slot


@pytest.fixture
def site() -> SiteWithSlot:
    """The centre of make_site with one slot on DAY at 10:00."""
    base = make_site()
    return SiteWithSlot(**vars(base), slot=slot_at(base.centre, base.vaccine, at(10, day=DAY)))


def centre_pages(site) -> list[str]:
    base = f"/staff/centres/{site.centre.pk}/manage/"
    return [
        base,
        f"{base}details/",
        f"{base}hours/",
        f"{base}generate/",
        f"{base}days/{DAY.isoformat()}/",
        f"{base}days/{DAY.isoformat()}/close/",
        f"{base}slots/{site.slot.pk}/",
        f"{base}staff/",
        f"{base}report/",
        f"{base}report.csv?first_day=2027-05-01&last_day=2027-05-31",
    ]


AUTHORITY_PAGES = [
    "/staff/centres/new/",
    "/staff/reports/",
    "/staff/reports.csv?first_day=2027-05-01&last_day=2027-05-31",
]


def text(response) -> str:
    assert response.status_code in (200, 400), response.status_code
    return response.content.decode()


def status_of(client, url: str) -> int:
    """The status of GET `url`, its body read to the end as a browser reads it: a CSV
    streams from a query that its first row opened in the view."""
    response = client.get(url)
    if response.streaming:
        b"".join(response.streaming_content)
    return response.status_code


# --- who sees which ----------------------------------------------------------------------------


def test_an_administrator_sees_every_page(site) -> None:
    client = verified_client(site.admin)

    for url in [*centre_pages(site), *AUTHORITY_PAGES, "/staff/manage/"]:
        assert status_of(client, url) == 200, url


def test_a_manager_sees_their_centres_pages_and_not_the_authoritys(site) -> None:
    client = verified_client(site.manager)

    for url in [*centre_pages(site), "/staff/manage/"]:
        assert status_of(client, url) == 200, url
    for url in AUTHORITY_PAGES:
        assert status_of(client, url) == 404, url


@pytest.mark.parametrize("who", ["other_manager", "vaccinator", "receptionist", "citizen"])
def test_everyone_else_gets_a_404(site, who) -> None:
    client = verified_client(getattr(site, who))

    for url in [*centre_pages(site), *AUTHORITY_PAGES]:
        assert status_of(client, url) == 404, url


@pytest.mark.parametrize("who", ["vaccinator", "receptionist"])
def test_staff_who_manage_nothing_have_no_management_home(site, who) -> None:
    assert verified_client(getattr(site, who)).get("/staff/manage/").status_code == 404


def test_without_the_second_factor_the_pages_do_not_exist(site) -> None:
    client = Client()
    client.force_login(site.manager)

    assert client.get(centre_pages(site)[0]).status_code == 404


def test_a_visitor_who_is_not_signed_in_is_sent_to_the_staff_sign_in(site) -> None:
    response = Client().get(centre_pages(site)[0])

    assert response.status_code == 302
    assert response["Location"].startswith("/staff/sign-in/")


def test_a_missing_centre_or_slot_is_a_404_even_for_an_administrator(site) -> None:
    client = verified_client(site.admin)

    assert client.get("/staff/centres/999999/manage/").status_code == 404
    assert client.get(f"/staff/centres/{site.centre.pk}/manage/slots/999999/").status_code == 404
    assert client.get(f"/staff/centres/{site.centre.pk}/manage/days/not-a-day/").status_code == 404


POSTS = {
    "details": ("details/", {"name": "Taken over"}),
    "hours": (
        "hours/",
        {"weekday": "0", "opens_at": "09:00", "closes_at": "10:00", "slot_minutes": "10"},
    ),
    "generate": (
        "generate/",
        {"first_day": "2027-05-11", "last_day": "2027-05-12", "confirm": "1"},
    ),
    "day places": (f"days/{DAY.isoformat()}/places/", {"places": "1"}),
    "close day": (f"days/{DAY.isoformat()}/close/", {"reason": "No."}),
    "slot places": ("slots/{slot}/places/", {"places-places": "1"}),
    "close slot": ("slots/{slot}/close/", {"close-reason": "No."}),
    "staff": ("staff/", {"email": "mole@example.org", "role": StaffRole.MANAGER}),
}


@pytest.mark.parametrize("action", POSTS)
@pytest.mark.parametrize("who", ["other_manager", "vaccinator", "receptionist"])
def test_nobody_else_can_post_a_change(site, action, who) -> None:
    path, data = POSTS[action]
    url = f"/staff/centres/{site.centre.pk}/manage/{path.format(slot=site.slot.pk)}"
    before = (
        list(Slot.objects.values_list("pk", "capacity", "is_open")),
        list(Centre.objects.values_list("pk", "name")),
        OpeningTemplate.objects.count(),
        StaffMembership.objects.count(),
    )

    response = verified_client(getattr(site, who)).post(url, data)

    assert response.status_code == 404
    assert before == (
        list(Slot.objects.values_list("pk", "capacity", "is_open")),
        list(Centre.objects.values_list("pk", "name")),
        OpeningTemplate.objects.count(),
        StaffMembership.objects.count(),
    )


def test_a_manager_cannot_open_a_centre(site) -> None:
    count = Centre.objects.count()

    response = verified_client(site.manager).post("/staff/centres/new/", {"name": "Mine"})

    assert response.status_code == 404
    assert Centre.objects.count() == count


# --- centres -----------------------------------------------------------------------------------


CENTRE_FORM = {
    "name": "Pabellón 9 IFEMA",
    "address": "Avenida del Partenón 5",
    "postcode": "28042",
    "town": "Madrid",
    "phone": "",
    "latitude": "40.46340",
    "longitude": "-3.61780",
    "time_zone": "Europe/Madrid",
    "is_active": "on",
}


def test_an_administrator_opens_a_centre(site) -> None:
    response = verified_client(site.admin).post(
        "/staff/centres/new/", CENTRE_FORM | {"vaccine_ids": [str(site.vaccine.pk)]}
    )

    centre = Centre.objects.get(name="Pabellón 9 IFEMA")
    assert response.status_code == 302
    assert response["Location"] == f"/staff/centres/{centre.pk}/manage/"
    assert list(centre.vaccines.all()) == [site.vaccine]


def test_a_bad_time_zone_is_shown_next_to_its_field(site) -> None:
    response = verified_client(site.manager).post(
        f"/staff/centres/{site.centre.pk}/manage/details/",
        CENTRE_FORM | {"time_zone": "Madrid"},
    )

    page = text(response)
    assert response.status_code == 400
    assert "There is a problem" in page
    assert "Madrid is not an IANA time zone." in page
    assert 'href="#id_time_zone"' in page
    site.centre.refresh_from_db()
    assert site.centre.name == "Centro de Vacunación Norte"


@pytest.mark.parametrize(
    ("field", "value", "message"),
    [
        ("latitude", "95", "The latitude is between -90 and 90."),
        ("longitude", "-181", "The longitude is between -180 and 180."),
    ],
)
def test_a_position_off_the_globe_is_shown_next_to_its_field(site, field, value, message) -> None:
    response = verified_client(site.manager).post(
        f"/staff/centres/{site.centre.pk}/manage/details/", CENTRE_FORM | {field: value}
    )

    page = text(response)
    assert response.status_code == 400
    assert message in page
    assert f'href="#id_{field}"' in page
    assert "violated" not in page


# --- opening hours and generating ------------------------------------------------------------


HOURS = {
    "weekday": "2",
    "opens_at": "09:00",
    "closes_at": "10:00",
    "slot_minutes": "20",
    "places_per_slot": "3",
}


def hours_url(site) -> str:
    return f"/staff/centres/{site.centre.pk}/manage/hours/"


def test_a_manager_adds_hours_then_previews_and_makes_the_slots(site) -> None:
    client = verified_client(site.manager)
    added = client.post(hours_url(site), HOURS | {"vaccine_id": str(site.vaccine.pk)})
    assert added.status_code == 302
    generate = f"/staff/centres/{site.centre.pk}/manage/generate/"

    preview = text(client.post(generate, {"first_day": "2027-05-10", "last_day": "2027-05-23"}))

    assert "From 10 May 2027 to 23 May 2027: 6 new slots." in preview
    assert "Make 6 slots" in preview
    assert Slot.objects.count() == 1  # the fixture's own
    made = text(
        client.post(generate, {"first_day": "2027-05-10", "last_day": "2027-05-23", "confirm": "1"})
    )
    assert "6 slots made." in made
    assert Slot.objects.count() == 7


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"slot_minutes": "1000"}, "A slot lasts between 5 and 240 minutes."),
        ({"slot_minutes": "0"}, "A slot lasts between 5 and 240 minutes."),
        ({"closes_at": "08:00"}, "The closing time must be after the opening time."),
        ({"opens_at": "25:00"}, "Enter a time on the 24-hour clock, like 09:30."),
    ],
)
def test_bad_hours_are_explained(site, changes, message) -> None:
    response = verified_client(site.manager).post(
        hours_url(site), HOURS | {"vaccine_id": str(site.vaccine.pk)} | changes
    )

    assert response.status_code == 400
    assert message in text(response)
    assert not OpeningTemplate.objects.exists()


def test_overlapping_hours_are_explained(site) -> None:
    client = verified_client(site.manager)
    client.post(hours_url(site), HOURS | {"vaccine_id": str(site.vaccine.pk)})

    response = client.post(
        hours_url(site),
        HOURS | {"vaccine_id": str(site.vaccine.pk), "opens_at": "09:30", "closes_at": "11:00"},
    )

    assert response.status_code == 400
    assert (
        "These hours overlap the Comirnaty opening hours on Wednesday from 09:00 to 10:00."
        in text(response)
    )
    assert OpeningTemplate.objects.count() == 1


def test_ten_years_of_slots_are_refused_with_a_message(site) -> None:
    response = verified_client(site.manager).post(
        f"/staff/centres/{site.centre.pk}/manage/generate/",
        {"first_day": "2027-05-10", "last_day": "2037-05-09", "confirm": "1"},
    )

    assert response.status_code == 400
    assert "Generate at most 92 days at a time: this range has 3653 days." in text(response)
    assert Slot.objects.count() == 1


def test_the_manager_removes_hours(site) -> None:
    client = verified_client(site.manager)
    client.post(hours_url(site), HOURS | {"vaccine_id": str(site.vaccine.pk)})
    template = OpeningTemplate.objects.get()

    response = client.post(f"{hours_url(site)}{template.pk}/remove/")

    assert response.status_code == 302
    assert not OpeningTemplate.objects.exists()


# --- places and closing ---------------------------------------------------------------------


def test_too_few_places_for_a_day_says_how_many_are_booked(site) -> None:
    book(site.slot)
    book(site.slot)

    response = verified_client(site.manager).post(
        f"/staff/centres/{site.centre.pk}/manage/days/{DAY.isoformat()}/places/", {"places": "1"}
    )

    assert response.status_code == 400
    assert "A slot on that day already has 2 places booked" in text(response)
    site.slot.refresh_from_db()
    assert site.slot.capacity == 5


def test_a_slots_places_change_from_its_page(site) -> None:
    client = verified_client(site.manager)
    url = f"/staff/centres/{site.centre.pk}/manage/slots/{site.slot.pk}/"

    changed = client.post(f"{url}places/", {"places-places": "12"})

    assert changed.status_code == 302
    site.slot.refresh_from_db()
    assert site.slot.capacity == 12
    assert "The slot now has 12 places." in text(client.get(url))


def test_closing_a_day_from_its_page_cancels_and_tells_people(site) -> None:
    appointments = [book(site.slot), book(site.slot)]
    Message.objects.all().delete()
    client = verified_client(site.manager)
    url = f"/staff/centres/{site.centre.pk}/manage/days/{DAY.isoformat()}/close/"

    warning = text(client.get(url))
    assert "2 booked appointments will be cancelled." in warning
    closed = client.post(url, {"reason": "The vaccine delivery is late."})

    assert closed.status_code == 302
    day_page = text(client.get(closed["Location"]))
    assert "1 slot is closed. 2 appointments are cancelled and the people are being told." in (
        day_page
    )
    for appointment in appointments:
        appointment.refresh_from_db()
        assert appointment.status == AppointmentStatus.CANCELLED
    assert Message.objects.filter(event=Event.CANCELLED).count() == 2


def test_closing_without_a_reason_is_explained_and_changes_nothing(site) -> None:
    appointment = book(site.slot)

    response = verified_client(site.manager).post(
        f"/staff/centres/{site.centre.pk}/manage/slots/{site.slot.pk}/close/",
        {"close-reason": "  "},
    )

    assert response.status_code == 400
    assert "Give the reason for closing" in text(response)
    appointment.refresh_from_db()
    assert appointment.status == AppointmentStatus.BOOKED


# --- staff -------------------------------------------------------------------------------------


def test_a_manager_invites_a_vaccinator(site) -> None:
    response = verified_client(site.manager).post(
        f"/staff/centres/{site.centre.pk}/manage/staff/",
        {"email": "new.nurse@example.org", "role": StaffRole.VACCINATOR},
    )

    assert response.status_code == 302
    user = User.objects.get(email="new.nurse@example.org")
    assert user.memberships.get().centre == site.centre
    assert not user.has_usable_password()


# --- reports ----------------------------------------------------------------------------------


def test_the_report_draws_its_charts_with_titles_and_tables(site) -> None:
    for _ in range(2):
        book(site.slot)

    page = text(
        verified_client(site.manager).get(f"/staff/centres/{site.centre.pk}/manage/report/")
    )

    assert page.count("<svg") == 3
    assert '<title id="chart-utilisation-title">Places booked, next 21 days</title>' in page
    assert (
        '<title id="chart-offers-title">Places offered from the waiting list, 42 days</title>'
        in page
    )
    assert '<title id="chart-no-shows-title">Missed appointments, last 21 days</title>' in page
    assert "Wed 12 May 2027</td><td>40 %</td>" in page.replace("\n", "")
    assert "<style" not in page
    assert " style=" not in page
    assert "<script" not in page


def test_the_all_centres_report_lists_each_centre(site) -> None:
    page = text(verified_client(site.admin).get("/staff/reports/"))

    assert "Centro de Vacunación Norte" in page


def csv_rows(response) -> list[dict[str, str]]:
    assert response.status_code == 200
    assert response.streaming
    assert response["Content-Type"] == "text/csv; charset=utf-8"
    body = b"".join(response.streaming_content).decode()
    return list(csv.DictReader(io.StringIO(body)))


def test_the_slot_csv_has_one_row_per_slot_matching_the_database(site, fixed_clock) -> None:
    other_vaccine = VaccineFactory(name="Spikevax", cvx_code="207")
    site.centre.vaccines.add(other_vaccine)
    slots = [
        site.slot,
        slot_at(site.centre, other_vaccine, at(10, day=DAY)),
        slot_at(site.centre, site.vaccine, at(17, 40, day=DAY + dt.timedelta(days=1)), capacity=3),
    ]
    for slot, bookings in zip(slots, (3, 1, 2), strict=True):
        for _ in range(bookings):
            book(slot)
    cancelled = Appointment.objects.filter(slot=slots[0]).order_by("pk")[0]
    Appointment.objects.filter(pk=cancelled.pk).update(
        status=AppointmentStatus.CANCELLED, cancelled_at=at(7, day=TODAY)
    )
    Slot.objects.filter(pk=slots[0].pk).update(booked=2)

    rows = csv_rows(
        verified_client(site.manager).get(
            f"/staff/centres/{site.centre.pk}/manage/report.csv",
            {"kind": "slots", "first_day": "2027-05-01", "last_day": "2027-05-31"},
        )
    )

    expected = [
        {
            "centre_id": str(slot.centre_id),
            "centre": slot.centre.name,
            "date": slot.starts_at.astimezone(slot.centre.zone).date().isoformat(),
            "starts": f"{slot.starts_at.astimezone(slot.centre.zone):%H:%M}",
            "ends": f"{slot.ends_at.astimezone(slot.centre.zone):%H:%M}",
            "vaccine": slot.vaccine.name,
            "open": "yes" if slot.is_open else "no",
            "places": str(slot.capacity),
            "booked": str(slot.booked),
            "checked_in": str(slot.checked_in),
            "vaccinated": str(slot.vaccinated),
            "no_shows": str(slot.no_shows),
            "cancelled": str(slot.cancelled),
        }
        for slot in Slot.objects.filter(centre=site.centre)
        .select_related("centre", "vaccine")
        .annotate(
            checked_in=Count(
                "appointments",
                filter=Q(appointments__status__in=["checked_in", "vaccinated"]),
            ),
            vaccinated=Count("appointments", filter=Q(appointments__status="vaccinated")),
            no_shows=Count("appointments", filter=Q(appointments__status="no_show")),
            cancelled=Count("appointments", filter=Q(appointments__status="cancelled")),
        )
        .order_by("starts_at", "vaccine__name")
    ]
    assert rows == expected
    assert [row["booked"] for row in rows] == ["2", "1", "2"]
    assert rows[0]["cancelled"] == "1"


def test_the_daily_csv_adds_up_each_centres_days(site) -> None:
    book(site.slot)
    slot_at(site.centre, site.vaccine, at(11, day=DAY), capacity=5)

    rows = csv_rows(
        verified_client(site.admin).get(
            "/staff/reports.csv",
            {"kind": "days", "first_day": "2027-05-01", "last_day": "2027-05-31"},
        )
    )

    assert rows == [
        {
            "centre_id": str(site.centre.pk),
            "centre": "Centro de Vacunación Norte",
            "date": "2027-05-12",
            "slots": "2",
            "places_offered": "10",
            "booked": "1",
            "utilisation": "0.1000",
            "checked_in": "0",
            "vaccinated": "0",
            "no_shows": "0",
            "no_show_rate": "",
            "cancelled": "0",
        }
    ]


def test_a_csv_whose_first_row_the_database_cannot_give_is_a_503_page(site) -> None:
    def out_of_reach(**kwargs):
        raise OperationalError("connection refused")
        yield  # a generator, as the report's rows are: the query runs at the first row

    client = verified_client(site.manager)
    client.raise_request_exception = False
    with mock.patch("vaxbook.centres.reports.slot_figures", out_of_reach):
        response = client.get(
            f"/staff/centres/{site.centre.pk}/manage/report.csv",
            {"kind": "slots", "first_day": "2027-05-01", "last_day": "2027-05-31"},
        )

    assert response.status_code == 503
    assert not response.streaming
    assert "unavailable for a moment" in response.content.decode()


@pytest.mark.parametrize(
    "query",
    [
        {"first_day": "2027-05-01"},
        {"first_day": "2027-05-01", "last_day": "someday"},
        {"first_day": "2027-05-01", "last_day": "2029-05-01"},
        {"first_day": "2027-05-01", "last_day": "2027-05-02", "kind": "everything"},
    ],
)
def test_a_csv_of_a_bad_range_is_a_clear_400(site, query) -> None:
    response = verified_client(site.admin).get("/staff/reports.csv", query)

    assert response.status_code == 400
    assert response["Content-Type"] == "text/plain; charset=utf-8"
    assert response.content


# --- the way in -----------------------------------------------------------------------------


def test_the_staff_home_links_to_management_for_those_who_manage(site) -> None:
    assert "/staff/manage/" in text(verified_client(site.manager).get("/staff/"))
    assert "/staff/manage/" in text(verified_client(site.admin).get("/staff/"))
    assert "/staff/manage/" not in text(verified_client(site.vaccinator).get("/staff/"))


def test_the_pages_and_the_services_messages_speak_spanish(site) -> None:
    client = in_spanish(verified_client(site.manager))

    page = text(
        client.post(
            f"/staff/centres/{site.centre.pk}/manage/generate/",
            {"first_day": "2027-05-10", "last_day": "2037-05-09"},
        )
    )

    assert '<html lang="es">' in page
    assert "Crear franjas a partir del horario" in page
    # The service's refusal too (its wording is the centres catalogue's).
    assert "Generate at most" not in page
    assert "3653" in page


@pytest.mark.parametrize("who", ["other_manager", "vaccinator", "receptionist"])
def test_a_report_csv_with_wrong_parameters_is_refused_before_its_parameters_are_read(
    site, who
) -> None:
    client = verified_client(getattr(site, who))
    base = f"/staff/centres/{site.centre.pk}/manage/report.csv"

    for url in [base, f"{base}?kind=nonsense", "/staff/reports.csv?first_day=junk"]:
        assert status_of(client, url) == 404, url
