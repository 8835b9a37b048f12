"""The phone line: agents find a caller by name and date of birth, create their record,
book, move and cancel for them, print a letter; every action audited with the agent and the
reason; nobody else's record in reach."""

import datetime as dt

import pytest
from django.test import Client

from tests.factories import CentreFactory, CitizenFactory, SlotFactory, UserFactory, staff_at
from tests.staff_clients import password_only_client, verified_client
from vaxbook.accounts import people, phone_line
from vaxbook.accounts.models import AuthorityRole, Citizen, StaffRole, User
from vaxbook.audit.models import AuditAction, AuditEvent
from vaxbook.bookings import services
from vaxbook.bookings.models import Appointment, AppointmentStatus, BookingChannel
from vaxbook.centres.models import Slot

pytestmark = pytest.mark.django_db

CARMEN_BORN = dt.date(1948, 3, 2)
REASON = "Caller asks to book dose 1"


@pytest.fixture
def agent() -> User:
    return UserFactory(email="agent@health.example.org", authority_role=AuthorityRole.CALL_AGENT)


@pytest.fixture
def carmen() -> Citizen:
    return CitizenFactory(
        full_name="Carmen López García", date_of_birth=CARMEN_BORN, phone="+34 600 111 222"
    )


@pytest.fixture
def slot() -> Slot:
    return SlotFactory(centre=CentreFactory(name="Hospital Isabel Zendal"))


def search(client: Client, **fields: str):
    data = {"full_name": "Carmen López García", "date_of_birth": "1948-03-02", "reason": REASON}
    return client.post("/staff/phone/", {**data, **fields})


# --- the service -------------------------------------------------------------------------


def test_a_search_finds_the_person_by_name_and_date_of_birth_and_is_audited(agent, carmen) -> None:
    CitizenFactory(full_name="Carmen López García", date_of_birth=dt.date(1950, 1, 1))

    call, found = phone_line.find_people(
        agent=agent, full_name="carmen  lópez garcía", date_of_birth=CARMEN_BORN, reason=REASON
    )

    assert found == [carmen]
    assert call.people == [carmen.pk]
    event = AuditEvent.objects.get(action=AuditAction.PHONE_SEARCH)
    assert (event.actor, event.detail["reason"], event.outcome) == (agent, REASON, "1")


def test_a_phone_given_narrows_the_search(agent, carmen) -> None:
    _call, found = phone_line.find_people(
        agent=agent,
        full_name="Carmen López García",
        date_of_birth=CARMEN_BORN,
        phone="699 000 000",
        reason=REASON,
    )
    _call, with_right_phone = phone_line.find_people(
        agent=agent,
        full_name="Carmen López García",
        date_of_birth=CARMEN_BORN,
        phone="600111222",
        reason=REASON,
    )

    assert found == []
    assert with_right_phone == [carmen]


@pytest.mark.parametrize(
    ("full_name", "date_of_birth"),
    [("Carmen", CARMEN_BORN), ("Carmen López García", None), ("", CARMEN_BORN)],
)
def test_a_search_without_enough_details_is_refused(
    agent, carmen, full_name, date_of_birth
) -> None:
    with pytest.raises(phone_line.SearchTooVague):
        phone_line.find_people(
            agent=agent, full_name=full_name, date_of_birth=date_of_birth, reason=REASON
        )

    assert not AuditEvent.objects.exists()


def test_only_a_call_agent_may_search(carmen) -> None:
    nurse = staff_at(CentreFactory(), StaffRole.MANAGER)

    with pytest.raises(services.NotPermitted):
        phone_line.find_people(
            agent=nurse, full_name="Carmen López García", date_of_birth=CARMEN_BORN, reason=REASON
        )


def test_a_person_outside_the_call_is_not_reachable(agent, carmen) -> None:
    call, _found = phone_line.find_people(
        agent=agent, full_name="Somebody Else", date_of_birth=CARMEN_BORN, reason=REASON
    )

    with pytest.raises(people.PersonNotFound):
        phone_line.person_in_call(agent=agent, call=call, person_id=carmen.pk)


def test_booking_for_a_caller_goes_through_the_rules_and_is_audited(agent, carmen, slot) -> None:
    call, _found = phone_line.find_people(
        agent=agent, full_name="Carmen López García", date_of_birth=CARMEN_BORN, reason=REASON
    )

    appointment = phone_line.book_for(
        agent=agent, call=call, person=carmen, slot_id=slot.pk, dose_number=1
    )

    appointment.refresh_from_db()
    assert (appointment.person, appointment.channel, appointment.booked_by) == (
        carmen,
        BookingChannel.PHONE_LINE,
        agent,
    )
    event = AuditEvent.objects.get(action=AuditAction.PHONE_BOOKING)
    assert (event.actor, event.appointment_id, event.detail["reason"]) == (
        agent,
        appointment.pk,
        REASON,
    )
    with pytest.raises(services.AlreadyBooked):
        phone_line.book_for(agent=agent, call=call, person=carmen, slot_id=slot.pk, dose_number=1)
    assert AuditEvent.objects.filter(action=AuditAction.PHONE_BOOKING).count() == 1


