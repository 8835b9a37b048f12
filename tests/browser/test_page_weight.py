"""The first visit to any citizen page (nothing cached) transfers under 100 KB, the QR code
of the confirmation aside: a phone on a weak connection gets every page quickly.

Bytes are counted as Chromium reports them (CDP Network.loadingFinished
encodedDataLength: headers and body as they crossed the wire) for every request a page
makes until it has loaded: the HTML, styles, scripts, images and fonts. The browser's cache
is off, so each page pays for its static files as on a first visit."""

from collections.abc import Callable

import pytest
from playwright.sync_api import Browser, BrowserContext, Page

from tests.browser.conftest import PHONE
from tests.browser.data import booked, clinic, fill_up
from tests.factories import CitizenFactory
from vaxbook.accounts.models import User

# The live server's pages read availability from the replica alias (the test database's
# mirror), so these tests allow it: otherwise Django's guard against it, installed on the
# connection the server thread shares, outlives the test and breaks later ones.
pytestmark = pytest.mark.django_db(transaction=True, databases=["default", "replica"])

LIMIT_BYTES = 100_000


class Meter:
    """Counts the bytes each page visit transfers, through Chromium's DevTools protocol."""

    def __init__(self, context: BrowserContext) -> None:
        self.page: Page = context.new_page()
        cdp = context.new_cdp_session(self.page)
        cdp.send("Network.enable")
        cdp.send("Network.setCacheDisabled", {"cacheDisabled": True})
        self.urls: dict[str, str] = {}
        self.sizes: dict[str, float] = {}
        cdp.on("Network.requestWillBeSent", self._started)
        cdp.on("Network.loadingFinished", self._finished)
        cdp.on("Network.loadingFailed", lambda event: self.sizes.update({event["requestId"]: 0}))

    def _started(self, event: dict) -> None:
        self.urls[event["requestId"]] = event["request"]["url"]

    def _finished(self, event: dict) -> None:
        self.sizes[event["requestId"]] = event["encodedDataLength"]

    def first_visit(self, path: str, *, status: int = 200) -> int:
        """Bytes transferred to show `path`, without the QR code."""
        self.urls.clear()
        self.sizes.clear()
        response = self.page.goto(path)
        assert response is not None
        assert response.status == status, path
        # Chromium may report the last requests' ends just after the load event.
        for _ in range(100):
            if self.urls.keys() <= self.sizes.keys():
                break
            self.page.wait_for_timeout(20)
        assert self.urls.keys() <= self.sizes.keys(), f"{path}: requests left unfinished"
        total = sum(
            size
            for request, size in self.sizes.items()
            # Leaving out what the previous page still had on its way.
            if request in self.urls and "qr.svg" not in self.urls[request]
        )
        # The confirmation carries its QR code inline, as SVG in the HTML.
        qr = self.page.locator(".qr svg")
        if qr.count():
            total -= len(qr.evaluate("svg => svg.outerHTML").encode())
        return int(total)


def test_every_citizen_page_transfers_under_100_kb_on_a_first_visit(
    browser: Browser, live_server, sign_in: Callable[[BrowserContext, User], None]
):
    place = clinic()
    fill_up(place.noon)
    person = CitizenFactory()
    appointment = booked(place.ten, person)
    day = place.ten.local_date.isoformat()
    weights: dict[str, int] = {}

    signed_out = browser.new_context(base_url=live_server.url, viewport=PHONE)
    meter = Meter(signed_out)
    for path in [
        "/",
        "/sign-in/",
        "/register/",
        "/check/",
        "/password-reset/",
        "/centres/?q=madrid",
    ]:
        weights[path] = meter.first_visit(path)
    weights["centre day"] = meter.first_visit(f"/centres/{place.centre.pk}/?date={day}")
    weights["404"] = meter.first_visit("/no-such-page/", status=404)
    signed_out.close()

    signed_in = browser.new_context(base_url=live_server.url, viewport=PHONE)
    sign_in(signed_in, person.user)
    meter = Meter(signed_in)
    weights["check your answers"] = meter.first_visit(f"/book/{place.dose_two.pk}/")
    weights["both doses"] = meter.first_visit(f"/book/{place.ten.pk}/both-doses/")
    weights["confirmation"] = meter.first_visit(f"/appointments/{appointment.pk}/")
    weights["my appointments"] = meter.first_visit("/appointments/")
    weights["cancel"] = meter.first_visit(f"/appointments/{appointment.pk}/cancel/")
    weights["reschedule"] = meter.first_visit(f"/appointments/{appointment.pk}/reschedule/")
    for path in ["/account/", "/account/details/", "/account/password/"]:
        weights[path] = meter.first_visit(path)
    signed_in.close()

    report = "\n".join(f"{size:>8,} B  {page}" for page, size in weights.items())
    assert all(0 < size < LIMIT_BYTES for size in weights.values()), report
