"""The citizen's journeys, end to end in a phone-sized headless Chromium against the live
server: what a person clicks and reads, and what the database holds afterwards."""

import datetime as dt
import re
import threading
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from django.core import mail
from django.core.management import call_command
from django.utils import translation
from django.utils.formats import date_format
from icalendar import Calendar
from playwright.sync_api import BrowserContext, Page, expect

from tests.browser.conftest import PHONE
from tests.browser.data import PASSWORD, booked, clinic, fill_up
from tests.factories import CitizenFactory, SlotFactory, tomorrow_at
from tests.helpers import MADRID
from vaxbook.accounts.models import Citizen
from vaxbook.bookings import services
from vaxbook.bookings.models import Appointment, AppointmentStatus
from vaxbook.centres.models import Slot

# The live server's pages read availability from the replica alias (the test database's
# mirror), so these tests allow it: otherwise Django's guard against it, installed on the
# connection the server thread shares, outlives the test and breaks later ones.
pytestmark = pytest.mark.django_db(transaction=True, databases=["default", "replica"])


def places_left(page: Page, time: str) -> str:
    """The "Places left" cell of the row at `time` on a centre's day page."""
    row = page.locator("table.slots tbody tr").filter(
        has=page.get_by_role("cell", name=time, exact=True)
    )
    return row.locator("td").nth(2).inner_text().strip()


def day_page(page: Page, slot: Slot) -> None:
    page.goto(f"/centres/{slot.centre_id}/?date={slot.local_date.isoformat()}")


def test_a_new_person_signs_up_books_both_doses_and_adds_the_first_to_their_calendar(
    page: Page,
):
    place = clinic()
    page.goto("/")
    page.get_by_role("banner").get_by_role("link", name="Sign in").click()
    page.get_by_role("link", name="Create an account").click()
    page.get_by_label("Email address").fill("lucia@example.org")
    page.get_by_label("Password").fill("vaccinate-me-2021")
    page.get_by_label("Full name").fill("Lucía Fernández")
    page.get_by_label("Date of birth").fill("08/03/1975")  # as the hint shows a date
    page.get_by_role("button", name="Create account").click()

    # The address is proved first: the worker emails a link that creates the account.
    expect(page.get_by_role("heading", level=1)).to_have_text("Check your email")
    call_command("run_worker", batch=True, startup_delay=False, verbosity=0)
    (email,) = mail.outbox
    assert email.to == ["lucia@example.org"]
    link = re.search(r"/register/confirm/[A-Za-z0-9_-]+/", str(email.body))
    assert link is not None
    page.goto(link.group())
    page.get_by_role("button", name="Create my account").click()

    # Signed up and signed in: straight on to finding a centre.
    expect(page.get_by_role("button", name="Sign out")).to_be_visible()
    page.goto("/centres/")
    page.get_by_label("Town, postcode or centre name").fill("28012")
    page.get_by_role("button", name="Search").click()
    page.get_by_role("link", name=place.centre.name).click()
    page.get_by_role("link", name="Book 10:00").click()

    expect(page.get_by_role("heading", level=1)).to_have_text("Check your appointment")
    page.get_by_label("Dose 1 and dose 2 together").check()
    page.get_by_role("button", name="Confirm and book").click()

    # Dose 2 is proposed on the day the interval ends, at the same centre.
    expect(page.get_by_role("heading", level=1)).to_have_text("Choose the time of your second dose")
    with translation.override("en"):
        due = date_format(place.dose_two.local_date, "DATE_FORMAT")
    expect(page.get_by_role("heading", level=2).first).to_contain_text(due)
    page.get_by_role("button", name="Book both doses 10:00").click()

    expect(page.get_by_role("heading", level=1)).to_have_text("Your vaccination appointment")
    person = Citizen.objects.get(user__email="lucia@example.org")
    doses = {a.dose_number: a for a in Appointment.objects.filter(person=person)}
    assert {n: a.slot_id for n, a in doses.items()} == {1: place.ten.pk, 2: place.dose_two.pk}
    expect(page.locator(".reference")).to_have_text(doses[1].display_reference)
    expect(page.locator(".qr svg")).to_be_visible()

    with page.expect_download() as download:
        page.get_by_role("link", name="Add to calendar (.ics)").click()
    calendar = Calendar.from_ical(Path(download.value.path()).read_bytes())
    (event,) = calendar.walk("VEVENT")
    starts = event.decoded("dtstart")
    assert event["dtstart"].params["TZID"] == "Europe/Madrid"
    assert starts.astimezone(MADRID).replace(tzinfo=None) == dt.datetime.combine(
        place.ten.local_date, dt.time(10, 0)
    )
    assert doses[1].display_reference in str(event["description"])

    page.get_by_role("link", name="All your appointments").click()
    expect(page.get_by_role("main").get_by_role("listitem")).to_have_count(2)


