"""What the scan page's offline support asks of the server (vaxbook.checkin.offline): the
day's list it keeps, and the check-ins it queued, sent when the connection is back.

Test client only; the page itself is driven in test_scan_page.py."""

import datetime as dt
import json
from typing import Any

import pytest
import time_machine
from django.test import Client

from tests import helpers
from tests.factories import CentreFactory, SlotFactory, staff_at
from tests.helpers import CANARY, DAY
from tests.staff_clients import verified_client
from vaxbook.accounts.models import User
from vaxbook.bookings import services
from vaxbook.bookings.models import Appointment, AppointmentStatus
from vaxbook.centres.models import Centre
from vaxbook.checkin.offline import MAX_BODY_BYTES, MAX_QUEUED_PER_REQUEST
from vaxbook.credentials.tokens import issue_token

pytestmark = pytest.mark.django_db


def at(hour: int, minute: int = 0, day: dt.date = DAY) -> dt.datetime:
    return dt.datetime.combine(day, dt.time(hour, minute), tzinfo=CANARY)


@pytest.fixture(autouse=True)
def morning_of_the_day():
    with time_machine.travel(at(9), tick=False) as traveller:
        yield traveller


@pytest.fixture
def centre() -> Centre:
    # An hour behind Madrid and UTC+1 in summer: its day is not the server's (UTC).
    return CentreFactory(time_zone="Atlantic/Canary")


def book(centre: Centre, starts_at: dt.datetime, name: str = "Ada Lovelace") -> Appointment:
    slot = SlotFactory(centre=centre, starts_at=starts_at)
    return helpers.book(slot, full_name=name, date_of_birth=dt.date(1961, 2, 28))


@pytest.fixture
def appointment(centre) -> Appointment:
    return book(centre, at(10))


def day_url(centre: Centre) -> str:
    return f"/staff/centres/{centre.pk}/day.json"


def check_ins_url(centre: Centre) -> str:
    return f"/staff/centres/{centre.pk}/check-ins.json"


def queued(client_id: str = "c1", **presented: str) -> dict[str, str]:
    return {"client_id": client_id, "queued_at": "2027-07-15T08:55:00.000Z", **presented}


def send(client: Client, centre: Centre, body: Any, headers: dict[str, str] | None = None):
    raw = body if isinstance(body, (str, bytes)) else json.dumps(body)
    return client.post(check_ins_url(centre), raw, content_type="application/json", headers=headers)


def answers(response) -> list[dict[str, Any]]:
    assert response.status_code == 200, response.content
    return response.json()["items"]


# --- the day's list ------------------------------------------------------------------------


def test_the_day_lists_the_centres_appointments_of_its_local_day(desk, centre, appointment):
    # 00:30 in the Canaries is 23:30 UTC the day before, and the other way round: the day
    # is the centre's, not the server's.
    early = book(centre, at(0, 30), name="Early Person")
    book(centre, at(23, 30, day=DAY - dt.timedelta(days=1)), name="Yesterday Person")
    book(centre, at(0, 30, day=DAY + dt.timedelta(days=1)), name="Tomorrow Person")
    book(CentreFactory(time_zone="Atlantic/Canary"), at(10), name="Elsewhere Person")

    response = desk.get(day_url(centre))

    assert response.status_code == 200
    day = response.json()
    assert day["centre"] == {"id": centre.pk, "name": centre.name, "time_zone": "Atlantic/Canary"}
    assert day["date"] == "2027-07-15"
    assert day["count"] == 2
    first, second = day["appointments"]
    assert first["id"] == str(early.pk)
    assert first["starts_at"] == "2027-07-15T00:30:00+01:00"
    assert second == {
        "id": str(appointment.pk),
        "reference": appointment.reference,
        "display_reference": appointment.display_reference,
        "status": "booked",
        "starts_at": "2027-07-15T10:00:00+01:00",
        "dose_number": 1,
        "vaccine": appointment.slot.vaccine.name,
        "holder_name": "Ada Lovelace",
        "holder_date_of_birth": "1961-02-28",
        "checked_in_at": None,
        "checked_in_by": None,
    }


def test_just_after_local_midnight_the_day_is_the_centres_new_day(
    desk, centre, appointment, morning_of_the_day
):
    morning_of_the_day.move_to(at(0, 5, day=DAY + dt.timedelta(days=1)))

    day = desk.get(day_url(centre)).json()

    assert day["date"] == "2027-07-16"
    assert day["appointments"] == []


def test_the_day_says_who_checked_in_and_when(desk, receptionist, centre, appointment):
    services.check_in(appointment_id=appointment.pk, staff=receptionist)

    [listed] = desk.get(day_url(centre)).json()["appointments"]

    assert listed["status"] == "checked_in"
    assert listed["checked_in_at"] == "2027-07-15T09:00:00+01:00"
    assert listed["checked_in_by"] == receptionist.email


