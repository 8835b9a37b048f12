"""The waiting room's HTTP protocol, and the booking endpoints it gates, as clients see
them: every bad input gets a clear problem, none a 500, none moves anyone."""

import datetime as dt

import pytest
import time_machine
from django.conf import LazySettings
from django.utils import timezone

from tests.api.conftest import Api, token_for
from tests.factories import CitizenFactory, SlotFactory
from vaxbook.accounts.models import Citizen
from vaxbook.bookings.models import Appointment
from vaxbook.centres.models import Slot
from vaxbook.waiting_room import services
from vaxbook.waiting_room.models import WaitingRoom

pytestmark = pytest.mark.django_db

TICKETS = "/waiting-room/tickets"
CURRENT = "/waiting-room/tickets/current"


@pytest.fixture
def live_room(db: None, database_store: None) -> WaitingRoom:
    """Opened an hour ago, admitting a hundred a second: a newcomer is admitted at once."""
    return WaitingRoom.objects.create(
        name="Phase 3",
        active=True,
        opens_at=timezone.now() - dt.timedelta(hours=1),
        rate_per_minute=6000,
    )


@pytest.fixture
def slot(db: None) -> Slot:
    return SlotFactory(capacity=50)


@pytest.fixture
def person(db: None) -> Citizen:
    return CitizenFactory()


@pytest.fixture
def citizen(person: Citizen) -> Api:
    return Api(token_for(person.user))


@pytest.fixture
def other_citizen(db: None) -> Api:
    return Api(token_for(CitizenFactory().user))


@pytest.fixture
def staff(db: None) -> Api:
    from tests.factories import CentreFactory, staff_at

    return Api(token_for(staff_at(CentreFactory())))


def _pause(room: WaitingRoom) -> None:
    WaitingRoom.objects.filter(pk=room.pk).update(paused=True)
    services.forget_room()


def _pass() -> str:
    """A pass: join, and poll a second later (at a hundred a second, the turn has come)."""
    ticket = Api().post(TICKETS).body["ticket"]
    with time_machine.travel(timezone.now() + dt.timedelta(seconds=1)):
        polled = Api().get(CURRENT, headers={"Waiting-Room-Ticket": ticket})
    assert polled.body["state"] == "admitted"
    return polled.body["pass"]


def _book(api: Api, slot: Slot, pass_token: str | None) -> object:
    headers = {"Waiting-Room-Pass": pass_token} if pass_token is not None else {}
    return api.post("/appointments", {"slot_id": slot.pk, "dose_number": 1}, headers=headers)


def test_with_the_room_off_joining_says_so_and_booking_needs_no_pass(
    db: None, database_store: None, slot: Slot
) -> None:
    joined = Api().post(TICKETS)
    assert joined.status == 201
    assert joined.body["state"] == "off"
    assert joined.body["pass"] is None
    person = CitizenFactory()
    assert _book(Api(token_for(person.user)), slot, None).status == 201  # type: ignore[attr-defined]


def test_join_and_poll_answer_the_documented_body(live_room: WaitingRoom, slot: Slot) -> None:
    _pause(live_room)
    first = Api().post(TICKETS)
    second = Api().post(TICKETS)
    assert first.status == second.status == 201
    assert set(second.body) == {
        "ticket",
        "state",
        "position",
        "ahead",
        "poll_after",
        "estimate",
        "opens_at",
        "pass",
        "pass_expires_at",
    }
    assert second.body["state"] == "paused"
    assert (second.body["position"], second.body["ahead"]) == (2, 1)
    polled = Api().get(CURRENT, headers={"Waiting-Room-Ticket": second.body["ticket"]})
    assert polled.status == 200
    assert polled.body["position"] == 2
    assert polled.headers["Cache-Control"].startswith("max-age=0")


def test_a_waiting_person_sees_a_range_and_when_to_poll(live_room: WaitingRoom, slot: Slot) -> None:
    WaitingRoom.objects.filter(pk=live_room.pk).update(rate_per_minute=1)
    services.forget_room()
    for _ in range(3):
        last = Api().post(TICKETS)
    body = last.body
    assert body["state"] == "waiting"
    assert body["estimate"]["low_seconds"] < body["estimate"]["high_seconds"]
    assert body["poll_after"] >= 1.5


@pytest.mark.parametrize("ticket", ["", "garbage", "eyJyIjoxfQ:forged:sig"])
def test_a_missing_or_forged_ticket_is_a_400(live_room: WaitingRoom, ticket: str) -> None:
    headers = {"Waiting-Room-Ticket": ticket} if ticket else {}
    response = Api().get(CURRENT, headers=headers)
    assert response.status == 400
    assert response.code == "invalid_ticket"
    assert response.headers["Content-Type"] == "application/problem+json"


def test_an_altered_ticket_is_a_400(live_room: WaitingRoom) -> None:
    _pause(live_room)
    ticket = Api().post(TICKETS).body["ticket"]
    payload, rest = ticket.split(":", 1)
    altered = payload[:-3] + ("A" if payload[-3] != "A" else "B") + payload[-2:] + ":" + rest
    response = Api().get(CURRENT, headers={"Waiting-Room-Ticket": altered})
    assert (response.status, response.code) == (400, "invalid_ticket")


def test_an_expired_ticket_is_a_400_saying_to_join_again(
    live_room: WaitingRoom, settings: LazySettings
) -> None:
    _pause(live_room)
    ticket = Api().post(TICKETS).body["ticket"]
    with time_machine.travel(
        timezone.now() + dt.timedelta(seconds=settings.WAITING_ROOM_GRACE_SECONDS + 5)
    ):
        response = Api().get(CURRENT, headers={"Waiting-Room-Ticket": ticket})
    assert (response.status, response.code) == (400, "invalid_ticket")
    assert "Join the line again" in response.body["detail"]


