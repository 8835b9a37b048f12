"""The scan page in headless Chromium: the camera reads a confirmation's QR code, and the
page goes on validating without a network.

The browser's clock cannot be moved with time_machine, so these tests run at the real time:
the centre's time zone is chosen so that it is about midday there now, and "today at the
centre" cannot turn into tomorrow while a test runs, whenever the suite runs.
"""

import datetime as dt
import json
import subprocess
import zoneinfo
from collections.abc import Iterator
from pathlib import Path
from unittest import mock

import pytest
from django.db import OperationalError
from django.utils import timezone
from django_otp.plugins.otp_totp.models import TOTPDevice
from playwright.sync_api import Browser, BrowserContext, Page, Playwright, expect

from tests import helpers
from tests.browser.conftest import assert_accessible, launch_chromium
from tests.factories import CentreFactory, SlotFactory, staff_at
from tests.staff_clients import authenticator_for, code_of
from vaxbook.accounts.models import StaffRole, User
from vaxbook.bookings import services
from vaxbook.bookings.models import Appointment, AppointmentStatus
from vaxbook.centres.models import Centre
from vaxbook.credentials.qr import qr_png
from vaxbook.credentials.tokens import issue_token

# The live server's pages read availability from the replica alias (the test database's
# mirror), so these tests allow it: otherwise Django's guard against it, installed on the
# connection the server thread shares, outlives the test and breaks later ones.
pytestmark = pytest.mark.django_db(transaction=True, databases=["default", "replica"])

FFMPEG = "/usr/bin/ffmpeg"
STAFF_PASSWORD = "a-long-test-password"  # tests.factories.UserFactory's


def zone_where_it_is_about_noon() -> str:
    """A fixed-offset zone in which the time now is between 12:00 and 13:00."""
    offset = 12 - dt.datetime.now(dt.UTC).hour  # hours ahead of UTC, -11..12
    # POSIX naming, inverted: Etc/GMT-5 is five hours ahead of UTC.
    return "UTC" if offset == 0 else f"Etc/GMT{-offset:+d}"


def zone_of_another_day(centre_zone: str) -> str:
    """A zone for the tablet's own clock in which the date now is not the centre's date,
    so a page that used the device's date instead of the centre's would fail."""
    offset = 12 - dt.datetime.now(dt.UTC).hour
    device_offset = offset + 12 if offset + 12 <= 14 else offset - 13
    return "UTC" if device_offset == 0 else f"Etc/GMT{-device_offset:+d}"


@pytest.fixture
def centre() -> Centre:
    return CentreFactory(name="Centro de Salud Norte", time_zone=zone_where_it_is_about_noon())


def book(
    centre: Centre, *, day_offset: int = 0, hour: int = 23, name: str = "Ada Lovelace"
) -> Appointment:
    """An appointment at `hour` (centre time) `day_offset` days from today, booked two days
    before."""
    zone = zoneinfo.ZoneInfo(centre.time_zone)
    day = timezone.now().astimezone(zone).date() + dt.timedelta(days=day_offset)
    slot = SlotFactory(centre=centre, starts_at=dt.datetime.combine(day, dt.time(hour), zone))
    return helpers.book(slot, full_name=name, date_of_birth=dt.date(1961, 2, 28))


@pytest.fixture
def appointment(centre) -> Appointment:
    return book(centre)


@pytest.fixture
def token(appointment) -> str:
    return issue_token(appointment)


@pytest.fixture
def receptionist(centre) -> User:
    user = staff_at(centre, StaffRole.RECEPTIONIST)
    authenticator_for(user)
    return user


def validate_path(centre: Centre) -> str:
    return f"/staff/centres/{centre.pk}/validate/"


def sign_in_and_open_scan_page(page: Page, user: User, centre: Centre) -> None:
    """Through the staff sign-in pages: password, then the authenticator's code."""
    page.goto(f"/staff/sign-in/?next={validate_path(centre)}")
    page.get_by_label("Email address").fill(user.email)
    page.get_by_label("Password").fill(STAFF_PASSWORD)
    page.get_by_role("button", name="Continue").click()
    code = code_of(TOTPDevice.objects.get(user=user))
    page.get_by_label("Code from your authenticator app").fill(code)
    page.get_by_role("button", name="Sign in").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Validate an appointment")