def test_booking_takes_a_place_and_cancelling_after_a_confirmation_step_gives_it_back(
    page: Page,
):
    place = clinic()
    person = CitizenFactory()
    day_page(page, place.ten)
    assert places_left(page, "10:00") == "5"

    # Not signed in: booking asks to sign in first, then carries on where it was.
    page.get_by_role("link", name="Book 10:00").click()
    page.get_by_label("Email address").fill(person.user.email)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("main").get_by_role("button", name="Sign in").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Check your appointment")
    page.get_by_role("button", name="Confirm and book").click()
    expect(page.locator(".reference")).to_be_visible()
    confirmation = page.url

    day_page(page, place.ten)
    assert places_left(page, "10:00") == "4"

    page.goto(confirmation)
    page.get_by_role("link", name="Cancel this appointment").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Cancel your appointment")
    assert Slot.objects.get(pk=place.ten.pk).booked == 1  # asking changed nothing
    page.get_by_role("button", name="Yes, cancel this appointment").click()

    expect(page.locator(".status")).to_have_text("Cancelled")
    assert Appointment.objects.get(person=person).status == AppointmentStatus.CANCELLED
    day_page(page, place.ten)
    assert places_left(page, "10:00") == "5"


def test_a_place_taken_meanwhile_is_explained_and_another_is_booked_in_one_click(
    page: Page, context: BrowserContext, sign_in
):
    place = clinic()
    last = SlotFactory(
        centre=place.centre, vaccine=place.vaccine, starts_at=tomorrow_at(11), capacity=1
    )
    person = CitizenFactory()
    sign_in(context, person.user)
    day_page(page, last)
    page.get_by_role("link", name="Book 11:00").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Check your appointment")

    fill_up(last)  # someone else books the last place while this person reads
    page.get_by_role("button", name="Confirm and book").click()

    expect(page.get_by_role("heading", level=1)).to_have_text(
        "This appointment could not be booked"
    )
    expect(page.get_by_role("alert")).to_contain_text("fully booked")
    alternatives = page.get_by_role("region", name="Free places nearby")
    expect(alternatives).to_contain_text("10:00")
    assert not Appointment.objects.filter(person=person).exists()

    alternatives.get_by_role("button", name=re.compile(r"^Book this time .* 12:00 ")).click()

    expect(page.get_by_role("heading", level=1)).to_have_text("Your vaccination appointment")
    appointment = Appointment.objects.get(person=person)
    assert appointment.slot_id == place.noon.pk
    expect(page.locator(".reference")).to_have_text(appointment.display_reference)


def test_someone_elses_appointment_is_the_same_404_page_as_a_missing_one(
    page: Page, context: BrowserContext, sign_in
):
    place = clinic()
    theirs = booked(place.ten)
    sign_in(context, CitizenFactory().user)

    missing = page.goto(f"/appointments/{uuid.uuid4()}/")
    assert missing is not None
    assert missing.status == 404
    missing_page = page.get_by_role("main").inner_text()
    for path in ("", "cancel/", "reschedule/", "calendar.ics", "qr.svg"):
        response = page.goto(f"/appointments/{theirs.pk}/{path}")
        assert response is not None
        assert response.status == 404, path
        assert response.request.redirected_from is None, path
        if not path.endswith((".ics", ".svg")):
            assert page.get_by_role("main").inner_text() == missing_page
        assert theirs.display_reference not in page.content()


