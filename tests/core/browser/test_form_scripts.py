"""The two small scripts of the citizen pages, in a real browser: the error summary takes
the focus and its links lead to their fields; "use my location" searches from the
browser's position. Both pages work without them (tested with the Django client)."""

import datetime as dt
import re
from decimal import Decimal

import pytest
from playwright.sync_api import BrowserContext, Page, expect

from tests.browser.conftest import axe_violations
from tests.factories import (
    CentreFactory,
    CitizenFactory,
    SlotFactory,
    VaccineFactory,
    tomorrow_at,
)

# The live server's pages read availability from the replica alias (the test database's
# mirror), so these tests allow it: otherwise Django's guard against it, installed on the
# connection the server thread shares, outlives the test and breaks later ones.
pytestmark = pytest.mark.django_db(transaction=True, databases=["default", "replica"])


def test_the_error_summary_takes_the_focus_and_its_links_focus_the_field(page: Page) -> None:
    VaccineFactory()
    page.goto("/")
    page.get_by_label("Date of birth").fill("2999-01-01")
    page.get_by_role("button", name="Check").click()

    expect(page).to_have_title(re.compile(r"^Error: Check before you start "))
    summary = page.locator("[data-error-summary]")
    expect(summary).to_be_focused()
    expect(summary).to_contain_text("Date of birth must be in the past.")
    assert not axe_violations(page)

    summary.get_by_role("link", name="Choose which dose you want to book.").click()
    expect(page.get_by_label("Dose 1")).to_be_focused()


def test_use_my_location_lists_the_nearest_centres_with_their_distance(
    context: BrowserContext,
) -> None:
    CentreFactory(name="Retiro", latitude=Decimal("40.42390"), longitude=Decimal("-3.67890"))
    CentreFactory(name="Fira", latitude=Decimal("41.37330"), longitude=Decimal("2.15200"))
    context.grant_permissions(["geolocation"])
    context.set_geolocation({"latitude": 40.4169, "longitude": -3.7035})
    page = context.new_page()
    page.goto("/centres/?q=Madrid")

    page.get_by_role("button", name="Use my location").click()

    expect(page.get_by_text("Distances are from your location.")).to_be_visible()
    expect(page.locator(".results")).to_contain_text("Retiro")
    expect(page.locator(".results")).to_contain_text("2.3 km away")
    expect(page.locator(".results")).not_to_contain_text("Fira")
    assert "near=40.417%2C-3.704" in page.url
    assert not axe_violations(page)


def test_without_permission_the_page_says_so_and_the_search_still_works(
    context: BrowserContext,
) -> None:
    page = context.new_page()  # no geolocation permission granted
    page.goto("/centres/")
    page.get_by_role("button", name="Use my location").click()
    expect(page.get_by_role("status")).to_have_text(
        "Your location could not be found. Search by town or postcode instead."
    )
    expect(page.get_by_role("button", name="Use my location")).to_be_enabled()


@pytest.mark.parametrize("language", ["en", "es"])
def test_the_new_pages_have_no_accessibility_violations(
    request: pytest.FixtureRequest, sign_in, language: str
) -> None:
    context: BrowserContext = request.getfixturevalue(
        "context" if language == "en" else "spanish_context"
    )
    VaccineFactory()
    full = SlotFactory(capacity=1, booked=1, starts_at=tomorrow_at(10))
    SlotFactory(centre=full.centre, starts_at=tomorrow_at(11))
    SlotFactory(centre=full.centre, starts_at=tomorrow_at(9) + dt.timedelta(days=1))
    page = context.new_page()
    found: dict[str, list[str]] = {}

    def audit(name: str) -> None:
        expect(page.locator("h1")).to_be_visible()
        if violations := axe_violations(page):
            found[name] = violations

    for path in ("/", "/check/", "/password-reset/", "/password-reset/x/y-z/", "/centres/"):
        page.goto(path)
        audit(path)
    page.goto("/centres/?near=40.42,-3.70")
    audit("search from a position")
    for born, name in (("1980-06-15", "eligible"), ("2020-01-01", "not eligible")):
        page.goto("/check/")
        page.locator("#id_date_of_birth").fill(born)
        page.locator("#id_dose_number_0").check()
        page.locator("form[action='/check/'] button").click()
        audit(name)
    page.goto("/password-reset/")
    page.locator("#id_email").fill("nobody@example.org")
    page.locator("main form button").click()
    audit("reset link sent")

    sign_in(context, CitizenFactory().user)
    for path in ("/account/", "/account/details/", "/account/password/"):
        page.goto(path)
        audit(path)
    page.goto("/account/details/")
    page.locator("#id_full_name").fill("")
    page.locator("main form button").click()
    audit("details with an error")
    page.goto(f"/book/{full.pk}/")
    page.locator("main form button[type=submit]").last.click()
    audit("a place taken meanwhile")

    assert not found, found
