import datetime as dt

import pytest
from django.test import Client

from tests.factories import CitizenFactory, SlotFactory, UserFactory, tomorrow_at
from vaxbook.bookings.models import Appointment
from vaxbook.centres.models import Slot

pytestmark = pytest.mark.django_db


@pytest.fixture
def citizen_client():
    person = CitizenFactory()
    client = Client()
    client.force_login(person.user)
    return person, client


def test_check_your_answers_then_one_post_books_and_shows_the_confirmation(citizen_client):
    person, client = citizen_client
    slot = SlotFactory()
    check = client.get(f"/book/{slot.pk}/")
    assert check.status_code == 200
    assert "Check your appointment" in check.text

    response = client.post(f"/book/{slot.pk}/", {"dose_number": "1"}, follow=True)

    appointment = Appointment.objects.get(person=person)
    assert response.redirect_chain[-1][0] == f"/appointments/{appointment.pk}/"
    assert appointment.display_reference in response.text
    assert Slot.objects.get(pk=slot.pk).booked == 1


def test_a_double_click_on_confirm_books_once(citizen_client):
    person, client = citizen_client
    slot = SlotFactory()
    client.post(f"/book/{slot.pk}/", {"dose_number": "1"})
    second = client.post(f"/book/{slot.pk}/", {"dose_number": "1"})
    assert second.status_code == 409
    assert "already have an appointment" in second.text
    assert Appointment.objects.filter(person=person).count() == 1


def test_a_place_taken_meanwhile_says_so_and_offers_other_times(citizen_client):
    _, client = citizen_client
    full = SlotFactory(capacity=1, booked=1, starts_at=tomorrow_at(10))
    other = SlotFactory(centre=full.centre, starts_at=tomorrow_at(12))
    response = client.post(f"/book/{full.pk}/", {"dose_number": "1"})
    assert response.status_code == 409
    assert "fully booked" in response.text
    assert f"/book/{other.pk}/" in response.text


@pytest.mark.parametrize("dose", ["7", "0", "-1", "x", ""])
def test_a_tampered_dose_number_gets_a_clear_error_and_no_booking(citizen_client, dose):
    _, client = citizen_client
    slot = SlotFactory()
    response = client.post(f"/book/{slot.pk}/", {"dose_number": dose})
    assert response.status_code == 400
    assert "Choose which dose" in response.text
    assert not Appointment.objects.exists()


def test_a_slot_that_does_not_exist_is_404(citizen_client):
    _, client = citizen_client
    assert client.post("/book/999999/", {"dose_number": "1"}).status_code == 404


def test_dose_two_without_dose_one_is_refused_with_the_reason(citizen_client):
    _, client = citizen_client
    response = client.post(f"/book/{SlotFactory().pk}/", {"dose_number": "2"})
    assert response.status_code == 409
    assert "Book dose 1 before dose 2" in response.text


def test_an_account_without_a_citizen_profile_cannot_book():
    client = Client()
    client.force_login(UserFactory())
    assert client.post(f"/book/{SlotFactory().pk}/", {"dose_number": "1"}).status_code == 403


def test_booking_needs_a_csrf_token(citizen_client):
    person, _ = citizen_client
    client = Client(enforce_csrf_checks=True)
    client.force_login(person.user)
    assert client.post(f"/book/{SlotFactory().pk}/", {"dose_number": "1"}).status_code == 403
    assert not Appointment.objects.exists()


def test_cancel_asks_first_then_frees_the_place(citizen_client):
    person, client = citizen_client
    slot = SlotFactory()
    client.post(f"/book/{slot.pk}/", {"dose_number": "1"})
    appointment = Appointment.objects.get(person=person)

    ask = client.get(f"/appointments/{appointment.pk}/cancel/")
    assert ask.status_code == 200
    assert Slot.objects.get(pk=slot.pk).booked == 1

    response = client.post(f"/appointments/{appointment.pk}/cancel/", follow=True)
    assert "Cancelled" in response.text
    assert Slot.objects.get(pk=slot.pk).booked == 0


def test_cancelling_twice_says_why_and_changes_nothing(citizen_client):
    person, client = citizen_client
    slot = SlotFactory()
    client.post(f"/book/{slot.pk}/", {"dose_number": "1"})
    appointment = Appointment.objects.get(person=person)
    client.post(f"/appointments/{appointment.pk}/cancel/")
    again = client.post(f"/appointments/{appointment.pk}/cancel/")
    assert again.status_code == 409
    assert "can no longer be changed" in again.text
    assert Slot.objects.get(pk=slot.pk).booked == 0