def queue_key(user: User, centre: Centre) -> str:
    return f"vaxbook.queue.{user.pk}.{centre.pk}"


def wait_until_saved_for_offline(page: Page, centre: Centre) -> None:
    """The page keeps the key set and today's list once it has fetched them."""
    page.wait_for_function(
        "(centre) => localStorage.getItem('vaxbook.jwks') &&"
        " localStorage.getItem('vaxbook.day.' + centre)",
        arg=centre.pk,
    )


# --- the camera ----------------------------------------------------------------------------


@pytest.fixture
def camera_showing(tmp_path: Path, token: str) -> Path:
    """A fake camera's video: the confirmation's QR code (as the email carries it) on a
    white page, for Chromium's fake video capture."""
    png = tmp_path / "qr.png"
    png.write_bytes(qr_png(token))
    video = tmp_path / "qr.y4m"
    subprocess.run(  # noqa: S603 (fixed arguments, our own files)
        [
            FFMPEG,
            "-loglevel",
            "error",
            "-loop",
            "1",
            "-i",
            str(png),
            "-vf",
            "pad=ceil((iw+120)/2)*2:ceil((ih+120)/2)*2:60:60:white",
            "-t",
            "1",
            "-r",
            "5",
            "-pix_fmt",
            "yuv420p",
            str(video),
        ],
        check=True,
    )
    return video


@pytest.fixture
def camera_browser(playwright_driver: Playwright, camera_showing: Path) -> Iterator[Browser]:
    browser = launch_chromium(
        playwright_driver,
        "--use-fake-device-for-media-stream",
        f"--use-file-for-fake-video-capture={camera_showing}",
        "--use-fake-ui-for-media-stream",
    )
    yield browser
    browser.close()


@pytest.fixture
def camera_page(camera_browser: Browser, live_server) -> Iterator[Page]:
    context = camera_browser.new_context(base_url=live_server.url, locale="en-GB")
    context.set_default_timeout(15_000)
    yield context.new_page()
    context.close()


def test_the_camera_reads_the_code_then_a_second_scan_says_already_checked_in(
    camera_page: Page, centre, receptionist, appointment
) -> None:
    page = camera_page
    sign_in_and_open_scan_page(page, receptionist, centre)

    page.get_by_role("button", name="Scan with camera").click()

    outcome = page.locator("#server-outcome")
    expect(outcome).to_have_attribute("data-outcome", "valid")
    expect(outcome.locator(".holder-name")).to_have_text("Ada Lovelace")
    expect(outcome.locator(".holder-dob")).to_have_text("28 February 1961")

    outcome.get_by_role("button", name="Check in").click()

    expect(page.locator("#server-outcome .outcome-headline")).to_have_text("Checked in")
    appointment.refresh_from_db()
    assert appointment.status == AppointmentStatus.CHECKED_IN
    assert appointment.checked_in_by == receptionist

    page.get_by_role("button", name="Scan with camera").click()

    expect(page.locator("#server-outcome")).to_have_attribute("data-outcome", "already_checked_in")
    expect(page.locator("#server-outcome .outcome-detail")).to_contain_text(receptionist.email)
    checked_in_at = appointment.checked_in_at
    appointment.refresh_from_db()
    assert appointment.checked_in_at == checked_in_at


def test_without_a_camera_the_page_says_so_and_the_typed_form_still_works(
    page: Page, centre, receptionist, appointment
) -> None:
    sign_in_and_open_scan_page(page, receptionist, centre)

    # The shared browser has no camera device at all.
    page.get_by_role("button", name="Scan with camera").click()

    expect(page.locator("#scan-camera-status")).to_contain_text("could not be opened")
    page.get_by_label("Booking reference or scanned code").fill(appointment.display_reference)
    page.get_by_role("button", name="Validate").click()
    expect(page.locator("#server-outcome")).to_have_attribute("data-outcome", "valid")


