"""Idempotency-Key on booking, cancelling and rescheduling: the same request again replays
the first answer and changes nothing; another request with the key is refused."""

import dataclasses
import datetime as dt
import threading
import traceback
from collections import Counter
from collections.abc import Callable

import pytest
import time_machine
from django.core.management import call_command
from django.db import connection

from tests.api.conftest import Api, Response, token_for
from tests.factories import SlotFactory, tomorrow_at
from vaxbook.api.models import IdempotencyRecord
from vaxbook.bookings import services
from vaxbook.bookings.models import Appointment, AppointmentStatus
from vaxbook.centres.models import Slot
from vaxbook.credentials.tokens import ConfirmationClaims, verify_token
from vaxbook.notifications.models import Message

pytestmark = pytest.mark.django_db


def keyed(key: str) -> dict[str, str]:
    return {"Idempotency-Key": key}


def booking(slot: Slot, dose_number: int = 1) -> dict[str, int]:
    return {"slot_id": slot.pk, "dose_number": dose_number}


def the_answer(response: Response) -> tuple[dict[str, object], ConfirmationClaims | None]:
    """What a client reads: the body, and what its confirmation says (a replay signs the
    confirmation again, and two signatures of the same claims differ)."""
    body = {name: value for name, value in response.body.items() if name != "token"}
    token = response.body["token"]
    if token is None:
        return body, None
    claims = verify_token(token)
    return body, dataclasses.replace(claims, issued_at=dt.datetime.min.replace(tzinfo=dt.UTC))


def booked(slot: Slot) -> int:
    slot.refresh_from_db()
    return slot.booked


def test_the_same_booking_again_replays_the_first_answer(citizen: Api, slot) -> None:
    first = citizen.post("/appointments", booking(slot), headers=keyed("k-1"))
    messages = Message.objects.count()

    again = citizen.post("/appointments", booking(slot), headers=keyed("k-1"))

    assert first.status == again.status == 201
    assert the_answer(again) == the_answer(first)
    assert again.headers["Idempotent-Replayed"] == "true"
    assert "Idempotent-Replayed" not in first.headers
    assert Appointment.objects.count() == 1
    assert booked(slot) == 1
    assert Message.objects.count() == messages  # no second confirmation either


def test_the_record_keeps_no_signed_confirmation(citizen: Api, person, slot) -> None:
    first = citizen.post("/appointments", booking(slot), headers=keyed("k-1"))

    recorded = IdempotencyRecord.objects.get().body

    assert first.body["token"] is not None
    assert first.body["token"] not in recorded
    assert '"token"' not in recorded
    assert person.full_name not in recorded
    assert person.date_of_birth.isoformat() not in recorded
    # The replay still carries a confirmation, naming the holder as the first one did.
    again = citizen.post("/appointments", booking(slot), headers=keyed("k-1"))
    assert verify_token(again.body["token"]).holder_name == person.full_name


def test_a_new_key_is_a_new_request(citizen: Api, slot) -> None:
    citizen.post("/appointments", booking(slot), headers=keyed("k-1"))

    response = citizen.post("/appointments", booking(slot), headers=keyed("k-2"))

    assert response.code == "already_booked"


def test_the_key_with_another_body_is_refused(citizen: Api, slot, centre) -> None:
    citizen.post("/appointments", booking(slot), headers=keyed("k-1"))
    other = SlotFactory(centre=centre, starts_at=tomorrow_at(12))

    response = citizen.post("/appointments", booking(other), headers=keyed("k-1"))

    assert response.status == 422
    assert response.code == "idempotency_key_reused"
    assert booked(other) == 0


def test_the_key_on_another_endpoint_is_refused(citizen: Api, slot) -> None:
    first = citizen.post("/appointments", booking(slot), headers=keyed("k-1"))

    response = citizen.post(f"/appointments/{first.body['id']}/cancel", headers=keyed("k-1"))

    assert response.code == "idempotency_key_reused"
    assert Appointment.objects.get().status == AppointmentStatus.BOOKED


