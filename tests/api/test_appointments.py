"""A citizen's appointments through the API: book, read, cancel, reschedule, QR code and
calendar entry, with every refusal the services can give."""

import datetime as dt

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from tests.api.conftest import Api, token_for
from tests.factories import CitizenFactory, SlotFactory, tomorrow_at
from vaxbook.bookings import services
from vaxbook.bookings.models import Appointment, AppointmentStatus
from vaxbook.centres import policy
from vaxbook.centres.models import Slot
from vaxbook.credentials.qr import qr_svg
from vaxbook.credentials.tokens import issue_token, verify_token
from vaxbook.notifications.models import Message

pytestmark = pytest.mark.django_db


def booking(slot: Slot, dose_number: int = 1) -> dict[str, int]:
    return {"slot_id": slot.pk, "dose_number": dose_number}


def places_left(slot: Slot) -> int:
    slot.refresh_from_db()
    return slot.remaining


# --- booking ---------------------------------------------------------------------------


def test_booking_answers_201_with_the_signed_confirmation(citizen: Api, person, slot) -> None:
    response = citizen.post("/appointments", booking(slot))

    assert response.status == 201
    appointment = Appointment.objects.get()
    assert response.body == {
        "id": str(appointment.pk),
        "reference": appointment.reference,
        "status": "booked",
        "dose_number": 1,
        "person_id": person.pk,
        "slot": {
            "id": slot.pk,
            "starts_at": tomorrow_at(10).isoformat(),
            "ends_at": tomorrow_at(10, 10).isoformat(),
            "vaccine": {"id": slot.vaccine_id, "name": "Comirnaty"},
        },
        "centre": {
            "id": slot.centre.pk,
            "name": "Hospital Isabel Zendal",
            "address": "Calle de Alcalá 1",
            "postcode": "28014",
            "town": "Madrid",
            "phone": "",
            "latitude": 40.41831,
            "longitude": -3.70275,
            "time_zone": "Europe/Madrid",
        },
        "token": response.body["token"],
    }
    claims = verify_token(response.body["token"])
    assert (claims.reference, claims.appointment_id) == (appointment.reference, appointment.pk)
    assert claims.holder_name == "Ada Lovelace"
    assert places_left(slot) == 4
    assert appointment.person == person
    # The confirmation email is on its way, written with the booking.
    assert Message.objects.filter(appointment=appointment).exists()


def test_booking_takes_eight_statements(citizen: Api, slot, django_assert_max_num_queries) -> None:
    # This endpoint must reach hundreds of bookings a second: the token (with its user and
    # citizen profile), then in the booking's transaction the person lock with the slot,
    # their doses, the place, the appointment, its messages and their task, and the
    # idempotency record. (In a test the transaction is a savepoint: two statements more.)
    # The campaign policy is read once per process every few seconds, not per booking: read
    # it first.
    policy.current_rules()
    with django_assert_max_num_queries(8 + 2) as captured:
        response = citizen.post(
            "/appointments", booking(slot), headers={"Idempotency-Key": "count-queries"}
        )
    assert response.status == 201
    statements = [
        query["sql"] for query in captured.captured_queries if "SAVEPOINT" not in query["sql"]
    ]
    assert len(statements) == 8


def test_the_last_place_goes_once(citizen: Api, other_citizen: Api, centre) -> None:
    last = SlotFactory(centre=centre, capacity=1)

    first = citizen.post("/appointments", booking(last))
    second = other_citizen.post("/appointments", booking(last))

    assert first.status == 201
    assert second.status == 409
    assert second.code == "slot_full"
    assert second.body["title"] == "Slot full"
    assert second.content_type == "application/problem+json"
    assert places_left(last) == 0


def test_a_second_booking_of_one_dose_is_409(citizen: Api, slot, centre) -> None:
    assert citizen.post("/appointments", booking(slot)).status == 201
    other = SlotFactory(centre=centre, starts_at=tomorrow_at(12))

    response = citizen.post("/appointments", booking(other))

    assert response.status == 409
    assert response.code == "already_booked"
    assert places_left(other) == 5


def test_an_ineligible_booking_is_422_with_the_reason(citizen: Api, slot) -> None:
    response = citizen.post("/appointments", booking(slot, dose_number=2))

    assert response.status == 422
    assert response.code == "not_eligible"
    assert "Book dose 1 before dose 2" in response.body["detail"]
    assert not Appointment.objects.exists()


def test_too_young_is_not_eligible_and_says_from_when(centre) -> None:
    child = CitizenFactory(date_of_birth=tomorrow_at(10).date() - dt.timedelta(days=365 * 8))
    api = Api(token_for(child.user))

    response = api.post("/appointments", booking(SlotFactory(centre=centre)))

    assert response.code == "not_eligible"
    assert "12 or over" in response.body["detail"]


