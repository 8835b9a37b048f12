import datetime as dt
import re
from decimal import Decimal

import pytest
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext

from tests.factories import (
    CentreFactory,
    CitizenFactory,
    SlotFactory,
    UserFactory,
    VaccineFactory,
    staff_at,
    tomorrow_at,
)
from tests.helpers import in_spanish
from vaxbook.bookings import queries as booking_queries
from vaxbook.bookings import services
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


def test_a_double_click_on_confirm_books_once_and_both_clicks_land_on_the_confirmation(
    citizen_client,
):
    person, client = citizen_client
    slot = SlotFactory()
    first = client.post(f"/book/{slot.pk}/", {"dose_number": "1"})
    second = client.post(f"/book/{slot.pk}/", {"dose_number": "1"})
    appointment = Appointment.objects.get(person=person)
    assert first["Location"] == second["Location"] == f"/appointments/{appointment.pk}/"
    assert Slot.objects.get(pk=slot.pk).booked == 1


def slot_reads(queries: CaptureQueriesContext) -> int:
    return sum(
        bool(re.search(r'\bFROM "?centres_slot\b', query["sql"]))
        for query in queries.captured_queries
    )


def test_booking_spends_one_statement_on_the_slot(citizen_client):
    person, client = citizen_client
    slot = SlotFactory()
    with CaptureQueriesContext(connection) as queries:
        response = client.post(f"/book/{slot.pk}/", {"dose_number": "1"})
    assert response.status_code == 302
    assert Appointment.objects.get(person=person).slot_id == slot.pk
    # The page reads it on its own; the booking reads it again with the person lock.
    assert slot_reads(queries) == 1
    with_the_lock = [q for q in queries.captured_queries if "LEFT JOIN centres_slot" in q["sql"]]
    assert len(with_the_lock) == 1
    assert "accounts_citizen" in with_the_lock[0]["sql"]


def test_a_second_click_finds_the_first_booking_with_one_query(
    django_assert_num_queries,
):
    person = CitizenFactory()
    slot = SlotFactory(starts_at=tomorrow_at(10))
    other = SlotFactory(centre=slot.centre, starts_at=tomorrow_at(11))
    called_off = services.book_appointment(person=person, slot_id=slot.pk, dose_number=1)
    services.cancel_appointment(person=person, appointment_id=called_off.pk)
    live = services.book_appointment(person=person, slot_id=other.pk, dose_number=1)
    services.book_appointment(person=CitizenFactory(), slot_id=other.pk, dose_number=1)

    with django_assert_num_queries(1):
        found = booking_queries.live_appointment_id(person, slot_id=other.pk, dose_number=1)

    assert found == live.pk
    assert booking_queries.live_appointment_id(person, slot_id=slot.pk, dose_number=1) is None
    assert booking_queries.live_appointment_id(person, slot_id=other.pk, dose_number=2) is None


def test_a_click_on_a_slot_of_a_cancelled_booking_does_not_land_on_it(citizen_client):
    person, client = citizen_client
    slot = SlotFactory(starts_at=tomorrow_at(10))
    other = SlotFactory(centre=slot.centre, starts_at=tomorrow_at(11))
    client.post(f"/book/{slot.pk}/", {"dose_number": "1"})
    client.post(f"/appointments/{Appointment.objects.get(person=person).pk}/cancel/")
    client.post(f"/book/{other.pk}/", {"dose_number": "1"})

    again = client.post(f"/book/{slot.pk}/", {"dose_number": "1"})

    assert again.status_code == 409
    assert "already have an appointment" in again.text
    assert Slot.objects.get(pk=slot.pk).booked == 0


def test_the_same_dose_at_another_time_is_refused_with_the_reason(citizen_client):
    person, client = citizen_client
    slot = SlotFactory(starts_at=tomorrow_at(10))
    other = SlotFactory(centre=slot.centre, starts_at=tomorrow_at(11))
    client.post(f"/book/{slot.pk}/", {"dose_number": "1"})
    second = client.post(f"/book/{other.pk}/", {"dose_number": "1"})
    assert second.status_code == 409
    assert "already have an appointment" in second.text
    assert Appointment.objects.filter(person=person).count() == 1
    assert Slot.objects.get(pk=other.pk).booked == 0


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


