"""Booking for someone else: every rule applies to the person booked for, not to the
account that books; the account reaches their appointments and nobody else's."""

import datetime as dt
from pathlib import Path

import pytest
import time_machine
from django.conf import LazySettings
from django.test import Client
from django.utils import timezone

from tests.api.conftest import Api, token_for
from tests.factories import CitizenFactory, SlotFactory, VaccineFactory, staff_at
from tests.notifications.test_delivery import use_test_settings
from vaxbook.accounts import people
from vaxbook.accounts.models import Citizen, StaffRole
from vaxbook.bookings import queries, services
from vaxbook.bookings.errors import AlreadyBooked, NotEligible
from vaxbook.bookings.models import Appointment, AppointmentStatus, BookingChannel
from vaxbook.centres.models import Slot
from vaxbook.notifications.events import Event
from vaxbook.notifications.messages import render_email

pytestmark = pytest.mark.django_db


@pytest.fixture
def booker() -> Citizen:
    return CitizenFactory(full_name="Ada Lovelace", date_of_birth=dt.date(1990, 5, 17))


@pytest.fixture
def mum(booker: Citizen) -> Citizen:
    return people.add_person(
        booker=booker.user,
        full_name="Carmen López García",
        date_of_birth=dt.date(1948, 3, 2),
        email="carmen@example.org",
    )


@pytest.fixture
def slot() -> Slot:
    return SlotFactory()


def for_relative(booker: Citizen) -> services.OnBehalf:
    return services.OnBehalf(user=booker.user, channel=BookingChannel.RELATIVE)


# --- the rules, per person -----------------------------------------------------------------


def test_a_booking_for_a_relative_is_theirs_and_says_who_booked(booker, mum, slot) -> None:
    appointment = services.book_appointment(
        person=mum, slot_id=slot.pk, dose_number=1, on_behalf=for_relative(booker)
    )

    appointment.refresh_from_db()
    assert appointment.person_id == mum.pk
    assert appointment.channel == BookingChannel.RELATIVE
    assert appointment.booked_by_id == booker.user_id


def test_the_bookers_own_dose_does_not_stop_the_relatives(booker, mum, slot) -> None:
    services.book_appointment(person=booker, slot_id=slot.pk, dose_number=1)

    theirs = services.book_appointment(
        person=mum, slot_id=slot.pk, dose_number=1, on_behalf=for_relative(booker)
    )

    assert theirs.person_id == mum.pk
    assert Appointment.objects.filter(dose_number=1).count() == 2


def test_a_relative_holds_one_live_appointment_per_dose(booker, mum, slot) -> None:
    services.book_appointment(
        person=mum, slot_id=slot.pk, dose_number=1, on_behalf=for_relative(booker)
    )
    later = SlotFactory(centre=slot.centre, starts_at=slot.starts_at + dt.timedelta(hours=2))

    with pytest.raises(AlreadyBooked):
        services.book_appointment(
            person=mum, slot_id=later.pk, dose_number=1, on_behalf=for_relative(booker)
        )


def test_a_relative_under_the_vaccines_minimum_age_is_refused(booker) -> None:
    child = people.add_person(
        booker=booker.user,
        full_name="Pablo Lovelace",
        date_of_birth=timezone.localdate() - dt.timedelta(days=365 * 8),
    )
    slot = SlotFactory(vaccine=VaccineFactory(name="Spikevax", minimum_age=18))

    with pytest.raises(NotEligible):
        services.book_appointment(
            person=child, slot_id=slot.pk, dose_number=1, on_behalf=for_relative(booker)
        )

    assert not Appointment.objects.exists()


# --- confirmations -----------------------------------------------------------------------


def test_the_confirmation_goes_to_the_booker_and_to_the_person(
    booker, mum, slot, settings: LazySettings, tmp_path: Path
) -> None:
    use_test_settings(settings, tmp_path)
    appointment = services.book_appointment(
        person=mum, slot_id=slot.pk, dose_number=1, on_behalf=for_relative(booker)
    )

    email = render_email(appointment=appointment, event=Event.BOOKED)

    assert email.to == ["carmen@example.org", booker.user.email]


def test_a_person_without_an_address_gets_the_booker_only(
    booker, slot, settings: LazySettings, tmp_path: Path
) -> None:
    use_test_settings(settings, tmp_path)
    dad = people.add_person(
        booker=booker.user, full_name="Luis López", date_of_birth=dt.date(1946, 1, 9)
    )
    appointment = services.book_appointment(
        person=dad, slot_id=slot.pk, dose_number=1, on_behalf=for_relative(booker)
    )

    assert render_email(appointment=appointment, event=Event.BOOKED).to == [booker.user.email]


# --- the pages ---------------------------------------------------------------------------


def signed_in(citizen: Citizen) -> Client:
    client = Client()
    client.force_login(citizen.user)
    return client