@pytest.mark.parametrize("how", ["missing", "closed", "started"])
def test_an_unbookable_slot_is_409_slot_unavailable(citizen: Api, centre, how: str) -> None:
    slot_id = 999_999
    if how == "closed":
        slot_id = SlotFactory(centre=centre, is_open=False).pk
    elif how == "started":
        started = tomorrow_at(10) - dt.timedelta(days=2)
        slot_id = SlotFactory(centre=centre, starts_at=started).pk

    response = citizen.post("/appointments", {"slot_id": slot_id, "dose_number": 1})

    assert response.status == 409
    assert response.code == "slot_unavailable"
    assert not Appointment.objects.exists()


def test_staff_without_a_citizen_profile_cannot_book(staff: Api, slot) -> None:
    response = staff.post("/appointments", booking(slot))

    assert response.status == 403
    assert response.code == "citizen_required"
    assert places_left(slot) == 5


# --- reading ---------------------------------------------------------------------------


def test_the_list_holds_only_ones_own_appointments(
    citizen: Api, person, other_person, slot, centre
) -> None:
    later = SlotFactory(centre=centre, starts_at=tomorrow_at(10) + dt.timedelta(days=30))
    first = services.book_appointment(person=person, slot_id=slot.pk, dose_number=1)
    second = services.book_appointment(person=person, slot_id=later.pk, dose_number=2)
    services.book_appointment(person=other_person, slot_id=slot.pk, dose_number=1)

    response = citizen.get("/appointments")

    assert response.status == 200
    assert response.body["count"] == 2
    assert [item["id"] for item in response.body["items"]] == [str(first.pk), str(second.pk)]
    assert "no-store" in response.headers["Cache-Control"]


def test_one_appointment(citizen: Api, appointment) -> None:
    response = citizen.get(f"/appointments/{appointment.pk}")

    assert response.status == 200
    assert response.body["reference"] == appointment.reference
    assert verify_token(response.body["token"]).appointment_id == appointment.pk


def test_someone_elses_appointment_is_not_found(other_citizen: Api, appointment) -> None:
    for path in ["", "/qr.svg", "/calendar.ics"]:
        response = other_citizen.get(f"/appointments/{appointment.pk}{path}")
        assert response.status == 404, path
        assert response.code == "not_found"


def test_a_cancelled_appointment_has_no_token(citizen: Api, person, appointment) -> None:
    services.cancel_appointment(person=person, appointment_id=appointment.pk)

    response = citizen.get(f"/appointments/{appointment.pk}")

    assert response.body["status"] == "cancelled"
    assert response.body["token"] is None
    assert citizen.get(f"/appointments/{appointment.pk}/qr.svg").code == "not_found"


def test_the_qr_code_carries_the_confirmation(citizen: Api, appointment, monkeypatch) -> None:
    # ES256 signatures are randomised: two tokens of one appointment always differ.
    issued: list[str] = []

    def issue(appointment: Appointment) -> str:
        issued.append(issue_token(appointment))
        return issued[-1]

    monkeypatch.setattr("vaxbook.api.schemas.issue_token", issue)

    response = citizen.get(f"/appointments/{appointment.pk}/qr.svg")

    [token] = issued
    assert verify_token(token).appointment_id == appointment.pk
    expected = qr_svg(token)

    assert response.status == 200
    assert response.content_type == "image/svg+xml"
    assert response.raw.decode() == expected
    assert "no-store" in response.headers["Cache-Control"]


def test_the_calendar_entry(citizen: Api, appointment) -> None:
    response = citizen.get(f"/appointments/{appointment.pk}/calendar.ics")

    assert response.status == 200
    assert response.content_type == "text/calendar"
    assert f"{appointment.reference}@vaxbook".encode() in response.raw
    assert b"METHOD:PUBLISH" in response.raw
    assert response.headers["Content-Disposition"] == (
        f'attachment; filename="vaccination-{appointment.reference}.ics"'
    )


# --- cancelling ------------------------------------------------------------------------


def test_cancelling_frees_the_place(citizen: Api, appointment, slot) -> None:
    response = citizen.post(f"/appointments/{appointment.pk}/cancel")

    assert response.status == 200
    assert response.body["status"] == "cancelled"
    assert response.body["token"] is None
    assert places_left(slot) == 5