def spikevax_slot(centre, starts_at) -> Slot:
    spikevax = VaccineFactory(name="Spikevax", manufacturer="Moderna", cvx_code="207")
    return SlotFactory(centre=centre, vaccine=spikevax, starts_at=starts_at)


def test_the_reschedule_page_offers_only_times_of_the_same_vaccine(citizen_client):
    person, client = citizen_client
    slot = SlotFactory(starts_at=tomorrow_at(10))
    appointment = booked(client, person, slot)
    same = SlotFactory(centre=slot.centre, starts_at=tomorrow_at(12))
    other = spikevax_slot(slot.centre, tomorrow_at(12, 30))

    page = client.get(f"/appointments/{appointment.pk}/reschedule/").text

    assert f'value="{same.pk}"' in page
    assert f'value="{other.pk}"' not in page
    assert "Spikevax" not in page


def test_a_move_to_another_vaccine_sent_anyway_is_refused_and_says_why(citizen_client):
    person, client = citizen_client
    slot = SlotFactory(starts_at=tomorrow_at(10))
    appointment = booked(client, person, slot)
    other = spikevax_slot(slot.centre, tomorrow_at(12))
    url = f"/appointments/{appointment.pk}/reschedule/"

    response = client.post(url, {"slot_id": other.pk})
    in_spanish = client.post(url, {"slot_id": other.pk}, HTTP_ACCEPT_LANGUAGE="es")

    assert response.status_code == in_spanish.status_code == 409
    assert "has not been changed" in response.text
    assert (
        "A new time must be for the same vaccine (Comirnaty). "
        "To change vaccine, cancel and book again."
    ) in response.text
    assert "Para cambiar de vacuna, cancele la cita y reserve de nuevo." in in_spanish.text
    appointment.refresh_from_db()
    assert appointment.slot_id == slot.pk
    assert Slot.objects.get(pk=slot.pk).booked == 1
    assert Slot.objects.get(pk=other.pk).booked == 0


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


def test_booking_both_doses_reads_each_slot_once(citizen_client):
    person, client = citizen_client
    first = SlotFactory(starts_at=tomorrow_at(10))
    second = SlotFactory(centre=first.centre, starts_at=tomorrow_at(10) + dt.timedelta(days=21))
    with CaptureQueriesContext(connection) as queries:
        response = client.post(f"/book/{first.pk}/both-doses/", {"second_slot_id": second.pk})
    assert response.status_code == 302
    assert Appointment.objects.filter(person=person).count() == 2
    # The first slot by the page, the second by the service; no day's list for a redirect.
    assert slot_reads(queries) == 2


def test_a_second_dose_too_soon_books_neither(citizen_client):
    person, client = citizen_client
    first = SlotFactory(starts_at=tomorrow_at(10))
    too_soon = SlotFactory(centre=first.centre, starts_at=tomorrow_at(10) + dt.timedelta(days=5))
    response = client.post(f"/book/{first.pk}/both-doses/", {"second_slot_id": too_soon.pk})
    assert response.status_code == 409
    assert "Nothing has been booked" in response.text
    assert not Appointment.objects.filter(person=person).exists()
    assert Slot.objects.get(pk=first.pk).booked == 0


# --- a place taken meanwhile: the nearest alternatives, one click each -------------------


def test_an_offered_alternative_is_booked_with_one_click(citizen_client):
    person, client = citizen_client
    full = SlotFactory(capacity=1, booked=1, starts_at=tomorrow_at(10))
    other = SlotFactory(centre=full.centre, starts_at=tomorrow_at(10, 30))
    refused = client.post(f"/book/{full.pk}/", {"dose_number": "1"})
    form = f'<form method="post" action="/book/{other.pk}/" class="inline">' in refused.text
    assert form
    assert '<input type="hidden" name="dose_number" value="1">' in refused.text

    response = client.post(f"/book/{other.pk}/", {"dose_number": "1"})

    appointment = Appointment.objects.get(person=person)
    assert response["Location"] == f"/appointments/{appointment.pk}/"
    assert appointment.slot_id == other.pk