# --- offline -------------------------------------------------------------------------------


@pytest.fixture
def tablet(browser: Browser, live_server, centre) -> Iterator[BrowserContext]:
    """A tablet whose own clock is in a zone where the date is not the centre's date."""
    context = browser.new_context(
        base_url=live_server.url,
        viewport={"width": 800, "height": 1280},
        locale="en-GB",
        timezone_id=zone_of_another_day(centre.time_zone),
    )
    context.set_default_timeout(15_000)
    yield context
    context.close()


def present_offline(page: Page, presented: str) -> None:
    page.get_by_label("Booking reference or scanned code").fill(presented)
    page.get_by_role("button", name="Validate").click()


def test_offline_a_confirmation_is_verified_queued_and_sent_once_on_reconnection(
    tablet: BrowserContext, live_server, centre, receptionist, appointment, token
) -> None:
    page = tablet.new_page()
    sign_in_and_open_scan_page(page, receptionist, centre)
    wait_until_saved_for_offline(page, centre)

    tablet.set_offline(True)

    expect(page.locator("#scan-offline-banner")).to_be_visible()
    present_offline(page, token)
    outcome = page.locator("#scan-offline-outcome")
    expect(outcome).to_have_attribute("data-outcome", "valid")
    expect(outcome.locator(".outcome-headline")).to_have_text(
        "Authentic, for this centre, for today"
    )
    expect(outcome.locator(".holder-name")).to_have_text("Ada Lovelace")
    expect(outcome.locator(".holder-dob")).to_have_text("28 February 1961")
    assert_accessible(page)

    outcome.get_by_role("button", name="Check in (will be sent when back online)").click()

    expect(outcome).to_have_attribute("data-outcome", "queued")
    expect(page.locator("#scan-queue-count")).to_have_text("Check-ins waiting to be sent: 1")
    appointment.refresh_from_db()
    assert appointment.status == AppointmentStatus.BOOKED  # nothing has reached the server

    # The same person presented again on this device: the queue knows.
    present_offline(page, token)
    expect(outcome).to_have_attribute("data-outcome", "already_checked_in")
    expect(outcome.locator(".outcome-detail")).to_contain_text("waiting to be sent")
    queued = page.evaluate("(key) => localStorage.getItem(key)", queue_key(receptionist, centre))
    assert len(json.loads(queued)) == 1

    tablet.set_offline(False)

    sent = page.locator("#scan-sent li")
    expect(sent).to_have_count(1)
    expect(sent).to_have_attribute("data-outcome", "valid")
    expect(sent.locator("strong")).to_have_text("Checked in")
    expect(page.locator("#scan-queue-count")).to_have_text("Check-ins waiting to be sent: 0")
    expect(page.get_by_role("button", name="Send them now")).to_be_hidden()
    expect(page.locator("#scan-offline-banner")).to_be_hidden()
    expect(outcome).to_be_hidden()  # the server's answer replaces the device's
    appointment.refresh_from_db()
    assert appointment.status == AppointmentStatus.CHECKED_IN
    assert appointment.checked_in_by == receptionist
    first_check_in = appointment.checked_in_at

    # The same queued item sent again (a lost answer, a restored backup): the server
    # answers already_checked_in, and the check-in stays the first one.
    page.evaluate(
        "([key, queued]) => localStorage.setItem(key, queued)",
        [queue_key(receptionist, centre), queued],
    )
    page.reload()

    sent = page.locator("#scan-sent li")
    expect(sent).to_have_count(1)
    expect(sent).to_have_attribute("data-outcome", "already_checked_in")
    expect(sent).to_contain_text(receptionist.email)
    expect(page.locator("#scan-queue-count")).to_have_text("Check-ins waiting to be sent: 0")
    appointment.refresh_from_db()
    assert appointment.status == AppointmentStatus.CHECKED_IN
    assert appointment.checked_in_at == first_check_in

    # The day's list names people: it does not stay on the tablet after signing out.
    page.get_by_role("button", name="Sign out").click()
    expect(page).to_have_url(live_server.url + "/")
    saved = page.evaluate("(centre) => localStorage.getItem('vaxbook.day.' + centre)", centre.pk)
    assert saved is None