def test_a_replayed_join_ticket_keeps_its_one_place(live_room: WaitingRoom) -> None:
    _pause(live_room)
    ticket = Api().post(TICKETS).body["ticket"]
    Api().post(TICKETS)
    for _ in range(3):
        again = Api().post(TICKETS, headers={"Waiting-Room-Ticket": ticket})
        assert again.body["position"] == 1
    assert Api().post(TICKETS).body["position"] == 3


def test_one_account_one_place_however_many_joins(live_room: WaitingRoom) -> None:
    _pause(live_room)
    citizen = Api(token_for(CitizenFactory().user))
    positions = {citizen.post(TICKETS).body["position"] for _ in range(4)}
    assert positions == {1}


def test_a_bad_bearer_token_at_join_is_a_401(live_room: WaitingRoom) -> None:
    response = Api("not-a-token").post(TICKETS)
    assert (response.status, response.code) == (401, "invalid_token")


def test_a_join_flood_from_one_address_is_rate_limited(
    live_room: WaitingRoom, settings: LazySettings
) -> None:
    settings.RATE_LIMITS = {**settings.RATE_LIMITS, "waiting_room_join_address": "5/m"}
    statuses = [Api().post(TICKETS).status for _ in range(8)]
    assert statuses[:5] == [201] * 5
    refused = Api().post(TICKETS)
    assert (refused.status, refused.code) == (429, "rate_limited")
    assert int(refused.headers["Retry-After"]) >= 1


def test_a_poll_storm_is_told_to_slow_down_and_moves_nobody(
    live_room: WaitingRoom, settings: LazySettings
) -> None:
    settings.RATE_LIMITS = {**settings.RATE_LIMITS, "waiting_room_poll": "10/10s"}
    _pause(live_room)
    ticket = Api().post(TICKETS).body["ticket"]
    behind = Api().post(TICKETS).body["ticket"]
    answers = [Api().get(CURRENT, headers={"Waiting-Room-Ticket": ticket}) for _ in range(15)]
    assert {answer.status for answer in answers[:10]} == {200}
    storm = answers[-1]
    assert (storm.status, storm.code) == (429, "rate_limited")
    assert int(storm.headers["Retry-After"]) >= 1
    assert Api().get(CURRENT, headers={"Waiting-Room-Ticket": behind}).body["position"] == 2


def test_the_wrong_method_is_a_405_problem(live_room: WaitingRoom) -> None:
    assert Api().get(TICKETS).status == 405
    assert Api().post(CURRENT).status == 405


# --- the booking endpoints behind the room --------------------------------------------


def test_booking_without_a_pass_is_a_403_saying_how_to_join(
    live_room: WaitingRoom, citizen: Api, slot: Slot
) -> None:
    response = _book(citizen, slot, None)
    assert (response.status, response.code) == (403, "pass_required")  # type: ignore[attr-defined]
    assert "waiting-room" in response.body["detail"]  # type: ignore[attr-defined]
    assert not Appointment.objects.exists()


@pytest.mark.parametrize("forged", ["x", "eyJyIjoxfQ:1:abc"])
def test_a_forged_pass_is_a_403(
    live_room: WaitingRoom, citizen: Api, slot: Slot, forged: str
) -> None:
    response = _book(citizen, slot, forged)
    assert (response.status, response.code) == (403, "pass_invalid")  # type: ignore[attr-defined]


def test_an_expired_pass_is_a_403(live_room: WaitingRoom, citizen: Api, slot: Slot) -> None:
    pass_token = _pass()
    with time_machine.travel(
        timezone.now() + dt.timedelta(seconds=live_room.pass_lifetime_seconds + 5)
    ):
        response = _book(citizen, slot, pass_token)
    assert (response.status, response.code) == (403, "pass_invalid")  # type: ignore[attr-defined]


def test_a_pass_books_and_cannot_book_for_another_account(
    live_room: WaitingRoom, person: Citizen, citizen: Api, other_citizen: Api, slot: Slot
) -> None:
    pass_token = _pass()
    assert _book(citizen, slot, pass_token).status == 201  # type: ignore[attr-defined]
    other = _book(other_citizen, slot, pass_token)
    assert (other.status, other.code) == (403, "pass_invalid")  # type: ignore[attr-defined]
    assert Appointment.objects.count() == 1


def test_cancelling_and_moving_need_the_pass_too(
    live_room: WaitingRoom, citizen: Api, slot: Slot
) -> None:
    pass_token = _pass()
    booked = _book(citizen, slot, pass_token).body  # type: ignore[attr-defined]
    path = f"/appointments/{booked['id']}"
    assert citizen.post(f"{path}/cancel").code == "pass_required"
    assert citizen.post(f"{path}/reschedule", {"slot_id": slot.pk}).code == "pass_required"
    ok = citizen.post(f"{path}/cancel", headers={"Waiting-Room-Pass": pass_token})
    assert ok.status == 200


def test_staff_validation_is_never_queued(live_room: WaitingRoom, staff: Api) -> None:
    response = staff.post("/validations", {"token": "not-a-confirmation"})
    assert response.status == 200
    assert response.body["outcome"] == "invalid_signature"


def test_availability_reads_stay_open(live_room: WaitingRoom, slot: Slot) -> None:
    day = timezone.localtime(slot.starts_at).date().isoformat()
    assert Api().get(f"/centres/{slot.centre_id}/slots", date=day).status == 200
    assert Api().get("/centres").status == 200