def test_the_refusal_offers_the_next_days_and_nearby_centres(citizen_client):
    _, client = citizen_client
    full = SlotFactory(
        capacity=1, booked=1, centre__name="Retiro", centre__latitude=Decimal("40.42390")
    )
    next_day = SlotFactory(centre=full.centre, starts_at=tomorrow_at(9) + dt.timedelta(days=1))
    nearby = SlotFactory(
        centre=CentreFactory(name="La Paz", latitude=Decimal("40.48150")), starts_at=tomorrow_at(9)
    )
    page = client.post(f"/book/{full.pk}/", {"dose_number": "1"}).text
    assert "<title>Error: This appointment could not be booked" in page
    assert "The next days at the same centre" in page
    assert f'action="/book/{next_day.pk}/"' in page
    assert "Centres nearby" in page
    assert f'action="/book/{nearby.pk}/"' in page
    assert "La Paz (6.4 km away)" in page


def test_with_nothing_free_nearby_the_refusal_says_so(citizen_client):
    _, client = citizen_client
    full = SlotFactory(capacity=1, booked=1)
    page = client.post(f"/book/{full.pk}/", {"dose_number": "1"}).text
    assert "There are no free places nearby in the next two weeks." in page


def test_a_move_to_a_place_taken_meanwhile_offers_others_one_click_each(citizen_client):
    person, client = citizen_client
    slot = SlotFactory(starts_at=tomorrow_at(10))
    appointment = booked(client, person, slot)
    full = SlotFactory(centre=slot.centre, starts_at=tomorrow_at(12), capacity=1, booked=1)
    free = SlotFactory(centre=slot.centre, starts_at=tomorrow_at(12, 30))
    url = f"/appointments/{appointment.pk}/reschedule/"

    refused = client.post(url, {"slot_id": full.pk})

    assert refused.status_code == 409
    assert "fully booked" in refused.text
    assert "Free places nearby" in refused.text
    assert f'<form method="post" action="{url}" class="inline">' in refused.text
    assert f'name="slot_id" value="{free.pk}"' in refused.text
    moved = client.post(url, {"slot_id": free.pk})
    assert moved["Location"] == f"/appointments/{appointment.pk}/"
    appointment.refresh_from_db()
    assert appointment.slot_id == free.pk


def test_when_the_first_of_both_doses_is_taken_other_first_times_are_offered(citizen_client):
    person, client = citizen_client
    first = SlotFactory(starts_at=tomorrow_at(10))
    second = SlotFactory(centre=first.centre, starts_at=tomorrow_at(10) + dt.timedelta(days=21))
    other_first = SlotFactory(centre=first.centre, starts_at=tomorrow_at(11))
    Slot.objects.filter(pk=first.pk).update(capacity=1, booked=1)  # taken meanwhile

    response = client.post(f"/book/{first.pk}/both-doses/", {"second_slot_id": second.pk})

    assert response.status_code == 409
    assert "fully booked" in response.text
    assert f'href="/book/{other_first.pk}/"' in response.text  # check your answers again
    assert not Appointment.objects.filter(person=person).exists()
    assert Slot.objects.get(pk=second.pk).booked == 0


# --- tampered forms, double clicks, missing CSRF tokens ----------------------------------


def test_a_slot_in_the_past_is_refused_and_nothing_is_booked(citizen_client):
    person, client = citizen_client
    past = SlotFactory(starts_at=tomorrow_at(10) - dt.timedelta(days=2))
    response = client.post(f"/book/{past.pk}/", {"dose_number": "1"})
    assert response.status_code == 409
    assert "already started" in response.text
    assert not Appointment.objects.filter(person=person).exists()
    assert Slot.objects.get(pk=past.pk).booked == 0