def test_while_the_server_cannot_reach_its_database_the_device_checks_and_queues(
    tablet: BrowserContext, centre, receptionist, appointment, token
) -> None:
    page = tablet.new_page()
    sign_in_and_open_scan_page(page, receptionist, centre)
    wait_until_saved_for_offline(page, centre)

    # The device is online and the server answers, but every query fails: the health
    # check says 503, and so would the validation the form would post.
    with mock.patch(
        "django.db.backends.utils.CursorWrapper.execute",
        side_effect=OperationalError("connection refused"),
    ):
        present_offline(page, token)
        outcome = page.locator("#scan-offline-outcome")
        expect(outcome).to_have_attribute("data-outcome", "valid")
        expect(page.locator("#scan-offline-banner")).to_be_visible()
        outcome.get_by_role("button", name="Check in (will be sent when back online)").click()
        expect(outcome).to_have_attribute("data-outcome", "queued")
        # The page tried to send it at once: the server's 503 keeps it on the device.
        expect(page.locator("#scan-queue-problem")).to_have_text(
            "The waiting check-ins could not be sent. They stay on this device and are sent "
            "when the connection is back."
        )
        expect(page.locator("#scan-queue-count")).to_have_text("Check-ins waiting to be sent: 1")

    appointment.refresh_from_db()
    assert appointment.status == AppointmentStatus.BOOKED

    # The database is back: the page sends what waited on the device.
    page.reload()
    sent = page.locator("#scan-sent li")
    expect(sent).to_have_count(1)
    expect(sent).to_have_attribute("data-outcome", "valid")
    expect(page.locator("#scan-queue-count")).to_have_text("Check-ins waiting to be sent: 0")
    appointment.refresh_from_db()
    assert appointment.status == AppointmentStatus.CHECKED_IN
    assert appointment.checked_in_by == receptionist


def test_offline_the_page_says_exactly_why_a_confirmation_is_not_valid_here_today(
    tablet: BrowserContext, centre, receptionist, appointment, token
) -> None:
    tomorrow = issue_token(book(centre, day_offset=1, name="Grace Hopper"))
    yesterday = issue_token(book(centre, day_offset=-1, name="Alan Turing"))
    elsewhere = issue_token(book(CentreFactory(time_zone=centre.time_zone), name="Emmy Noether"))
    header, payload, signature = token.split(".")
    tampered = (
        f"{header}.{payload[:-2]}{'A' if payload[-2] != 'A' else 'B'}{payload[-1]}.{signature}"
    )
    cancelled = book(centre, hour=22, name="Ida Rhodes")
    services.cancel_appointment(person=cancelled.person, appointment_id=cancelled.pk)
    page = tablet.new_page()
    sign_in_and_open_scan_page(page, receptionist, centre)
    wait_until_saved_for_offline(page, centre)
    tablet.set_offline(True)
    outcome = page.locator("#scan-offline-outcome")

    for presented, expected in [
        (tampered, "invalid_signature"),
        ("eyJhbGciOi.e30.c2ln", "invalid_signature"),
        (elsewhere, "wrong_centre"),
        (tomorrow, "too_early"),
        (yesterday, "expired"),
        (issue_token(cancelled), "cancelled"),
        ("ABC-DEF-GH7", "unknown_reference"),
    ]:
        present_offline(page, presented)
        expect(outcome).to_have_attribute("data-outcome", expected)
        expect(outcome.get_by_role("button")).to_have_count(0)

    # A typed reference has no signature: the saved list vouches for it.
    present_offline(page, appointment.display_reference.lower())
    expect(outcome).to_have_attribute("data-outcome", "valid")
    expect(outcome.locator(".outcome-headline")).to_have_text(
        "On today\u2019s list for this centre"
    )
    expect(outcome.locator(".holder-name")).to_have_text("Ada Lovelace")
    appointment.refresh_from_db()
    assert appointment.status == AppointmentStatus.BOOKED