def test_the_booking_page_asks_whom_the_appointment_is_for(booker, mum, slot) -> None:
    page = signed_in(booker).get(f"/book/{slot.pk}/").content.decode()

    assert "Who is this appointment for?" in page
    assert "Ada Lovelace (you)" in page
    assert "Carmen López García" in page


def test_the_booking_page_books_for_the_person_chosen(booker, mum, slot) -> None:
    client = signed_in(booker)

    response = client.post(f"/book/{slot.pk}/", {"dose_number": "1", "person": str(mum.pk)})

    appointment = Appointment.objects.get()
    assert response.status_code == 302
    assert appointment.person_id == mum.pk
    assert appointment.channel == BookingChannel.RELATIVE
    listed = client.get("/appointments/").content.decode()
    assert "for Carmen López García" in listed


def test_booking_for_someone_elses_relative_is_a_404(mum, slot) -> None:
    stranger = CitizenFactory()

    response = signed_in(stranger).post(
        f"/book/{slot.pk}/", {"dose_number": "1", "person": str(mum.pk)}
    )

    assert response.status_code == 404
    assert not Appointment.objects.exists()


def test_the_booker_cancels_the_relatives_appointment_on_its_page(booker, mum, slot) -> None:
    appointment = services.book_appointment(
        person=mum, slot_id=slot.pk, dose_number=1, on_behalf=for_relative(booker)
    )

    response = signed_in(booker).post(f"/appointments/{appointment.pk}/cancel/")

    appointment.refresh_from_db()
    assert response.status_code == 302
    assert appointment.status == AppointmentStatus.CANCELLED


# --- the API -----------------------------------------------------------------------------


def test_the_api_books_for_a_person_by_their_id(booker, mum, slot) -> None:
    api = Api(token_for(booker.user))

    response = api.post(
        "/appointments", {"slot_id": slot.pk, "dose_number": 1, "person_id": mum.pk}
    )

    assert response.status == 201
    assert response.body["person_id"] == mum.pk
    assert Appointment.objects.get().channel == BookingChannel.RELATIVE
    assert [item["person_id"] for item in api.get("/appointments").body["items"]] == [mum.pk]


def test_the_api_answers_404_for_someone_elses_person(mum, slot) -> None:
    api = Api(token_for(CitizenFactory().user))

    response = api.post(
        "/appointments", {"slot_id": slot.pk, "dose_number": 1, "person_id": mum.pk}
    )

    assert response.status == 404
    assert response.code == "not_found"


def test_the_api_reschedules_a_relatives_appointment(booker, mum, slot) -> None:
    appointment = services.book_appointment(
        person=mum, slot_id=slot.pk, dose_number=1, on_behalf=for_relative(booker)
    )
    later = SlotFactory(centre=slot.centre, starts_at=slot.starts_at + dt.timedelta(hours=1))

    response = Api(token_for(booker.user)).post(
        f"/appointments/{appointment.pk}/reschedule", {"slot_id": later.pk}
    )

    assert response.status == 200
    assert response.body["slot"]["id"] == later.pk


def test_a_second_booker_of_the_same_person_sees_the_first_ones_booking(booker, slot) -> None:
    mum = people.add_person(
        booker=booker.user,
        full_name="Carmen López",
        date_of_birth=dt.date(1948, 3, 2),
        phone="+34600111222",
    )
    sibling = CitizenFactory()
    people.add_person(
        booker=sibling.user,
        full_name="Carmen López",
        date_of_birth=dt.date(1948, 3, 2),
        phone="+34600111222",
    )
    services.book_appointment(
        person=mum, slot_id=slot.pk, dose_number=1, on_behalf=for_relative(booker)
    )

    response = Api(token_for(sibling.user)).post(
        "/appointments", {"slot_id": slot.pk, "dose_number": 1, "person_id": mum.pk}
    )

    assert response.status == 409
    assert response.code == "already_booked"
    assert Api(token_for(sibling.user)).get("/appointments").body["count"] == 1


def test_the_bookers_next_dose_is_due_whatever_the_relative_holds(booker, mum, slot) -> None:
    mine = services.book_appointment(person=booker, slot_id=slot.pk, dose_number=1)
    dose_two_day = slot.starts_at + dt.timedelta(days=30)
    services.book_appointment(
        person=mum, slot_id=slot.pk, dose_number=1, on_behalf=for_relative(booker)
    )
    services.book_appointment(
        person=mum,
        slot_id=SlotFactory(centre=slot.centre, starts_at=dose_two_day).pk,
        dose_number=2,
        on_behalf=for_relative(booker),
    )
    nurse = staff_at(slot.centre, StaffRole.VACCINATOR)
    with time_machine.travel(slot.starts_at + dt.timedelta(minutes=5)):
        services.check_in(appointment_id=mine.pk, staff=nurse)
        services.record_vaccination(appointment_id=mine.pk, staff=nurse, lot_number="FF1234")

    due = queries.next_doses_due(queries.own_appointments(booker.user))

    assert list(due) == [mine.pk]
