"""A person finds a full day, joins the waiting list, someone cancels, and the emailed link
books the freed place: end to end in the phone-sized headless Chromium, with the worker."""

from collections.abc import Callable

import pytest
from django.conf import LazySettings
from django.core import mail
from django.core.management import call_command
from playwright.sync_api import BrowserContext, Page, expect

from tests.browser.conftest import assert_accessible
from tests.browser.data import booked, clinic, fill_up
from tests.factories import CitizenFactory
from vaxbook.accounts.models import User
from vaxbook.bookings import services as bookings
from vaxbook.bookings.models import Appointment, AppointmentStatus

# The live server's pages read availability from the replica alias (see
# tests/browser/test_account_journeys.py).
pytestmark = pytest.mark.django_db(transaction=True, databases=["default", "replica"])

SITE = "https://vaccination.example.org"


def run_worker() -> None:
    call_command("run_worker", batch=True, startup_delay=False, verbosity=0)


def test_a_cancellation_reaches_the_person_waiting_who_books_it_from_the_email(
    page: Page,
    context: BrowserContext,
    sign_in: Callable[[BrowserContext, User], None],
    settings: LazySettings,
) -> None:
    settings.SITE_URL = SITE
    place = clinic()
    place.centre.vaccines.add(place.vaccine)
    leaving = booked(place.ten)
    fill_up(place.ten)
    fill_up(place.noon)
    person = CitizenFactory()
    sign_in(context, person.user)

    day = place.ten.local_date.isoformat()
    page.goto(f"/centres/{place.centre.pk}/?date={day}")
    expect(page.get_by_role("main")).to_contain_text("There are no")
    page.get_by_role("link", name="Join the waiting list").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Join the waiting list")
    # The centre and the day come from the page; the person says which dose.
    expect(page.get_by_label(f"{place.centre.name}, Madrid")).to_be_checked()
    assert_accessible(page)
    page.get_by_role("button", name="Join the waiting list").click()
    expect(page.get_by_role("status")).to_contain_text("You are on the waiting list.")

    bookings.cancel_appointment(person=leaving.person, appointment_id=leaving.pk)
    run_worker()  # offers the freed place
    run_worker()  # sends the offer
    (offer_email,) = [email for email in mail.outbox if person.user.email in email.to]
    link = next(line for line in offer_email.body.splitlines() if "/waiting-list/offers/" in line)

    page.goto(link.removeprefix(SITE))
    assert_accessible(page)
    page.get_by_role("button", name="Accept and book this appointment").click()

    expect(page.get_by_role("status")).to_contain_text("Appointment booked")
    appointment = Appointment.objects.get(person=person)
    assert (appointment.slot_id, appointment.status) == (place.ten.pk, AppointmentStatus.BOOKED)
    place.ten.refresh_from_db()
    assert place.ten.booked == place.ten.capacity
