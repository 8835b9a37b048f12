"""The pages fit the screens people use: a phone (390 px) and a laptop (1,366 px), in English
and Spanish. The start page's way in is on a phone's first screen; the staff day list is a
card per appointment on a phone, its buttons on screen; no table of the reports is clipped;
what needs JavaScript is not shown without it; a saved date of birth fills the check form
in Spanish as in English."""

import datetime as dt
import zoneinfo
from collections.abc import Callable, Iterator

import pytest
from django.conf import settings
from django.utils import timezone
from playwright.sync_api import Browser, BrowserContext, Page, ViewportSize, expect

from tests import helpers
from tests.browser.conftest import PHONE, assert_accessible
from tests.browser.data import clinic
from tests.factories import CentreFactory, CitizenFactory, SlotFactory, staff_at
from tests.staff_clients import verified_client
from vaxbook.accounts.models import StaffRole, User
from vaxbook.bookings import services
from vaxbook.centres.models import Centre

# The live server's pages read availability from the replica alias (the test database's
# mirror), so these tests allow it: otherwise Django's guard against it, installed on the
# connection the server thread shares, outlives the test and breaks later ones.
pytestmark = pytest.mark.django_db(transaction=True, databases=["default", "replica"])

LAPTOP: ViewportSize = {"width": 1366, "height": 768}

# What sticks out: the page wider than the screen, an element past the right edge of the
# main column, or a scrolling box (a wide table's) whose content is cut off.
OVERFLOWS = """() => {
  const out = [];
  const page = document.documentElement;
  if (page.scrollWidth > page.clientWidth) out.push(`page ${page.scrollWidth}px wide`);
  const main = document.querySelector('main');
  const edge = main.getBoundingClientRect().right;
  for (const el of main.querySelectorAll('*')) {
    if (el.closest('.visually-hidden, thead')) continue;
    const box = el.getBoundingClientRect();
    const name = el.tagName.toLowerCase() + (el.className ? '.' + el.className : '');
    if (box.width && box.right > edge + 1) out.push(`${name} ends at ${box.right} > ${edge}`);
    if (el.scrollWidth > el.clientWidth + 1 && getComputedStyle(el).overflowX !== 'visible')
      out.push(`${name} clips ${el.scrollWidth} > ${el.clientWidth}`);
  }
  return out;
}"""


def assert_nothing_overflows(page: Page) -> None:
    overflows = page.evaluate(OVERFLOWS)
    assert not overflows, f"{page.url} at {page.viewport_size}:\n" + "\n".join(overflows)


@pytest.fixture(params=["en-GB", "es-ES"])
def locale(request: pytest.FixtureRequest) -> str:
    return request.param


@pytest.fixture
def new_context(browser: Browser, live_server) -> Iterator[Callable[..., BrowserContext]]:
    """A browser context of a size and language, with JavaScript or without."""
    made: list[BrowserContext] = []

    def make(viewport: ViewportSize, locale: str, *, javascript: bool = True) -> BrowserContext:
        context = browser.new_context(
            base_url=live_server.url,
            viewport=viewport,
            locale=locale,
            java_script_enabled=javascript,
        )
        context.set_default_timeout(15_000)
        made.append(context)
        return context

    yield make
    for context in made:
        context.close()


def give_staff_session(context: BrowserContext, user: User, live_server) -> None:
    """The cookie of a session past both sign-in steps (password and authenticator code)."""
    session = verified_client(user).cookies[settings.SESSION_COOKIE_NAME]
    context.add_cookies(
        [{"name": settings.SESSION_COOKIE_NAME, "value": session.value, "url": live_server.url}]
    )


# --- the start page -----------------------------------------------------------------------