def test_cancelling_twice_is_409(citizen: Api, appointment) -> None:
    citizen.post(f"/appointments/{appointment.pk}/cancel")

    response = citizen.post(f"/appointments/{appointment.pk}/cancel")

    assert response.status == 409
    assert response.code == "not_cancellable"


def test_cancelling_someone_elses_appointment_is_not_found(
    other_citizen: Api, appointment, slot
) -> None:
    response = other_citizen.post(f"/appointments/{appointment.pk}/cancel")

    assert response.status == 404
    assert response.code == "not_found"
    appointment.refresh_from_db()
    assert appointment.status == AppointmentStatus.BOOKED
    assert places_left(slot) == 4


# --- rescheduling ----------------------------------------------------------------------


def test_rescheduling_moves_the_appointment_and_keeps_its_reference(
    citizen: Api, appointment, slot, centre
) -> None:
    later = SlotFactory(centre=centre, starts_at=tomorrow_at(12))

    response = citizen.post(f"/appointments/{appointment.pk}/reschedule", {"slot_id": later.pk})

    assert response.status == 200
    assert response.body["reference"] == appointment.reference
    assert response.body["slot"]["id"] == later.pk
    assert response.body["slot"]["starts_at"] == tomorrow_at(12).isoformat()
    assert verify_token(response.body["token"]).time == dt.time(12, 0)
    assert (places_left(slot), places_left(later)) == (5, 4)


def test_a_failed_reschedule_keeps_the_old_place(citizen: Api, appointment, slot, centre) -> None:
    full = SlotFactory(centre=centre, starts_at=tomorrow_at(12), capacity=1, booked=1)

    response = citizen.post(f"/appointments/{appointment.pk}/reschedule", {"slot_id": full.pk})

    assert response.status == 409
    assert response.code == "slot_full"
    appointment.refresh_from_db()
    assert appointment.slot_id == slot.pk
    assert (places_left(slot), places_left(full)) == (4, 0)


def test_rescheduling_to_the_same_slot_is_409(citizen: Api, appointment, slot) -> None:
    response = citizen.post(f"/appointments/{appointment.pk}/reschedule", {"slot_id": slot.pk})

    assert response.code == "already_booked"


def test_rescheduling_someone_elses_appointment_is_not_found(
    other_citizen: Api, appointment, centre
) -> None:
    later = SlotFactory(centre=centre, starts_at=tomorrow_at(12))

    response = other_citizen.post(
        f"/appointments/{appointment.pk}/reschedule", {"slot_id": later.pk}
    )

    assert response.code == "not_found"
    assert places_left(later) == 5


def test_no_cache_keeps_an_answer_about_a_booking(citizen: Api, slot, centre) -> None:
    later = SlotFactory(centre=centre, starts_at=tomorrow_at(12))
    keyed = {"Idempotency-Key": "booking-1"}

    booked = citizen.post("/appointments", booking(slot), headers=keyed)
    replayed = citizen.post("/appointments", booking(slot), headers=keyed)
    refused = citizen.post("/appointments", booking(later))
    moved = citizen.post(f"/appointments/{booked.body['id']}/reschedule", {"slot_id": later.pk})
    cancelled = citizen.post(f"/appointments/{booked.body['id']}/cancel")

    answers = [booked, replayed, refused, moved, cancelled]
    assert [answer.status for answer in answers] == [201, 201, 409, 200, 200]
    assert replayed.headers["Idempotent-Replayed"] == "true"
    for answer in answers:
        assert "no-store" in answer.headers["Cache-Control"]
        assert "private" in answer.headers["Cache-Control"]


def test_no_query_is_made_for_a_request_without_a_token(anonymous: Api, slot) -> None:
    with CaptureQueriesContext(connection) as queries:
        response = anonymous.post("/appointments", booking(slot))
    assert response.code == "not_authenticated"
    assert len(queries) == 0


def test_rescheduling_to_another_vaccine_is_422_and_keeps_the_old_place(
    citizen: Api, appointment, slot, centre
) -> None:
    other = SlotFactory(
        centre=centre,
        starts_at=tomorrow_at(12),
        vaccine__name="Spikevax",
        vaccine__manufacturer="Moderna",
        vaccine__cvx_code="207",
    )
    messages = Message.objects.count()

    response = citizen.post(f"/appointments/{appointment.pk}/reschedule", {"slot_id": other.pk})

    assert response.status == 422
    assert response.code == "not_eligible"
    assert "same vaccine (Comirnaty)" in response.body["detail"]
    appointment.refresh_from_db()
    assert (appointment.slot_id, appointment.status) == (slot.pk, AppointmentStatus.BOOKED)
    assert (places_left(slot), places_left(other)) == (4, 5)
    assert Message.objects.count() == messages