def test_the_replay_stands_even_after_the_appointment_changed(citizen: Api, person, slot) -> None:
    first = citizen.post("/appointments", booking(slot), headers=keyed("k-1"))
    services.cancel_appointment(person=person, appointment_id=first.body["id"])

    # The place is free again and dose 1 bookable: still, the key replays, it never books.
    again = citizen.post("/appointments", booking(slot), headers=keyed("k-1"))

    assert the_answer(again) == the_answer(first)
    assert Appointment.objects.count() == 1
    assert booked(slot) == 0


def test_keys_belong_to_one_account(citizen: Api, other_citizen: Api, slot) -> None:
    mine = citizen.post("/appointments", booking(slot), headers=keyed("shared"))
    theirs = other_citizen.post("/appointments", booking(slot), headers=keyed("shared"))

    assert mine.status == theirs.status == 201
    assert mine.body["id"] != theirs.body["id"]
    assert booked(slot) == 2


def test_a_failed_request_records_nothing_and_may_be_retried(
    citizen: Api, other_person, centre
) -> None:
    last = SlotFactory(centre=centre, capacity=1)
    taken = services.book_appointment(person=other_person, slot_id=last.pk, dose_number=1)

    refused = citizen.post("/appointments", booking(last), headers=keyed("k-1"))
    services.cancel_appointment(person=other_person, appointment_id=taken.pk)
    retried = citizen.post("/appointments", booking(last), headers=keyed("k-1"))

    assert refused.code == "slot_full"
    assert retried.status == 201
    assert "Idempotent-Replayed" not in retried.headers


def test_a_key_expires_after_24_hours(citizen: Api, person, slot) -> None:
    first = citizen.post("/appointments", booking(slot), headers=keyed("k-1"))
    services.cancel_appointment(person=person, appointment_id=first.body["id"])

    with time_machine.travel(dt.timedelta(hours=23, minutes=59)):
        # (Tokens live 12 hours: the client signs in again.)
        within_a_day = Api(token_for(person.user)).post(
            "/appointments", booking(slot), headers=keyed("k-1")
        )
    later = SlotFactory(centre=slot.centre, starts_at=tomorrow_at(10) + dt.timedelta(days=2))
    with time_machine.travel(dt.timedelta(hours=24, seconds=1)):
        after_a_day = Api(token_for(person.user)).post(
            "/appointments", booking(later), headers=keyed("k-1")
        )

    assert the_answer(within_a_day) == the_answer(first)
    assert after_a_day.status == 201
    assert after_a_day.body["slot"]["id"] == later.pk
    assert IdempotencyRecord.objects.get().key == "k-1"


def test_cancelling_again_with_the_key_replays(citizen: Api, appointment, slot) -> None:
    path = f"/appointments/{appointment.pk}/cancel"
    first = citizen.post(path, headers=keyed("cancel-1"))

    again = citizen.post(path, headers=keyed("cancel-1"))
    unkeyed = citizen.post(path)

    assert first.status == again.status == 200
    assert the_answer(again) == the_answer(first)
    assert again.body["status"] == "cancelled"
    assert unkeyed.code == "not_cancellable"
    assert booked(slot) == 0


def test_rescheduling_again_with_the_key_replays(citizen: Api, appointment, slot) -> None:
    later = SlotFactory(centre=slot.centre, starts_at=tomorrow_at(12))
    path = f"/appointments/{appointment.pk}/reschedule"
    first = citizen.post(path, {"slot_id": later.pk}, headers=keyed("move-1"))

    again = citizen.post(path, {"slot_id": later.pk}, headers=keyed("move-1"))

    assert first.status == again.status == 200
    assert the_answer(again) == the_answer(first)
    assert (booked(slot), booked(later)) == (0, 1)