def test_the_start_button_is_on_a_phones_first_screen_before_the_eligibility_form(
    new_context, locale: str
) -> None:
    clinic()
    page = new_context(PHONE, locale).new_page()
    page.goto("/")

    start = page.locator("main a.button-start")
    expect(start).to_have_text(
        "Find a centre and book" if locale == "en-GB" else "Buscar un centro y pedir cita"
    )
    box = start.bounding_box()
    assert box is not None
    assert box["y"] + box["height"] <= PHONE["height"], f"the start button ends at {box}"
    # The first thing to act on in the page's main part: the check form comes after it.
    first = page.locator("main a.button, main input, main button").first
    assert first.get_attribute("href") == "/centres/"
    assert_nothing_overflows(page)
    assert_accessible(page)


# --- "use my location" -----------------------------------------------------------------------


def test_use_my_location_is_not_offered_without_javascript(new_context) -> None:
    clinic()
    without = new_context(PHONE, "en-GB", javascript=False).new_page()
    without.goto("/centres/")
    expect(without.get_by_role("button", name="Search")).to_be_visible()
    expect(without.get_by_role("button", name="Use my location")).to_be_hidden()

    context = new_context(PHONE, "en-GB")
    context.grant_permissions(["geolocation"])
    with_script = context.new_page()
    with_script.goto("/centres/")
    expect(with_script.get_by_role("button", name="Use my location")).to_be_visible()


# --- a saved date of birth, in Spanish --------------------------------------------------------


def test_the_check_form_starts_with_the_saved_date_of_birth_in_either_language(
    new_context, locale: str, sign_in
) -> None:
    clinic()
    person = CitizenFactory(date_of_birth=dt.date(1975, 11, 30))
    context = new_context(PHONE, locale)
    sign_in(context, person.user)
    page = context.new_page()
    page.goto("/")

    field = page.locator("#id_date_of_birth")
    expect(field).to_have_value("30/11/1975")
    expect(page.locator("#id_date_of_birth_helptext")).to_contain_text("17/05/1990")


def test_a_date_of_birth_typed_with_the_month_in_spanish_is_understood(
    new_context, sign_in
) -> None:
    clinic()
    page = new_context(PHONE, "es-ES").new_page()
    page.goto("/check/")
    page.locator("#id_date_of_birth").fill("8 de marzo de 1975")
    page.locator("main input[type=radio]").first.check()
    page.locator("main form button[type=submit]").click()

    expect(page.locator("[data-error-summary]")).to_have_count(0)
    expect(page.get_by_role("heading", level=1)).not_to_contain_text("Error")


# --- the staff day list --------------------------------------------------------------------


def zone_where_it_is_about_noon() -> str:
    """A fixed-offset zone in which the time now is between 12:00 and 13:00, so that the
    afternoon's appointments are still today's whenever the test runs."""
    offset = 12 - dt.datetime.now(dt.UTC).hour
    return "UTC" if offset == 0 else f"Etc/GMT{-offset:+d}"


@pytest.fixture
def busy_centre() -> tuple[Centre, User]:
    """A centre with this afternoon's appointments, one checked in, and its vaccinator."""
    centre = CentreFactory(name="Centro de Salud Norte", time_zone=zone_where_it_is_about_noon())
    nurse = staff_at(centre, StaffRole.VACCINATOR)
    today = timezone.now().astimezone(zoneinfo.ZoneInfo(centre.time_zone)).date()
    names = ["María Fernández de la Concepción Rodríguez", "Ada Lovelace", "Li Wei"]
    appointments = [
        helpers.book(
            SlotFactory(
                centre=centre,
                starts_at=dt.datetime.combine(
                    today, dt.time(15 + n), zoneinfo.ZoneInfo(centre.time_zone)
                ),
            ),
            full_name=name,
        )
        for n, name in enumerate(names)
    ]
    services.check_in(appointment_id=appointments[1].pk, staff=nurse)
    return centre, nurse


