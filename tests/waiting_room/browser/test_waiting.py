"""A person waits in the line, sees their place move, reaches the front and books: with
the page's script (English) and without JavaScript (Spanish), in the system Chromium."""

import datetime as dt
import re
from collections.abc import Callable

import pytest
from django.conf import LazySettings
from django.utils import timezone
from playwright.sync_api import Browser, BrowserContext, Page, expect

from tests.browser.conftest import PHONE, assert_accessible
from tests.browser.data import Clinic, clinic
from tests.factories import CitizenFactory
from vaxbook.accounts.models import User
from vaxbook.bookings.models import Appointment
from vaxbook.waiting_room import services
from vaxbook.waiting_room.models import WaitingRoom

# The live server's pages read availability from the replica alias (the test database's
# mirror), so these tests allow it: otherwise Django's guard against it, installed on the
# connection the server thread shares, outlives the test and breaks later ones.
pytestmark = pytest.mark.django_db(transaction=True, databases=["default", "replica"])


@pytest.fixture
def place(settings: LazySettings) -> Clinic:
    """A centre with places, and a waiting room open since an hour, admitting one person
    a second, with two people already in line."""
    settings.WAITING_ROOM_REDIS_URL = ""
    place = clinic()
    WaitingRoom.objects.create(
        name="Phase 3",
        active=True,
        opens_at=timezone.now() - dt.timedelta(hours=1),
        rate_per_minute=60,
    )
    services.forget_room()
    services.join()
    services.join()
    return place


def test_with_the_script_a_person_waits_reaches_the_front_and_books(
    place: Clinic,
    page: Page,
    context: BrowserContext,
    sign_in: Callable[[BrowserContext, User], None],
) -> None:
    person = CitizenFactory()
    sign_in(context, person.user)
    page.goto(f"/centres/{place.centre.pk}/?date={place.ten.local_date.isoformat()}")
    expect(page.get_by_role("heading", level=1)).to_have_text("Waiting room")
    expect(
        page.get_by_role("link", name="check which vaccines and doses you can book")
    ).to_be_visible()
    page.get_by_role("button", name="Join the line").click()
    expect(page.get_by_text("Your place in the line")).to_be_visible()
    assert_accessible(page)
    # The script polls and moves on to the turn by itself (no reload by the person).
    expect(page.get_by_text("It is your turn.")).to_be_visible(timeout=20_000)
    page.get_by_role("link", name="Continue to booking").click()
    page.get_by_role("link", name="Book 10:00").click()
    page.get_by_role("button", name="Confirm and book").click()
    expect(page.locator(".reference")).to_be_visible()
    assert Appointment.objects.filter(person=person).count() == 1


def test_without_javascript_in_spanish_the_page_refreshes_itself_to_the_turn(
    place: Clinic,
    browser: Browser,
    live_server,
    sign_in: Callable[[BrowserContext, User], None],
) -> None:
    person = CitizenFactory()
    context = browser.new_context(
        base_url=live_server.url, viewport=PHONE, locale="es-ES", java_script_enabled=False
    )
    context.set_default_timeout(20_000)
    try:
        sign_in(context, person.user)
        page = context.new_page()
        page.goto(f"/centres/{place.centre.pk}/?date={place.ten.local_date.isoformat()}")
        page.get_by_role("button", name="Ponerse en la fila").click()
        expect(page.get_by_text("Su puesto en la fila")).to_be_visible()
        # The page reloads itself every poll_after seconds (a meta refresh): give it the
        # time of a few reloads, as the scripted test does (expect's own default is 5 s).
        expect(page.get_by_text("Es su turno.")).to_be_visible(timeout=20_000)
        page.get_by_role("link", name="Continuar a la reserva").click()
        page.get_by_role("link", name="Reservar 10:00").click()
        page.get_by_role("button", name="Confirmar y reservar").click()
        expect(page.locator(".reference")).to_be_visible()
        assert Appointment.objects.filter(person=person).count() == 1
    finally:
        context.close()


def test_the_pre_queue_counts_down_in_spanish_and_is_accessible(
    settings: LazySettings, spanish_context: BrowserContext
) -> None:
    settings.WAITING_ROOM_REDIS_URL = ""
    clinic()
    WaitingRoom.objects.create(
        name="Fase 3", active=True, opens_at=timezone.now() + dt.timedelta(minutes=10)
    )
    services.forget_room()
    page = spanish_context.new_page()
    page.goto("/waiting-room/")
    page.get_by_role("button", name="Ponerse en la fila").click()
    countdown = page.locator("[data-countdown]")
    expect(countdown).to_have_text(re.compile(r"^9:[0-5]\d$"))  # the script's m:ss
    first = countdown.inner_text()
    expect(countdown).not_to_have_text(first)  # and it counts
    assert_accessible(page)
