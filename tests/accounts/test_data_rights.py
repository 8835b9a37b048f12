"""A person downloads everything kept about them, and deletes their account: what is to come
is cancelled (places given back), what names them is erased, the doses given stay without
naming them."""

import datetime as dt
import json

import pytest
import time_machine
from django.test import Client
from django.utils import timezone

from tests.api.conftest import Api, token_for
from tests.factories import CitizenFactory, SlotFactory, staff_at
from vaxbook.accounts.models import Citizen, User
from vaxbook.api.models import ApiToken, IdempotencyRecord
from vaxbook.bookings import services
from vaxbook.bookings.models import AppointmentStatus, VaccinationRecord
from vaxbook.centres.models import Slot
from vaxbook.notifications.models import Message, MessageStatus

pytestmark = pytest.mark.django_db

PASSWORD = "a-long-test-password"


@pytest.fixture
def person() -> Citizen:
    return CitizenFactory(full_name="Ada Lovelace", phone="+34600111222")


def vaccinated_once(person: Citizen) -> tuple[Slot, VaccinationRecord]:
    """A first dose, given at its slot's time and recorded by the centre's nurse."""
    slot = SlotFactory(starts_at=timezone.now() + dt.timedelta(minutes=30))
    appointment = services.book_appointment(person=person, slot_id=slot.pk, dose_number=1)
    nurse = staff_at(slot.centre)
    with time_machine.travel(slot.starts_at + dt.timedelta(minutes=1)):
        services.check_in(appointment_id=appointment.pk, staff=nurse)
        record = services.record_vaccination(
            appointment_id=appointment.pk, staff=nurse, lot_number="FF1234"
        )
    return slot, record


def signed_in(person: Citizen) -> Client:
    client = Client()
    client.force_login(person.user)
    return client


def test_the_download_holds_the_profile_and_every_appointment(person) -> None:
    slot = SlotFactory()
    booked = services.book_appointment(person=person, slot_id=slot.pk, dose_number=1)
    CitizenFactory()  # someone else, whose data must not appear

    response = signed_in(person).get("/account/data.json")

    assert response.status_code == 200
    assert response["Content-Disposition"] == 'attachment; filename="vaxbook-my-data.json"'
    assert "no-store" in response["Cache-Control"]
    data = json.loads(response.content)
    assert data["account"]["email"] == person.user.email
    assert data["citizen"]["full_name"] == "Ada Lovelace"
    assert data["citizen"]["phone"] == "+34600111222"
    assert [a["reference"] for a in data["appointments"]] == [booked.reference]
    assert data["appointments"][0]["messages"][0]["event"] == "booked"


def test_the_api_gives_the_same_copy(person) -> None:
    services.book_appointment(person=person, slot_id=SlotFactory().pk, dose_number=1)

    response = Api(token_for(person.user, second_factor=False)).get("/me/data")

    assert response.status == 200
    assert response.body["citizen"]["date_of_birth"] == "1980-06-15"
    assert len(response.body["appointments"]) == 1


def test_deleting_the_account_cancels_what_is_to_come_and_erases_the_name(person) -> None:
    given_slot, record = vaccinated_once(person)
    slot = SlotFactory(
        centre=given_slot.centre,
        vaccine=given_slot.vaccine,
        starts_at=timezone.now() + dt.timedelta(days=30),
        capacity=3,
    )
    second = services.book_appointment(person=person, slot_id=slot.pk, dose_number=2)
    slot.refresh_from_db()
    assert slot.booked == 1
    email = person.user.email

    page = signed_in(person).post("/account/delete/", {"password": PASSWORD})

    assert page.status_code == 200
    assert "Your account has been deleted" in page.content.decode()
    slot.refresh_from_db()
    assert slot.booked == 0  # the place went back
    second.refresh_from_db()
    assert second.status == AppointmentStatus.CANCELLED
    person.refresh_from_db()
    assert person.full_name == "[erased]"
    assert (person.phone, person.date_of_birth) == ("", dt.date(1980, 1, 1))
    user = User.objects.get(pk=person.user_id)
    assert not user.is_active
    assert not user.has_usable_password()
    assert not User.objects.filter(email=email).exists()
    # The register keeps the dose given.
    assert VaccinationRecord.objects.get(pk=record.pk).lot_number == "FF1234"
    # Nothing more goes out to the person.
    assert not Message.objects.filter(status=MessageStatus.PENDING).exists()
    assert not Client().login(username=email, password=PASSWORD)