@pytest.mark.parametrize("key", ["", "x" * 256, "with space", "ünïcode"])
def test_a_malformed_key_is_a_422(citizen: Api, slot, key: str) -> None:
    response = citizen.post("/appointments", booking(slot), headers=keyed(key))

    assert response.status == 422
    assert response.code == "validation_error"
    assert response.body["errors"][0]["location"] == "header"
    assert booked(slot) == 0


def test_expired_records_are_purged(citizen: Api, person, slot, centre) -> None:
    citizen.post("/appointments", booking(slot), headers=keyed("old"))
    second_dose = SlotFactory(centre=centre, starts_at=tomorrow_at(9) + dt.timedelta(days=30))
    with time_machine.travel(dt.timedelta(hours=23)):
        Api(token_for(person.user)).post(
            "/appointments", booking(second_dose, 2), headers=keyed("recent")
        )

    with time_machine.travel(dt.timedelta(hours=24, seconds=1)):
        call_command("purge_api_records")

    assert list(IdempotencyRecord.objects.values_list("key", flat=True)) == ["recent"]


# --- racing --------------------------------------------------------------------------------

BARRIER_TIMEOUT_S = 30
JOIN_TIMEOUT_S = 60


def race(calls: list[Callable[[], Response]]) -> list[Response]:
    """Each call in its own thread and database connection, released together."""
    barrier = threading.Barrier(len(calls), timeout=BARRIER_TIMEOUT_S)
    results: list[Response | None] = [None] * len(calls)

    def run(index: int) -> None:
        try:
            barrier.wait()
            results[index] = calls[index]()
        except Exception:
            traceback.print_exc()
        finally:
            connection.close()

    threads = [threading.Thread(target=run, args=(index,)) for index in range(len(calls))]
    connection.close()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=JOIN_TIMEOUT_S)
    assert not any(thread.is_alive() for thread in threads), "a racer is stuck (deadlock?)"
    assert all(result is not None for result in results), "a racer failed: see its traceback"
    return [result for result in results if result is not None]


@pytest.mark.race
@pytest.mark.django_db(transaction=True)
def test_identical_keyed_requests_at_the_same_instant_book_once(citizen: Api, slot) -> None:
    responses = race(
        [
            lambda: citizen.post("/appointments", booking(slot), headers=keyed("race"))
            for _ in range(8)
        ]
    )

    assert [response.status for response in responses] == [201] * 8
    assert all(the_answer(response) == the_answer(responses[0]) for response in responses)
    replayed = Counter(response.headers.get("Idempotent-Replayed") for response in responses)
    assert replayed == {None: 1, "true": 7}
    assert Appointment.objects.count() == 1
    assert booked(slot) == 1
    assert IdempotencyRecord.objects.count() == 1


@pytest.mark.race
@pytest.mark.django_db(transaction=True)
def test_one_key_for_two_bookings_at_once_books_one(citizen: Api, slot, centre) -> None:
    other = SlotFactory(centre=centre, starts_at=tomorrow_at(12))

    responses = race(
        [
            lambda: citizen.post("/appointments", booking(slot), headers=keyed("race")),
            lambda: citizen.post("/appointments", booking(other), headers=keyed("race")),
        ]
    )

    assert sorted(response.status for response in responses) == [201, 422]
    assert {response.code for response in responses} == {None, "idempotency_key_reused"}
    assert Appointment.objects.count() == 1
    assert booked(slot) + booked(other) == 1


@pytest.mark.race
@pytest.mark.django_db(transaction=True)
def test_identical_keyed_cancellations_at_once_cancel_once(citizen: Api, appointment, slot) -> None:
    path = f"/appointments/{appointment.pk}/cancel"

    responses = race([lambda: citizen.post(path, headers=keyed("race")) for _ in range(4)])

    assert [response.status for response in responses] == [200] * 4
    assert all(the_answer(response) == the_answer(responses[0]) for response in responses)
    assert booked(slot) == 0
