"""A manager gives a centre opening hours and makes a week of slots in a real browser; a
citizen then sees those times on the centre's page. The management pages pass axe's WCAG
2.1 A/AA checks on the way."""

import datetime as dt

import pytest
from django.conf import settings
from playwright.sync_api import BrowserContext, Page, expect

from tests.browser.conftest import assert_accessible
from tests.management.helpers import make_site
from tests.staff_clients import verified_client
from vaxbook.accounts.models import User
from vaxbook.centres.models import Slot, Weekday

# The live server's pages read availability from the replica alias (the test database's
# mirror), so these tests allow it: otherwise Django's guard against it, installed on the
# connection the server thread shares, outlives the test and breaks later ones.
pytestmark = pytest.mark.django_db(transaction=True, databases=["default", "replica"])


def sign_in_with_second_factor(context: BrowserContext, live_server, user: User) -> None:
    """The session of a staff member who signed in with password and code."""
    session = verified_client(user).cookies[settings.SESSION_COOKIE_NAME]
    context.add_cookies(
        [
            {
                "name": settings.SESSION_COOKIE_NAME,
                "value": session.value,
                "url": live_server.url,
                "httpOnly": True,
                "secure": settings.SESSION_COOKIE_SECURE,
                "sameSite": "Lax",
            }
        ]
    )


def test_a_manager_makes_a_week_of_slots_that_citizens_then_see(
    page: Page, context: BrowserContext, live_server
) -> None:
    site = make_site()
    centre = site.centre
    sign_in_with_second_factor(context, live_server, site.manager)
    day = centre.local_date(dt.datetime.now(tz=dt.UTC)) + dt.timedelta(days=2)

    page.goto(f"/staff/centres/{centre.pk}/manage/hours/")
    page.get_by_label("Vaccine").select_option(label="Comirnaty")
    page.get_by_label("Day of the week").select_option(label=str(Weekday(day.weekday()).label))
    page.get_by_label("Opens at").fill("09:00")
    page.get_by_label("Closes at").fill("10:00")
    page.get_by_label("Slot length in minutes").fill("20")
    page.get_by_label("Places per slot").fill("3")
    assert_accessible(page)
    page.get_by_role("button", name="Add the opening hours").click()
    expect(page.get_by_text("The opening hours are added.")).to_be_visible()

    page.get_by_role("link", name="Make slots").click()
    page.get_by_label("First day").fill((day - dt.timedelta(days=1)).isoformat())
    page.get_by_label("Last day").fill((day + dt.timedelta(days=5)).isoformat())
    page.get_by_role("button", name="Preview").click()
    expect(page.get_by_role("heading", name="What will be made")).to_be_visible()
    assert_accessible(page)
    page.get_by_role("button", name="Make 3 slots").click()
    expect(page.get_by_text("3 slots made.")).to_be_visible()
    assert Slot.objects.filter(centre=centre).count() == 3

    citizen = context.browser.new_page(base_url=live_server.url)  # type: ignore[union-attr]
    citizen.goto(f"/centres/{centre.pk}/?date={day.isoformat()}")
    times = citizen.locator("table.slots tbody tr td:first-child")
    expect(times).to_have_text(["09:00", "09:20", "09:40"])
    citizen.close()


def test_the_report_and_the_day_pages_are_accessible(
    page: Page, context: BrowserContext, live_server
) -> None:
    site = make_site()
    sign_in_with_second_factor(context, live_server, site.manager)
    today = site.centre.local_date(dt.datetime.now(tz=dt.UTC))
    Slot.objects.create(
        centre=site.centre,
        vaccine=site.vaccine,
        starts_at=dt.datetime.combine(
            today + dt.timedelta(days=1), dt.time(10), tzinfo=site.centre.zone
        ),
        ends_at=dt.datetime.combine(
            today + dt.timedelta(days=1), dt.time(10, 10), tzinfo=site.centre.zone
        ),
        capacity=4,
    )

    for path in ("report/", f"days/{(today + dt.timedelta(days=1)).isoformat()}/", "staff/"):
        page.goto(f"/staff/centres/{site.centre.pk}/manage/{path}")
        expect(page.get_by_role("heading", level=1)).to_be_visible()
        assert_accessible(page)