def test_a_wrong_password_deletes_nothing(person) -> None:
    slot = SlotFactory()
    services.book_appointment(person=person, slot_id=slot.pk, dose_number=1)

    page = signed_in(person).post("/account/delete/", {"password": "not-my-password"})

    assert page.status_code == 400
    assert "That password is not right." in page.content.decode()
    person.refresh_from_db()
    assert person.full_name == "Ada Lovelace"
    slot.refresh_from_db()
    assert slot.booked == 1


def test_deleting_through_the_api_revokes_every_token_and_stored_answer(person) -> None:
    token = token_for(person.user, second_factor=False)
    api = Api(token)
    api.post(
        "/appointments",
        {"slot_id": SlotFactory().pk, "dose_number": 1},
        headers={"Idempotency-Key": "first-booking"},
    )
    assert IdempotencyRecord.objects.filter(user=person.user).exists()

    response = api.post("/me/delete", {"password": PASSWORD})

    assert response.status == 200
    assert response.body == {"cancelled": 1}
    assert not ApiToken.objects.filter(user=person.user).exists()
    assert not IdempotencyRecord.objects.filter(user=person.user).exists()
    assert api.get("/me").status == 401


def test_guesses_at_the_accounts_sign_in_do_not_stop_its_owner_deleting_it(
    person, settings
) -> None:
    settings.RATE_LIMITS = {**settings.RATE_LIMITS, "sign_in_account": "2/m"}
    for _ in range(3):
        Client().post("/sign-in/", {"username": person.user.email, "password": "guess"})
    assert Api().post("/auth/token", {"email": person.user.email, "password": "x"}).status == 429
    api = Api(token_for(person.user, second_factor=False))

    wrong = signed_in(person).post("/account/delete/", {"password": "not-my-password"})
    right = api.post("/me/delete", {"password": PASSWORD})

    assert wrong.status_code == 400
    assert right.status == 200


def test_password_confirmations_are_limited_per_account(person, settings) -> None:
    settings.RATE_LIMITS = {**settings.RATE_LIMITS, "sign_in_account": "2/m"}
    someone_else = CitizenFactory()
    signed_in(someone_else).post("/account/delete/", {"password": "nope"})
    page = signed_in(person)

    statuses = [page.post("/account/delete/", {"password": "nope"}).status_code for _ in range(3)]

    assert statuses == [400, 400, 429]


def test_the_api_refuses_a_wrong_password_with_a_problem(person) -> None:
    response = Api(token_for(person.user, second_factor=False)).post(
        "/me/delete", {"password": "nope"}
    )

    assert response.status == 403
    assert response.code == "erasure_refused"


def test_staff_accounts_are_not_deleted_here(centre) -> None:
    nurse = staff_at(centre)
    client = Client()
    client.force_login(nurse)

    response = Api(token_for(nurse)).post("/me/delete", {"password": PASSWORD})

    assert response.code == "erasure_refused"
    nurse.refresh_from_db()
    assert nurse.is_active


def test_an_appointment_that_has_started_stops_the_deletion(person) -> None:
    slot = SlotFactory(starts_at=timezone.now() + dt.timedelta(minutes=30))
    services.book_appointment(person=person, slot_id=slot.pk, dose_number=1)

    with time_machine.travel(slot.starts_at + dt.timedelta(minutes=1)):
        response = Api(token_for(person.user, second_factor=False)).post(
            "/me/delete", {"password": PASSWORD}
        )

    assert response.code == "erasure_refused"
    assert "has started" in response.body["detail"]
    slot.refresh_from_db()
    assert slot.booked == 1
    person.refresh_from_db()
    assert person.full_name == "Ada Lovelace"


def test_the_deletion_page_speaks_spanish(person) -> None:
    client = signed_in(person)

    page = client.get("/account/delete/", HTTP_ACCEPT_LANGUAGE="es")

    assert "Eliminar su cuenta" in page.content.decode()
    assert "solo se conserva el año" in page.content.decode()