@pytest.mark.parametrize(
    ("second", "message"),
    [
        ("other vaccine", "Both doses must be the same vaccine."),
        ("past", "already started"),
        ("missing", "does not exist"),
        ("same", "cannot be at the same time"),
    ],
)
def test_a_tampered_second_slot_books_neither_dose(citizen_client, second, message):
    person, client = citizen_client
    first = SlotFactory(starts_at=tomorrow_at(10))
    later = tomorrow_at(10) + dt.timedelta(days=30)
    second_id = {
        "other vaccine": lambda: (
            SlotFactory(starts_at=later, vaccine=VaccineFactory(name="Spikevax", cvx_code="207")).pk
        ),
        "past": lambda: SlotFactory(starts_at=tomorrow_at(10) - dt.timedelta(days=3)).pk,
        "missing": lambda: 99999999,
        "same": lambda: first.pk,
    }[second]()
    response = client.post(f"/book/{first.pk}/both-doses/", {"second_slot_id": second_id})
    assert response.status_code == 409
    assert message in response.text
    assert not Appointment.objects.filter(person=person).exists()
    assert Slot.objects.get(pk=first.pk).booked == 0


def test_dose_two_cannot_be_moved_to_another_vaccine(citizen_client):
    person, client = citizen_client
    first = SlotFactory(starts_at=tomorrow_at(10))
    second = SlotFactory(centre=first.centre, starts_at=tomorrow_at(10) + dt.timedelta(days=21))
    client.post(f"/book/{first.pk}/both-doses/", {"second_slot_id": second.pk})
    dose_two = Appointment.objects.get(person=person, dose_number=2)
    spikevax = SlotFactory(
        centre=first.centre,
        starts_at=tomorrow_at(10) + dt.timedelta(days=22),
        vaccine=VaccineFactory(name="Spikevax", cvx_code="207"),
    )
    response = client.post(f"/appointments/{dose_two.pk}/reschedule/", {"slot_id": spikevax.pk})
    assert response.status_code == 409
    assert "A new time must be for the same vaccine (Comirnaty)." in response.text
    dose_two.refresh_from_db()
    assert dose_two.slot_id == second.pk


def test_a_double_click_on_book_both_doses_books_them_once(citizen_client):
    person, client = citizen_client
    first = SlotFactory(starts_at=tomorrow_at(10))
    second = SlotFactory(centre=first.centre, starts_at=tomorrow_at(10) + dt.timedelta(days=21))
    url = f"/book/{first.pk}/both-doses/"
    clicks = [client.post(url, {"second_slot_id": second.pk}) for _ in range(2)]
    dose_one = Appointment.objects.get(person=person, dose_number=1)
    assert [click["Location"] for click in clicks] == [f"/appointments/{dose_one.pk}/"] * 2
    assert Appointment.objects.filter(person=person).count() == 2
    assert Slot.objects.get(pk=first.pk).booked == Slot.objects.get(pk=second.pk).booked == 1


def test_a_double_click_on_move_here_moves_once(citizen_client):
    person, client = citizen_client
    slot = SlotFactory(starts_at=tomorrow_at(10))
    appointment = booked(client, person, slot)
    later = SlotFactory(centre=slot.centre, starts_at=tomorrow_at(12))
    url = f"/appointments/{appointment.pk}/reschedule/"
    clicks = [client.post(url, {"slot_id": later.pk}) for _ in range(2)]
    assert [click["Location"] for click in clicks] == [f"/appointments/{appointment.pk}/"] * 2
    assert Slot.objects.get(pk=slot.pk).booked == 0
    assert Slot.objects.get(pk=later.pk).booked == 1


def test_a_move_without_a_chosen_time_says_what_to_do(citizen_client):
    person, client = citizen_client
    appointment = booked(client, person, SlotFactory())
    response = client.post(f"/appointments/{appointment.pk}/reschedule/", {"slot_id": "abc"})
    assert response.status_code == 400
    assert "<title>Error:" in response.text
    assert "Choose one of the times below." in response.text