def test_someone_elses_appointment_cannot_be_cancelled_through_the_page(citizen_client):
    _, client = citizen_client
    slot = SlotFactory()
    theirs = CitizenFactory()
    other_client = Client()
    other_client.force_login(theirs.user)
    other_client.post(f"/book/{slot.pk}/", {"dose_number": "1"})
    appointment = Appointment.objects.get(person=theirs)
    assert client.post(f"/appointments/{appointment.pk}/cancel/").status_code == 404
    assert Slot.objects.get(pk=slot.pk).booked == 1


def booked(client, person, slot) -> Appointment:
    client.post(f"/book/{slot.pk}/", {"dose_number": "1"})
    return Appointment.objects.get(person=person, status="booked")


def test_rescheduling_moves_the_place_and_keeps_the_reference(citizen_client):
    person, client = citizen_client
    slot = SlotFactory(starts_at=tomorrow_at(10))
    appointment = booked(client, person, slot)
    later = SlotFactory(centre=slot.centre, starts_at=tomorrow_at(12))
    page = client.get(f"/appointments/{appointment.pk}/reschedule/").text
    assert f'value="{later.pk}"' in page

    response = client.post(
        f"/appointments/{appointment.pk}/reschedule/", {"slot_id": later.pk}, follow=True
    )

    appointment.refresh_from_db()
    assert appointment.slot_id == later.pk
    assert appointment.display_reference in response.text
    assert Slot.objects.get(pk=slot.pk).booked == 0
    assert Slot.objects.get(pk=later.pk).booked == 1


def test_a_failed_move_keeps_the_old_appointment_and_says_why(citizen_client):
    person, client = citizen_client
    slot = SlotFactory(starts_at=tomorrow_at(10))
    appointment = booked(client, person, slot)
    full = SlotFactory(centre=slot.centre, starts_at=tomorrow_at(12), capacity=1, booked=1)

    response = client.post(f"/appointments/{appointment.pk}/reschedule/", {"slot_id": full.pk})

    assert response.status_code == 409
    assert "has not been changed" in response.text
    appointment.refresh_from_db()
    assert appointment.slot_id == slot.pk
    assert Slot.objects.get(pk=slot.pk).booked == 1


@pytest.mark.parametrize("slot_id", ["", "abc", "99999999"])
def test_a_tampered_slot_id_on_reschedule_changes_nothing(citizen_client, slot_id):
    person, client = citizen_client
    slot = SlotFactory()
    appointment = booked(client, person, slot)
    response = client.post(f"/appointments/{appointment.pk}/reschedule/", {"slot_id": slot_id})
    assert response.status_code in {400, 409}
    appointment.refresh_from_db()
    assert appointment.slot_id == slot.pk


def test_both_doses_are_proposed_at_the_interval_and_booked_together(citizen_client):
    person, client = citizen_client
    first = SlotFactory(starts_at=tomorrow_at(10))
    second = SlotFactory(centre=first.centre, starts_at=tomorrow_at(10) + dt.timedelta(days=21))
    choose = client.post(f"/book/{first.pk}/", {"dose_number": "both"}, follow=True)
    assert f'value="{second.pk}"' in choose.text

    response = client.post(
        f"/book/{first.pk}/both-doses/", {"second_slot_id": second.pk}, follow=True
    )

    doses = dict(Appointment.objects.filter(person=person).values_list("dose_number", "slot_id"))
    assert doses == {1: first.pk, 2: second.pk}
    assert response.status_code == 200


def test_a_second_dose_too_soon_books_neither(citizen_client):
    person, client = citizen_client
    first = SlotFactory(starts_at=tomorrow_at(10))
    too_soon = SlotFactory(centre=first.centre, starts_at=tomorrow_at(10) + dt.timedelta(days=5))
    response = client.post(f"/book/{first.pk}/both-doses/", {"second_slot_id": too_soon.pk})
    assert response.status_code == 409
    assert "Nothing has been booked" in response.text
    assert not Appointment.objects.filter(person=person).exists()
    assert Slot.objects.get(pk=first.pk).booked == 0