def test_the_day_is_never_stored_by_a_cache(desk, centre):
    cache_control = desk.get(day_url(centre))["Cache-Control"]

    assert "no-store" in cache_control
    assert "private" in cache_control


# --- who may ask ---------------------------------------------------------------------------


def test_a_citizen_gets_404(centre, appointment):
    citizen = verified_client(appointment.person.user)

    assert citizen.get(day_url(centre)).status_code == 404
    response = send(citizen, centre, {"items": [queued(reference=appointment.reference)]})
    assert response.status_code == 404
    appointment.refresh_from_db()
    assert appointment.status == AppointmentStatus.BOOKED


def test_staff_of_another_centre_get_404_and_check_no_one_in(centre, appointment):
    other = verified_client(staff_at(CentreFactory()))

    assert other.get(day_url(centre)).status_code == 404
    response = send(other, centre, {"items": [queued(token=issue_token(appointment))]})
    assert response.status_code == 404
    appointment.refresh_from_db()
    assert appointment.status == AppointmentStatus.BOOKED


def test_signed_out_visitors_are_sent_to_sign_in(centre):
    assert Client().get(day_url(centre)).status_code == 302
    assert send(Client(), centre, {"items": [queued(reference="x")]}).status_code == 302


def test_an_unknown_centre_is_404_even_for_an_administrator():
    admin = verified_client(User.objects.create_superuser("root@example.org", "pw-123456789"))

    assert admin.get("/staff/centres/999999/day.json").status_code == 404


def test_the_endpoints_take_only_their_method(desk, centre):
    assert desk.post(day_url(centre)).status_code == 405
    assert desk.get(check_ins_url(centre)).status_code == 405


def test_queued_check_ins_need_the_csrf_token_the_page_sends(receptionist, centre, appointment):
    client = verified_client(receptionist)
    client.handler.enforce_csrf_checks = True
    body = {"items": [queued(reference=appointment.reference)]}

    assert send(client, centre, body).status_code == 403
    appointment.refresh_from_db()
    assert appointment.status == AppointmentStatus.BOOKED

    page = client.get(f"/staff/centres/{centre.pk}/validate/").content.decode()
    csrf = page.split('name="csrfmiddlewaretoken" value="', 1)[1].split('"', 1)[0]
    [answer] = answers(send(client, centre, body, headers={"X-CSRFToken": csrf}))
    assert answer["outcome"] == "valid"


# --- queued check-ins ----------------------------------------------------------------------


def test_a_queued_check_in_checks_the_person_in(desk, receptionist, centre, appointment):
    [answer] = answers(send(desk, centre, {"items": [queued(token=issue_token(appointment))]}))

    assert answer == {
        "client_id": "c1",
        "queued_at": "2027-07-15T08:55:00+00:00",
        "outcome": "valid",
        "checked_in": True,
        "appointment": {
            "id": str(appointment.pk),
            "reference": appointment.reference,
            "display_reference": appointment.display_reference,
            "status": "checked_in",
            "holder_name": "Ada Lovelace",
        },
        "checked_in_at": "2027-07-15T09:00:00+01:00",
        "checked_in_by": receptionist.email,
    }
    appointment.refresh_from_db()
    assert appointment.status == AppointmentStatus.CHECKED_IN
    assert appointment.checked_in_by == receptionist
    assert appointment.checked_in_at == at(9)


def test_a_replayed_queue_never_checks_anyone_in_twice(
    desk, receptionist, centre, appointment, morning_of_the_day
):
    body = {"items": [queued(token=issue_token(appointment))]}
    answers(send(desk, centre, body))
    morning_of_the_day.shift(dt.timedelta(minutes=20))

    [again] = answers(send(desk, centre, body))

    assert again["outcome"] == "already_checked_in"
    assert again["checked_in"] is False
    assert again["checked_in_at"] == "2027-07-15T09:00:00+01:00"
    assert again["checked_in_by"] == receptionist.email
    appointment.refresh_from_db()
    assert appointment.checked_in_at == at(9)


def test_of_two_tablets_the_first_check_in_wins(centre, appointment):
    first, second = staff_at(centre), staff_at(centre)
    token = issue_token(appointment)

    [won] = answers(send(verified_client(first), centre, {"items": [queued(token=token)]}))
    [lost] = answers(
        send(verified_client(second), centre, {"items": [queued(reference=appointment.reference)]})
    )

    assert won["outcome"] == "valid"
    assert lost["outcome"] == "already_checked_in"
    assert lost["checked_in_by"] == first.email
    appointment.refresh_from_db()
    assert appointment.checked_in_by == first


