"""axe-core finds no WCAG 2.1 A/AA violation on any citizen page, nor on the staff sign-in
page: in English and in Spanish, signed out and signed in, including the error states a
person meets (a wrong password, an empty form, a place taken meanwhile, a missing page)."""

import datetime as dt
import re
import uuid

import pytest
from django.contrib.auth.tokens import default_token_generator
from django.core import mail
from django.utils import timezone
from django.utils.encoding import force_bytes
from django.utils.http import urlsafe_base64_encode
from playwright.sync_api import BrowserContext, Page, expect

from tests.browser.conftest import axe_violations
from tests.browser.data import PASSWORD, booked, clinic, fill_up
from tests.factories import CitizenFactory, tomorrow_at
from vaxbook.accounts import registration

# The live server's pages read availability from the replica alias (the test database's
# mirror), so these tests allow it: otherwise Django's guard against it, installed on the
# connection the server thread shares, outlives the test and breaks later ones.
pytestmark = pytest.mark.django_db(transaction=True, databases=["default", "replica"])


@pytest.fixture(params=["en", "es"])
def any_language(request: pytest.FixtureRequest, live_server) -> BrowserContext:
    # `live_server` named here (not only through getfixturevalue) so that pytest-django
    # lets the test's requests through ALLOWED_HOSTS.
    context: BrowserContext = request.getfixturevalue(
        "context" if request.param == "en" else "spanish_context"
    )
    return context


class Audit:
    """Visits pages and collects axe's findings, so one run reports every page at once."""

    def __init__(self, page: Page) -> None:
        self.page = page
        self.found: dict[str, list[str]] = {}

    def visit(self, path: str, *, status: int = 200) -> None:
        response = self.page.goto(path)
        assert response is not None
        assert response.status == status, f"{path} answered {response.status}"
        self.check(path)

    def check(self, name: str) -> None:
        expect(self.page.locator("h1")).to_be_visible()
        language = self.page.locator("html").get_attribute("lang")
        if violations := axe_violations(self.page):
            self.found[f"{name} [{language}]"] = violations

    def assert_clean(self) -> None:
        report = "\n".join(
            f"{name}:\n  " + "\n  ".join(lines) for name, lines in self.found.items()
        )
        assert not self.found, "axe-core found WCAG 2.1 A/AA violations:\n" + report


def test_pages_for_someone_not_signed_in(any_language: BrowserContext):
    place = clinic()
    fill_up(place.noon)  # a full slot is shown as full, not hidden
    audit = Audit(any_language.new_page())

    audit.visit("/")
    audit.visit("/sign-in/")
    audit.visit("/register/")
    audit.visit("/centres/?q=madrid")
    audit.visit(f"/centres/{place.centre.pk}/?date={tomorrow_at(10).date().isoformat()}")
    audit.visit("/staff/sign-in/")
    audit.visit("/no-such-page/", status=404)
    for about in ["/help/", "/privacy/", "/cookies/", "/accessibility/"]:
        audit.visit(about)

    page = audit.page
    page.goto("/sign-in/")
    page.locator("#id_username").fill("nobody@example.org")
    page.locator("#id_password").fill("wrong-password")
    page.locator("main form button[type=submit]").click()
    audit.check("sign in with a wrong password")

    page.goto("/register/")
    page.locator("main form button[type=submit]").click()
    audit.check("register with nothing filled in")

    page.locator("#id_email").fill("new.person@example.org")
    page.locator("#id_password").fill("vaccinate-me-2021")
    page.locator("#id_full_name").fill("New Person")
    page.locator("#id_date_of_birth").fill("1990-05-17")
    page.locator("main form button[type=submit]").click()
    audit.check("registration sent")
    registration.send_link_or_notice(email="new.person@example.org")
    link = re.search(r"/register/confirm/[A-Za-z0-9_-]+/", str(mail.outbox[-1].body))
    assert link is not None
    audit.visit(link.group())
    audit.visit("/register/confirm/no-such-link/", status=404)

    # Check before you start: the answer either way, and the form sent empty.
    five_years_old = timezone.localdate() - dt.timedelta(days=5 * 365)
    for born, name in [(dt.date(1980, 6, 15), "eligible"), (five_years_old, "not eligible yet")]:
        page.goto("/check/")
        page.locator("#id_date_of_birth").fill(born.strftime("%d/%m/%Y"))
        page.locator("main input[type=radio]").first.check()
        page.locator("main form button[type=submit]").click()
        audit.check(f"check before you start: {name}")
    page.goto("/check/")
    audit.check("check before you start")
    page.locator("main form button[type=submit]").click()
    audit.check("check before you start with nothing filled in")

    user = CitizenFactory().user
    audit.visit("/password-reset/")
    page.locator("main input[type=email]").fill(user.email)
    page.locator("main form button[type=submit]").click()
    audit.check("password reset sent")
    uid = urlsafe_base64_encode(force_bytes(user.pk))
    audit.visit(f"/password-reset/{uid}/{default_token_generator.make_token(user)}/")
    audit.visit("/password-reset/done/")

    audit.assert_clean()


def test_pages_for_a_signed_in_citizen(any_language: BrowserContext, sign_in):
    place = clinic()
    person = CitizenFactory()
    appointment = booked(place.ten, person)
    someone_elses = booked(place.ten)
    fill_up(place.noon)
    sign_in(any_language, person.user)
    audit = Audit(any_language.new_page())

    audit.visit("/")
    audit.visit("/centres/?q=28012")
    audit.visit(f"/centres/{place.centre.pk}/?date={tomorrow_at(10).date().isoformat()}")
    audit.visit(f"/book/{place.dose_two.pk}/")
    audit.visit(f"/book/{place.ten.pk}/both-doses/")
    audit.visit(f"/appointments/{appointment.pk}/")
    audit.visit("/appointments/")
    audit.visit(f"/appointments/{appointment.pk}/cancel/")
    audit.visit(f"/appointments/{appointment.pk}/reschedule/")
    audit.visit(f"/appointments/{someone_elses.pk}/", status=404)
    audit.visit(f"/appointments/{uuid.uuid4()}/", status=404)

    page = audit.page
    page.goto(f"/book/{place.noon.pk}/")
    page.locator("main form button[type=submit]").click()
    audit.check("a place taken meanwhile")

    page.goto(f"/appointments/{appointment.pk}/cancel/")
    page.locator("main form button[type=submit]").click()
    audit.check("a cancelled appointment")

    audit.visit("/account/")
    audit.visit("/account/details/")
    audit.visit("/account/password/")
    page.locator("main form button[type=submit]").click()
    audit.check("change password with nothing filled in")
    audit.visit("/account/password/changed/")

    audit.assert_clean()


def test_the_sign_in_page_with_an_account(context: BrowserContext):
    """The sign-in form filled in by keyboard reaches the person's appointments."""
    person = CitizenFactory()
    page = context.new_page()
    page.goto("/appointments/")
    page.locator("#id_username").fill(person.user.email)
    page.locator("#id_password").fill(PASSWORD)
    page.locator("#id_password").press("Enter")
    expect(page).to_have_url("/appointments/")