def test_the_day_list_is_a_card_per_appointment_on_a_phone_with_its_buttons_on_screen(
    new_context, locale: str, busy_centre, live_server
) -> None:
    centre, nurse = busy_centre
    context = new_context(PHONE, locale)
    give_staff_session(context, nurse, live_server)
    page = context.new_page()
    page.goto(f"/staff/centres/{centre.pk}/day/")

    rows = page.locator("table.day-list tbody tr")
    expect(rows).to_have_count(3)
    assert_nothing_overflows(page)
    # Cards: one under the other, each as wide as the column (no table row of seven cells).
    boxes = [box for box in (rows.nth(i).bounding_box() for i in range(3)) if box]
    assert len(boxes) == 3
    assert all(box["width"] <= PHONE["width"] for box in boxes)
    assert boxes[0]["y"] + boxes[0]["height"] <= boxes[1]["y"]

    check_ins = page.locator(".day-list-action button")
    check_in = "Check in" if locale == "en-GB" else "Registrar la llegada"
    expect(check_ins).to_have_text([check_in, check_in])
    record = page.locator(".day-list-action a")
    expect(record).to_have_text("Record the dose" if locale == "en-GB" else "Registrar la dosis")
    for action in [*check_ins.all(), record]:
        action.scroll_into_view_if_needed()
        expect(action).to_be_in_viewport(ratio=1)
    assert_accessible(page)


def test_the_day_list_is_a_table_on_a_laptop_and_nothing_overflows(
    new_context, locale: str, busy_centre, live_server
) -> None:
    centre, nurse = busy_centre
    context = new_context(LAPTOP, locale)
    give_staff_session(context, nurse, live_server)
    page = context.new_page()
    page.goto(f"/staff/centres/{centre.pk}/day/")

    expect(page.locator("table.day-list thead")).to_be_visible()
    # A row of cells side by side, not a card.
    cells = page.locator("table.day-list tbody tr").first.locator("td")
    tops = {round(box["y"]) for box in (cell.bounding_box() for cell in cells.all()) if box}
    assert len(tops) == 1, tops
    assert_nothing_overflows(page)
    assert_accessible(page)


@pytest.mark.parametrize("viewport", [PHONE, LAPTOP], ids=["phone", "laptop"])
def test_the_day_lists_search_buttons_stand_apart_from_the_next_label(
    new_context, viewport: ViewportSize, busy_centre, live_server
) -> None:
    centre, nurse = busy_centre
    context = new_context(viewport, "en-GB")
    give_staff_session(context, nurse, live_server)
    page = context.new_page()
    page.goto(f"/staff/centres/{centre.pk}/day/")

    for button, label in [
        ("Show", "Booking reference"),
        ("Find by reference", "Surname"),
    ]:
        above = page.get_by_role("button", name=button, exact=True).bounding_box()
        below = page.locator("main label").get_by_text(label, exact=True).bounding_box()
        assert above is not None
        assert below is not None
        gap = below["y"] - (above["y"] + above["height"])
        assert gap >= 16, f"{button!r} is {gap} px from the label {label!r}"


# --- the reports ----------------------------------------------------------------------------


def test_no_report_table_is_clipped_on_a_laptop(new_context, locale: str, live_server) -> None:
    centres = [
        CentreFactory(name=name)
        for name in [
            "Hospital Universitario de Gran Canaria Doctor Negrín",
            "Hospital Universitario Virgen del Rocío",
        ]
    ]
    for centre in centres:
        SlotFactory(centre=centre, starts_at=timezone.now() + dt.timedelta(days=1))
    administrator = User.objects.create_superuser("admin@example.org", "a-long-password-2021")
    context = new_context(LAPTOP, locale)
    give_staff_session(context, administrator, live_server)
    page = context.new_page()

    for path in ["/staff/reports/", f"/staff/centres/{centres[0].pk}/manage/report/"]:
        page.goto(path)
        expect(page.locator("table.figures").first).to_be_visible()
        assert_nothing_overflows(page)
    assert_accessible(page)
