"""The waiting-list pages: joining from a full day, the offer's link, and bad input."""

import datetime as dt

import pytest
from django.core import mail
from django.test import Client

from tests.factories import CitizenFactory
from tests.helpers import in_spanish
from tests.waiting_list.conftest import TUESDAY, book, cancel, join
from vaxbook.bookings.models import AppointmentStatus
from vaxbook.waiting_list import services, tasks
from vaxbook.waiting_list.models import EntryStatus, Offer, OfferStatus, WaitingEntry
from vaxbook.waiting_list.tokens import offer_token

pytestmark = pytest.mark.django_db


def signed_in(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


def an_offer(centre, vaccine, slot) -> Offer:
    join([centre], vaccine)
    cancel(book(slot))
    (offer,) = services.offer_free_places(slot_ids=[slot.pk])
    return offer


def join_form(centre, vaccine, **changes) -> dict[str, object]:
    form: dict[str, object] = {
        "vaccine": vaccine.pk,
        "dose_number": 1,
        "centres": [centre.pk],
        "first_day": TUESDAY.isoformat(),
        "last_day": (TUESDAY + dt.timedelta(days=7)).isoformat(),
        "weekdays": ["0", "1", "2", "3", "4"],
        "times_of_day": ["m", "a"],
    }
    form.update(changes)
    return form


def test_a_full_day_links_to_the_waiting_list(centre, vaccine, slot):
    book(slot)

    page = Client().get(f"/centres/{centre.pk}/?date={TUESDAY.isoformat()}").text

    assert f"/waiting-list/join/?centre={centre.pk}&amp;date={TUESDAY.isoformat()}" in page


def test_joining_from_the_page_puts_the_person_in_line(centre, vaccine):
    person = CitizenFactory()
    client = signed_in(person.user)
    assert client.get(f"/waiting-list/join/?centre={centre.pk}").status_code == 200

    response = client.post("/waiting-list/join/", join_form(centre, vaccine, short_notice="on"))

    assert response.status_code == 302
    entry = WaitingEntry.objects.get(person=person)
    assert (entry.weekdays, entry.times_of_day, entry.short_notice) == ("01234", "ma", True)
    assert list(entry.centres.all()) == [centre]
    assert "You are on the waiting list." in client.get("/waiting-list/").text


def test_joining_twice_says_so_on_the_form(centre, vaccine):
    entry = join([centre], vaccine)

    response = signed_in(entry.person.user).post("/waiting-list/join/", join_form(centre, vaccine))

    assert response.status_code == 400
    assert "already on the waiting list for this dose" in response.text
    assert WaitingEntry.objects.filter(person=entry.person).count() == 1


def test_a_form_without_days_or_centres_names_what_is_missing(centre, vaccine):
    client = signed_in(CitizenFactory().user)

    response = client.post(
        "/waiting-list/join/", join_form(centre, vaccine, weekdays=[], centres=["99999"])
    )

    assert response.status_code == 400
    assert "Choose at least one day of the week." in response.text
    assert "Choose centres from the list." in response.text
    assert not WaitingEntry.objects.exists()


def test_the_email_link_accepts_in_one_click_after_it_is_opened(centre, vaccine, slot):
    offer = an_offer(centre, vaccine, slot)
    tasks.send_offer.call(offer_id=str(offer.pk))
    (email,) = mail.outbox
    assert "A vaccination place is free for you" in email.subject
    link = next(line for line in email.body.splitlines() if "/waiting-list/offers/" in line)
    path = link.removeprefix("https://vaccination.example.org")
    client = signed_in(offer.person.user)

    # Opening the link changes nothing (mail scanners open links too).
    assert client.get(path).status_code == 200
    assert Offer.objects.get(pk=offer.pk).status == OfferStatus.HELD
    response = client.post(path, {"action": "accept"})

    offer.refresh_from_db()
    assert response.status_code == 302
    assert response["Location"] == f"/appointments/{offer.appointment_id}/"
    assert offer.appointment is not None
    assert offer.appointment.status == AppointmentStatus.BOOKED


def test_an_offer_link_used_twice_says_it_was_accepted(centre, vaccine, slot):
    offer = an_offer(centre, vaccine, slot)
    client = signed_in(offer.person.user)
    path = f"/waiting-list/offers/{offer_token(offer.pk)}/"
    client.post(path, {"action": "accept"})

    response = client.post(path, {"action": "accept"})

    assert response.status_code == 409
    assert "You have already accepted this offer" in response.text
    assert offer.person.appointments.count() == 1


def test_an_expired_offer_link_says_so(centre, vaccine, slot, clock):
    offer = an_offer(centre, vaccine, slot)
    clock.shift(dt.timedelta(minutes=45))

    response = signed_in(offer.person.user).post(
        f"/waiting-list/offers/{offer_token(offer.pk)}/", {"action": "accept"}
    )

    assert response.status_code == 409
    assert "This offer has expired" in response.text
    assert not offer.person.appointments.exists()


def test_someone_elses_offer_link_is_not_found(centre, vaccine, slot):
    offer = an_offer(centre, vaccine, slot)
    stranger = signed_in(CitizenFactory().user)
    path = f"/waiting-list/offers/{offer_token(offer.pk)}/"

    assert stranger.get(path).status_code == 404
    assert stranger.post(path, {"action": "accept"}).status_code == 404
    assert Offer.objects.get(pk=offer.pk).status == OfferStatus.HELD


def test_a_made_up_offer_link_is_not_found(centre, vaccine, slot):
    offer = an_offer(centre, vaccine, slot)
    client = signed_in(offer.person.user)

    assert client.get(f"/waiting-list/offers/{offer.pk}/").status_code == 404
    assert client.get(f"/waiting-list/offers/{offer_token(offer.pk)}x/").status_code == 404


def test_declining_from_the_page_keeps_the_person_waiting(centre, vaccine, slot):
    offer = an_offer(centre, vaccine, slot)

    response = signed_in(offer.person.user).post(
        f"/waiting-list/offers/{offer_token(offer.pk)}/", {"action": "decline"}
    )

    assert response.status_code == 302
    assert WaitingEntry.objects.get(pk=offer.entry_id).status == EntryStatus.WAITING


def test_changing_and_leaving_from_the_pages(centre, vaccine):
    entry = join([centre], vaccine)
    client = signed_in(entry.person.user)
    form = join_form(centre, vaccine)
    del form["vaccine"], form["dose_number"]

    assert client.post(f"/waiting-list/{entry.pk}/change/", form).status_code == 302
    entry.refresh_from_db()
    assert entry.weekdays == "01234"
    assert client.post(f"/waiting-list/{entry.pk}/leave/").status_code == 302
    entry.refresh_from_db()
    assert entry.status == EntryStatus.LEFT
    # Left: nothing more to change.
    assert client.get(f"/waiting-list/{entry.pk}/change/").status_code == 404


def test_someone_elses_entry_is_not_found(centre, vaccine):
    entry = join([centre], vaccine)
    stranger = signed_in(CitizenFactory().user)

    assert stranger.get(f"/waiting-list/{entry.pk}/change/").status_code == 404
    assert stranger.post(f"/waiting-list/{entry.pk}/leave/").status_code == 404


def test_the_pages_speak_spanish(centre, vaccine):
    entry = join([centre], vaccine)
    client = in_spanish(signed_in(entry.person.user))

    assert "Su lista de espera" in client.get("/waiting-list/").text
    assert "Apuntarse a la lista de espera" in client.get("/waiting-list/join/").text


def test_the_offer_email_is_in_the_language_the_person_joined_in(centre, vaccine, slot):
    entry = join([centre], vaccine)
    WaitingEntry.objects.filter(pk=entry.pk).update(language="es")
    cancel(book(slot))
    (offer,) = services.offer_free_places(slot_ids=[slot.pk])

    tasks.send_offer.call(offer_id=str(offer.pk))

    assert "plaza" in mail.outbox[0].subject