@pytest.mark.parametrize("form", ["cancel", "reschedule", "both doses", "book"])
def test_a_form_without_its_csrf_token_changes_nothing_and_says_why(citizen_client, form):
    person, client = citizen_client
    slot = SlotFactory(starts_at=tomorrow_at(10))
    appointment = booked(client, person, slot)
    later = SlotFactory(centre=slot.centre, starts_at=tomorrow_at(10) + dt.timedelta(days=21))
    url, data = {
        "cancel": (f"/appointments/{appointment.pk}/cancel/", {}),
        "reschedule": (f"/appointments/{appointment.pk}/reschedule/", {"slot_id": later.pk}),
        "both doses": (f"/book/{later.pk}/both-doses/", {"second_slot_id": later.pk}),
        "book": (f"/book/{later.pk}/", {"dose_number": "2"}),
    }[form]
    strict = Client(enforce_csrf_checks=True)
    strict.force_login(person.user)

    response = strict.post(url, data)

    assert response.status_code == 403
    assert "The form could not be sent" in response.text
    assert "Nothing has been changed" in response.text
    appointment.refresh_from_db()
    assert (appointment.status, appointment.slot_id) == ("booked", slot.pk)
    assert Appointment.objects.filter(person=person).count() == 1
    assert Slot.objects.get(pk=later.pk).booked == 0


def given_dose_one(person, time_machine):
    """Dose 1 of Comirnaty (21 days to dose 2) booked for tomorrow 10:00 and given then."""
    slot = SlotFactory(centre__name="Centro Norte")
    appointment = services.book_appointment(person=person, slot_id=slot.pk, dose_number=1)
    nurse = staff_at(slot.centre)
    time_machine.move_to(slot.starts_at + dt.timedelta(minutes=5), tick=False)
    services.check_in(appointment_id=appointment.pk, staff=nurse)
    services.record_vaccination(appointment_id=appointment.pk, staff=nurse, lot_number="FA4597")
    return appointment, slot


def test_after_the_dose_the_page_shows_the_record_and_invites_the_next_dose(
    citizen_client, time_machine
):
    person, client = citizen_client
    appointment, slot = given_dose_one(person, time_machine)
    due = slot.starts_at.date() + dt.timedelta(days=21)

    page = client.get(f"/appointments/{appointment.pk}/").text

    assert "Your vaccination record" in page
    assert "FA4597" in page
    assert "Centro Norte" in page
    assert "Show this code at the centre" not in page
    # The only QR code left is the vaccination certificate's, not the confirmation's.
    assert page.count("<svg") == 1
    assert "Your vaccination certificate for this dose" in page
    assert "Add to calendar" not in page
    assert "Your dose 2 of Comirnaty is due from" in page
    assert f'href="/centres/{slot.centre.pk}/?date={due.isoformat()}"' in page


def test_after_the_dose_the_list_shows_the_record_and_invites_the_next_dose(
    citizen_client, time_machine
):
    person, client = citizen_client
    given_dose_one(person, time_machine)

    page = client.get("/appointments/").text

    assert "given on" in page
    assert "lot FA4597" in page
    assert "Book dose 2" in page


def test_once_the_next_dose_is_booked_no_invitation_remains(citizen_client, time_machine):
    person, client = citizen_client
    appointment, slot = given_dose_one(person, time_machine)
    later = SlotFactory(
        centre=slot.centre, starts_at=slot.starts_at + dt.timedelta(days=22), capacity=3
    )
    services.book_appointment(person=person, slot_id=later.pk, dose_number=2)

    assert "Book dose 2" not in client.get("/appointments/").text
    assert "Book dose 2" not in client.get(f"/appointments/{appointment.pk}/").text


def test_the_last_dose_of_a_course_invites_nothing(citizen_client, time_machine):
    person, client = citizen_client
    slot = SlotFactory(vaccine=VaccineFactory(name="Jcovden", doses_in_primary_course=1))
    appointment = services.book_appointment(person=person, slot_id=slot.pk, dose_number=1)
    nurse = staff_at(slot.centre)
    time_machine.move_to(slot.starts_at, tick=False)
    services.check_in(appointment_id=appointment.pk, staff=nurse)
    services.record_vaccination(appointment_id=appointment.pk, staff=nurse, lot_number="XD955")

    page = client.get(f"/appointments/{appointment.pk}/").text
    assert "XD955" in page
    assert "Your next dose" not in page