def test_a_record_created_for_a_caller_has_no_account_and_joins_the_call(agent) -> None:
    call, _found = phone_line.find_people(
        agent=agent, full_name="Luis Pérez Ruiz", date_of_birth=dt.date(1941, 7, 30), reason=REASON
    )

    person = phone_line.create_person(
        agent=agent,
        call=call,
        full_name="Luis Pérez Ruiz",
        date_of_birth=dt.date(1941, 7, 30),
        phone="600 222 333",
    )

    assert person.user_id is None
    assert call.people == [person.pk]
    assert (
        AuditEvent.objects.get(action=AuditAction.PHONE_RECORD_CREATED).detail["person_id"]
        == person.pk
    )


# --- the pages ---------------------------------------------------------------------------


def test_the_agent_finds_books_and_prints_a_letter(agent, carmen, slot) -> None:
    client = verified_client(agent)

    found = search(client)
    person_page = client.get(f"/staff/phone/people/{carmen.pk}/", {"q": "Madrid"})
    booked = client.post(
        f"/staff/phone/people/{carmen.pk}/centres/{slot.centre_id}/?date={slot.local_date}",
        {"slot_id": slot.pk, "dose_number": 1},
    )
    appointment = Appointment.objects.get()
    letter = client.get(f"/staff/phone/appointments/{appointment.pk}/letter/")

    assert found.status_code == 200
    assert "Carmen López García" in found.content.decode()
    assert "••• 222" in found.content.decode()
    assert "+34 600 111 222" not in found.content.decode()
    assert "Hospital Isabel Zendal" in person_page.content.decode()
    assert booked.status_code == 302
    assert appointment.channel == BookingChannel.PHONE_LINE
    assert letter.status_code == 200
    assert appointment.display_reference in letter.content.decode()
    assert AuditEvent.objects.filter(action=AuditAction.PHONE_LETTER, actor=agent).count() == 1


def test_the_agent_moves_and_cancels_for_the_caller(agent, carmen, slot) -> None:
    appointment = services.book_appointment(person=carmen, slot_id=slot.pk, dose_number=1)
    later = SlotFactory(centre=slot.centre, starts_at=slot.starts_at + dt.timedelta(hours=1))
    client = verified_client(agent)
    search(client)

    moved = client.post(f"/staff/phone/appointments/{appointment.pk}/move/", {"slot_id": later.pk})
    cancelled = client.post(f"/staff/phone/appointments/{appointment.pk}/cancel/")

    appointment.refresh_from_db()
    assert (moved.status_code, cancelled.status_code) == (302, 302)
    assert (appointment.slot_id, appointment.status) == (later.pk, AppointmentStatus.CANCELLED)
    actions = set(AuditEvent.objects.filter(actor=agent).values_list("action", flat=True))
    assert {AuditAction.PHONE_RESCHEDULE, AuditAction.PHONE_CANCELLATION} <= actions


def test_a_vague_search_gets_a_clear_answer_on_the_page(agent, carmen) -> None:
    response = search(verified_client(agent), full_name="Carmen")

    assert response.status_code == 400
    assert "a search needs both" in response.content.decode()


def test_a_person_page_not_reached_by_a_search_is_a_404(agent, carmen) -> None:
    client = verified_client(agent)
    search(client, full_name="Somebody Else")

    assert client.get(f"/staff/phone/people/{carmen.pk}/").status_code == 404


def test_the_agent_creates_a_record_when_nobody_matches(agent) -> None:
    client = verified_client(agent)
    search(client, full_name="Luis Pérez Ruiz", date_of_birth="1941-07-30")

    response = client.post(
        "/staff/phone/people/new/",
        {"full_name": "Luis Pérez Ruiz", "date_of_birth": "1941-07-30", "phone": ""},
    )

    person = Citizen.objects.get(full_name="Luis Pérez Ruiz")
    assert response.status_code == 302
    assert response["Location"] == f"/staff/phone/people/{person.pk}/"


@pytest.mark.parametrize("who", ["citizen", "nurse", "agent_without_the_code"])
def test_the_phone_line_is_a_404_for_anyone_but_a_verified_agent(who, agent) -> None:
    if who == "citizen":
        client = Client()
        client.force_login(CitizenFactory().user)
    elif who == "nurse":
        client = verified_client(staff_at(CentreFactory(), StaffRole.VACCINATOR))
    else:
        client = password_only_client(agent)

    assert client.get("/staff/phone/").status_code == 404


def test_the_phone_line_sends_the_signed_out_to_the_staff_sign_in() -> None:
    response = Client().get("/staff/phone/")

    assert response.status_code == 302
    assert response["Location"].startswith("/staff/sign-in/")