def test_each_queued_item_gets_its_own_outcome_in_order(desk, centre, appointment):
    other = book(centre, at(11), name="Grace Hopper")
    elsewhere = book(CentreFactory(time_zone="Atlantic/Canary"), at(10), name="Emmy Noether")
    body = {
        "items": [
            queued("a", token=issue_token(appointment)),
            queued("b", reference=appointment.display_reference),
            queued("c", reference=other.display_reference.lower()),
            queued("d", token="eyJhbGciOi.e30.c2ln"),
            queued("e", token=issue_token(elsewhere)),
            queued("f", reference="ABC-DEF-GH7"),
        ]
    }

    results = answers(send(desk, centre, body))

    assert [(r["client_id"], r["outcome"], r["checked_in"]) for r in results] == [
        ("a", "valid", True),
        ("b", "already_checked_in", False),
        ("c", "valid", True),
        ("d", "invalid_signature", False),
        ("e", "wrong_centre", False),
        ("f", "unknown_reference", False),
    ]
    # Another centre's person is not named to this desk.
    assert results[4]["appointment"]["holder_name"] is None
    elsewhere.refresh_from_db()
    assert elsewhere.status == AppointmentStatus.BOOKED


# --- bad bodies ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    "body",
    [
        " ",
        "not json",
        "x" * 10_000,
        "{" * 10_000,
        "[" * 200_000,
        b"\xff\xfe\x00junk",
        "[]",
        "null",
        '"items"',
        "{}",
        '{"items": {}}',
        '{"items": []}',
        '{"items": [1]}',
        '{"items": [{}]}',
    ],
    ids=lambda body: repr(body)[:20],
)
def test_a_body_that_is_not_a_queue_is_a_400(desk, centre, appointment, body):
    response = send(desk, centre, body)

    assert response.status_code == 400
    assert response["Content-Type"] == "application/problem+json"
    problem = response.json()
    assert problem["status"] == 400
    assert problem["code"] == "bad_request"
    assert problem["detail"]


@pytest.mark.parametrize(
    ("item", "why"),
    [
        ({"queued_at": "2027-07-15T08:55:00Z", "reference": "X"}, "client_id"),
        ({"client_id": "", "queued_at": "2027-07-15T08:55:00Z", "reference": "X"}, "client_id"),
        ({"client_id": "a b", "queued_at": "2027-07-15T08:55:00Z", "reference": "X"}, "client_id"),
        (
            {"client_id": "x" * 65, "queued_at": "2027-07-15T08:55:00Z", "reference": "X"},
            "client_id",
        ),
        ({"client_id": "c", "reference": "X"}, "queued_at"),
        ({"client_id": "c", "queued_at": "2027-07-15T08:55:00", "reference": "X"}, "queued_at"),
        ({"client_id": "c", "queued_at": "2027-13-45T08:55:00Z", "reference": "X"}, "queued_at"),
        ({"client_id": "c", "queued_at": 1789462500, "reference": "X"}, "queued_at"),
        ({"client_id": "c", "queued_at": "2027-07-15T08:55:00Z"}, "token"),
        (
            {"client_id": "c", "queued_at": "2027-07-15T08:55:00Z", "token": "a", "reference": "b"},
            "token",
        ),
        ({"client_id": "c", "queued_at": "2027-07-15T08:55:00Z", "token": 12}, "token"),
        ({"client_id": "c", "queued_at": "2027-07-15T08:55:00Z", "token": "a.b.c" * 1000}, "token"),
    ],
)
def test_one_malformed_item_refuses_the_whole_batch(desk, centre, appointment, item, why):
    body = {"items": [queued(reference=appointment.reference), item]}

    response = send(desk, centre, body)

    assert response.status_code == 400
    detail = response.json()["detail"]
    assert detail.startswith("Check-in 2:")
    assert why in detail
    appointment.refresh_from_db()
    assert appointment.status == AppointmentStatus.BOOKED  # not even the good first item


def test_more_check_ins_than_one_request_takes_is_a_413(desk, centre, appointment):
    items = [queued(f"c{n}", reference=appointment.reference) for n in range(101)]
    assert len(items) > MAX_QUEUED_PER_REQUEST

    response = send(desk, centre, {"items": items})

    assert response.status_code == 413
    assert response.json()["code"] == "too_many"
    appointment.refresh_from_db()
    assert appointment.status == AppointmentStatus.BOOKED


def test_a_huge_body_is_a_413_unread(desk, centre):
    response = send(desk, centre, " " * (MAX_BODY_BYTES + 1))

    assert response.status_code == 413
    assert response.json()["code"] == "too_large"


def test_a_body_that_is_not_json_by_its_type_is_a_415(desk, centre, appointment):
    body = json.dumps({"items": [queued(reference=appointment.reference)]})

    response = desk.post(check_ins_url(centre), body, content_type="text/plain")

    assert response.status_code == 415
    appointment.refresh_from_db()
    assert appointment.status == AppointmentStatus.BOOKED