def test_the_dose_record_and_the_next_dose_in_spanish(citizen_client, time_machine):
    person, client = citizen_client
    appointment, _ = given_dose_one(person, time_machine)
    client = in_spanish(client)

    page = client.get(f"/appointments/{appointment.pk}/").text
    listing = client.get("/appointments/").text

    assert "Su registro de vacunación" in page
    assert "Número de lote" in page
    assert "Su dosis 2 de Comirnaty puede ponerse a partir del" in page
    assert "Reservar la dosis 2" in page
    assert "administrada el" in listing
    assert "Reservar la dosis 2" in listing


def test_after_booking_a_panel_says_it_is_booked_and_emailed_once(citizen_client):
    person, client = citizen_client
    slot = SlotFactory()

    page = client.post(f"/book/{slot.pk}/", {"dose_number": "1"}, follow=True).text

    assert 'class="panel' in page
    assert "Appointment booked" in page
    assert f"We have emailed your confirmation to {person.user.email}." in page
    appointment = Appointment.objects.get(person=person)
    assert "Appointment booked" not in client.get(f"/appointments/{appointment.pk}/").text


def test_after_booking_both_doses_a_panel_says_both_are_booked(citizen_client):
    person, client = citizen_client
    first = SlotFactory()
    second = SlotFactory(centre=first.centre, starts_at=first.starts_at + dt.timedelta(days=21))

    page = client.post(
        f"/book/{first.pk}/both-doses/", {"second_slot_id": str(second.pk)}, follow=True
    ).text

    assert Appointment.objects.filter(person=person).count() == 2
    assert "Both appointments booked" in page
    assert "We have emailed the confirmations of both doses" in page


def test_after_moving_a_panel_says_it_is_moved_and_emailed(citizen_client):
    person, client = citizen_client
    slot = SlotFactory()
    later = SlotFactory(centre=slot.centre, starts_at=slot.starts_at + dt.timedelta(hours=1))
    appointment = services.book_appointment(person=person, slot_id=slot.pk, dose_number=1)

    page = client.post(
        f"/appointments/{appointment.pk}/reschedule/", {"slot_id": str(later.pk)}, follow=True
    ).text

    assert "Appointment moved" in page
    assert "We have emailed the new time" in page


def test_after_cancelling_a_panel_confirms_and_the_page_links_to_booking_again(citizen_client):
    person, client = citizen_client
    slot = SlotFactory()
    appointment = services.book_appointment(person=person, slot_id=slot.pk, dose_number=1)

    page = client.post(f"/appointments/{appointment.pk}/cancel/", follow=True).text

    assert "Appointment cancelled" in page
    assert "We have emailed" in page
    assert f'href="/centres/?vaccine={slot.vaccine_id}"' in page
    assert "Book a new appointment" in page
    search = client.get(f"/centres/?vaccine={slot.vaccine_id}")
    assert search.status_code == 200


def test_an_empty_list_of_appointments_links_to_booking(citizen_client):
    _, client = citizen_client
    page = client.get("/appointments/").text
    assert "You have no appointments." in page
    assert 'href="/centres/"' in page
    assert "Find a centre and book" in page


def test_the_panels_and_the_links_to_book_again_in_spanish(citizen_client):
    person, client = citizen_client
    client = in_spanish(client)
    assert "Buscar un centro y pedir cita" in client.get("/appointments/").text
    slot = SlotFactory()

    booked = client.post(f"/book/{slot.pk}/", {"dose_number": "1"}, follow=True).text
    appointment = Appointment.objects.get(person=person)
    cancelled = client.post(f"/appointments/{appointment.pk}/cancel/", follow=True).text

    assert "Cita reservada" in booked
    assert "Le hemos enviado la confirmación por correo electrónico a" in booked
    assert "Cita cancelada" in cancelled
    assert "Pedir una nueva cita" in cancelled


def test_choosing_dose_two_with_no_later_time_at_all_offers_another_centre(citizen_client):
    _, client = citizen_client
    first = SlotFactory()

    page = client.get(f"/book/{first.pk}/both-doses/").text

    assert "There are no later free times at this centre." in page
    assert f'href="/centres/?vaccine={first.vaccine_id}"' in page
    assert "Next day" not in page
