"""In a browser: a citizen books for her mother, and the phone line books for a caller found
by name and date of birth; every page on the way is axe clean."""

import pytest
from django.conf import settings
from playwright.sync_api import BrowserContext, Page, expect

from tests.browser.conftest import assert_accessible
from tests.browser.data import clinic
from tests.factories import CitizenFactory, UserFactory
from tests.staff_clients import verified_client
from vaxbook.accounts.models import AuthorityRole, User
from vaxbook.bookings.models import Appointment, BookingChannel

pytestmark = pytest.mark.django_db(transaction=True, databases=["default", "replica"])


def test_a_citizen_adds_her_mother_and_books_for_her(context: BrowserContext, sign_in) -> None:
    place = clinic()
    ada = CitizenFactory(full_name="Ada Lovelace")
    sign_in(context, ada.user)
    page: Page = context.new_page()

    page.goto("/account/people/")
    assert_accessible(page)
    page.get_by_label("Their full name").fill("Carmen López García")
    page.get_by_label("Their date of birth").fill("1948-03-02")
    page.get_by_role("button", name="Add this person").click()
    expect(page.get_by_text("Carmen López García added.")).to_be_visible()
    assert_accessible(page)

    page.goto(f"/book/{place.ten.pk}/")
    assert_accessible(page)
    page.get_by_label("Carmen López García").check()
    page.get_by_label("Dose 1", exact=True).check()
    page.get_by_role("button", name="Confirm and book").click()

    expect(page.locator("main")).to_contain_text("Carmen López García")
    assert_accessible(page)
    appointment = Appointment.objects.get()
    assert appointment.person.full_name == "Carmen López García"
    assert appointment.channel == BookingChannel.RELATIVE


def staff_session(context: BrowserContext, user: User, url: str) -> None:
    cookie = verified_client(user).cookies[settings.SESSION_COOKIE_NAME]
    context.add_cookies([{"name": settings.SESSION_COOKIE_NAME, "value": cookie.value, "url": url}])


def test_the_phone_agent_finds_a_caller_and_books_for_her(
    context: BrowserContext, live_server
) -> None:
    place = clinic()
    CitizenFactory(full_name="Carmen López García", date_of_birth="1948-03-02")
    agent = UserFactory(authority_role=AuthorityRole.CALL_AGENT)
    staff_session(context, agent, live_server.url)
    page: Page = context.new_page()

    page.goto("/staff/phone/")
    assert_accessible(page)
    page.get_by_label("Full name (first name and surname)").fill("Carmen López García")
    page.get_by_label("Date of birth").first.fill("1948-03-02")
    page.get_by_label("Reason for the call").fill("Caller asks to book dose 1")
    page.get_by_role("button", name="Search").click()
    assert_accessible(page)
    page.get_by_role("link", name="Carmen López García").click()
    page.get_by_label("Town, postcode or centre").fill("Madrid")
    page.get_by_role("button", name="Find centres").click()
    assert_accessible(page)
    page.get_by_role("link", name=place.centre.name).click()
    assert_accessible(page)
    page.get_by_role("button", name="Dose 1").first.click()

    expect(page.get_by_text("Booked: reference")).to_be_visible()
    assert_accessible(page)
    page.get_by_role("link", name="Letter to post").click()
    expect(page.get_by_role("heading", level=1)).to_have_text(
        "Your COVID-19 vaccination appointment"
    )
    assert_accessible(page)
    assert Appointment.objects.get().channel == BookingChannel.PHONE_LINE
