"""Around the booking: checking before starting, a forgotten password, one's own details,
and how far the centres are. End to end in the phone-sized headless Chromium."""

import datetime as dt
import re
from decimal import Decimal

import pytest
from django.core import mail
from django.core.management import call_command
from django.utils import timezone
from playwright.sync_api import BrowserContext, Page, expect

from tests.browser.data import clinic
from tests.factories import CentreFactory, CitizenFactory, SlotFactory

# The live server's pages read availability from the replica alias (the test database's
# mirror), so these tests allow it: otherwise Django's guard against it, installed on the
# connection the server thread shares, outlives the test and breaks later ones.
pytestmark = pytest.mark.django_db(transaction=True, databases=["default", "replica"])


def test_check_before_you_start_says_which_vaccines_a_person_can_book(page: Page):
    clinic()  # Comirnaty, from 12 years old
    page.goto("/")
    check = page.get_by_role("region", name="Check before you start")
    check.get_by_label("Date of birth").fill("1980-06-15")
    check.get_by_label("Dose 1").check()
    check.get_by_role("button", name="Check").click()

    expect(page.get_by_role("heading", level=1)).to_have_text("You can book")
    expect(page.get_by_role("main")).to_contain_text("Comirnaty")
    page.get_by_role("link", name="Find a centre and book").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Find a vaccination centre")


def test_someone_too_young_gets_a_plain_page_with_the_reason_not_a_form_error(page: Page):
    clinic()
    born = timezone.localdate() - dt.timedelta(days=10 * 365)
    page.goto("/check/")
    page.get_by_label("Date of birth").fill(born.isoformat())
    page.get_by_label("Dose 1").check()
    page.get_by_role("button", name="Check").click()

    expect(page.get_by_role("heading", level=1)).to_have_text("You cannot book yet")
    expect(page).not_to_have_title(re.compile("^Error"))
    expect(page.get_by_role("main").get_by_role("listitem").first).to_contain_text("12")


def test_a_forgotten_password_is_reset_through_the_emailed_link(page: Page):
    person = CitizenFactory()
    page.goto("/sign-in/")
    page.get_by_role("link", name="Forgotten your password?").click()
    page.get_by_label("Email address").fill(person.user.email)
    page.locator("main form button[type=submit]").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Check your email")

    # The background worker sends it.
    call_command("run_worker", batch=True, startup_delay=False, verbosity=0)
    (email,) = mail.outbox
    assert email.to == [person.user.email]
    link = re.search(r"/password-reset/[^/\s]+/[^/\s]+/", str(email.body))
    assert link is not None
    page.goto(link.group())
    passwords = page.locator("main input[type=password]")
    passwords.nth(0).fill("a-brand-new-passphrase")
    passwords.nth(1).fill("a-brand-new-passphrase")
    page.get_by_role("button", name="Save the new password").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Your password has been changed")

    page.goto("/sign-in/")
    page.get_by_label("Email address").fill(person.user.email)
    page.get_by_label("Password").fill("a-brand-new-passphrase")
    page.get_by_role("main").get_by_role("button", name="Sign in").click()
    expect(page.get_by_role("button", name="Sign out")).to_be_visible()

    page.goto(link.group())  # the link works once
    expect(page.get_by_role("heading", level=1)).to_have_text("This link no longer works")


def test_a_person_changes_their_details_and_sees_them_on_their_account(
    page: Page, context: BrowserContext, sign_in
):
    person = CitizenFactory(full_name="Ana Garcia", phone="")
    sign_in(context, person.user)
    page.goto("/")
    page.get_by_role("link", name="Your account").click()
    page.get_by_role("link", name="Change your details").click()
    page.get_by_label("Full name").fill("Ana García Pérez")
    page.get_by_label("Mobile phone (optional)").fill("+34 600 000 001")
    page.get_by_label("Español").check()
    page.get_by_role("button", name="Save your details").click()

    main = page.get_by_role("main")
    expect(main).to_contain_text("Ana García Pérez")
    expect(main).to_contain_text("+34 600 000 001")
    person.refresh_from_db()
    assert (person.full_name, person.phone, person.language) == (
        "Ana García Pérez",
        "+34 600 000 001",
        "es",
    )


def test_a_postcode_search_lists_the_nearby_centres_nearest_first_with_their_distance(
    page: Page,
):
    place = clinic()  # Madrid centre, postcode 28012
    farther = CentreFactory(
        name="Hospital de Getafe",
        town="Getafe",
        postcode="28905",
        latitude=Decimal("40.30800"),
        longitude=Decimal("-3.73200"),
    )
    SlotFactory(centre=farther, vaccine=place.vaccine)
    page.goto("/centres/")
    page.get_by_label("Town, postcode or centre name").fill("28 012")
    page.get_by_role("button", name="Search").click()

    results = page.locator(".results > li")
    expect(results).to_have_count(2)
    expect(results.nth(0)).to_contain_text(place.centre.name)
    expect(results.nth(1)).to_contain_text("Hospital de Getafe")
    expect(results.nth(1)).to_contain_text(re.compile(r"1\d\.\d km away"))