def test_the_spanish_journey_from_the_language_switcher_to_a_booking_in_spanish(
    page: Page, context: BrowserContext, sign_in
):
    place = clinic()
    person = CitizenFactory()
    page.goto("/")
    page.get_by_label("Language").select_option("es")
    page.get_by_role("button", name="Change language").click()

    expect(page.locator("html")).to_have_attribute("lang", "es")
    expect(page.get_by_role("link", name="Iniciar sesión", exact=True)).to_be_visible()
    sign_in(context, person.user)
    page.get_by_role("link", name="Buscar un centro y pedir cita").click()
    page.get_by_role("searchbox").fill("Madrid")
    page.get_by_role("button", name="Buscar").click()
    page.get_by_role("link", name=place.centre.name).click()
    page.get_by_role("link", name="Reservar 10:00").click()
    page.get_by_role("button", name="Confirmar y reservar").click()

    expect(page.get_by_role("heading", level=1)).to_have_text("Su cita de vacunación")
    appointment = Appointment.objects.get(person=person)
    expect(page.locator(".reference")).to_have_text(appointment.display_reference)
    day = place.ten.local_date
    expect(page.get_by_role("main")).to_contain_text(
        f"{WEEKDAYS_ES[day.weekday()]}, {day.day} de {MONTHS_ES[day.month - 1]} de {day.year}"
    )


WEEKDAYS_ES = ("lunes", "martes", "miércoles", "jueves", "viernes", "sábado", "domingo")
MONTHS_ES = (
    "enero",
    "febrero",
    "marzo",
    "abril",
    "mayo",
    "junio",
    "julio",
    "agosto",
    "septiembre",
    "octubre",
    "noviembre",
    "diciembre",
)


@pytest.fixture
def slow_booking(monkeypatch: pytest.MonkeyPatch) -> Iterator[threading.Event]:
    """Bookings wait until the test lets them go: a busy morning, when a second click
    comes while the first is still on its way."""
    go = threading.Event()
    book = services.book_appointment

    def held(**kwargs: Any) -> Appointment:
        go.wait(timeout=10)
        return book(**kwargs)

    monkeypatch.setattr(services, "book_appointment", held)
    yield go
    go.set()


@pytest.mark.parametrize("javascript", [True, False], ids=["with-js", "without-js"])
def test_a_double_click_on_confirm_books_once_and_shows_that_booking(
    browser, live_server, sign_in, slow_booking: threading.Event, javascript: bool
):
    context = browser.new_context(
        base_url=live_server.url,
        viewport=PHONE,
        java_script_enabled=javascript,
    )
    context.set_default_timeout(15_000)
    place = clinic()
    person = CitizenFactory()
    sign_in(context, person.user)
    page = context.new_page()
    page.goto(f"/book/{place.ten.pk}/")
    confirm = page.get_by_role("button", name="Confirm and book")
    confirm.scroll_into_view_if_needed()
    box = confirm.bounding_box()
    assert box is not None
    x, y = box["x"] + box["width"] / 2, box["y"] + box["height"] / 2

    posts: list[str] = []
    page.on("request", lambda r: posts.append(r.method) if r.method == "POST" else None)
    with page.expect_request(lambda request: request.method == "POST"):
        page.mouse.click(x, y)
    page.mouse.click(x, y)  # raw clicks: a person does not wait for the page to change
    slow_booking.set()

    expect(page.get_by_role("heading", level=1)).to_have_text("Your vaccination appointment")
    appointment = Appointment.objects.get(person=person)
    expect(page.locator(".reference")).to_have_text(appointment.display_reference)
    assert Slot.objects.get(pk=place.ten.pk).booked == 1
    # With JavaScript the second click sends nothing; without it the browser sends the
    # form twice and the server lands the second request on the first one's booking.
    assert len(posts) == (1 if javascript else 2)
    context.close()
