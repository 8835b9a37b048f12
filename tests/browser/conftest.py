"""Browser tests: headless Debian Chromium driven by Playwright against pytest-django's
live server.

Playwright cannot download its own browser here; it drives the system Chromium, which
.ci/run installs with apt-get. Playwright runs an event loop in the test thread, so Django
must be told that ORM calls from the test body are fine (they are synchronous and do not
share the loop).
"""

import os
import shutil
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from axe_playwright_python.sync_playwright import Axe  # type: ignore[import-untyped]
from django.conf import settings
from django.test import Client
from playwright.sync_api import (
    Browser,
    BrowserContext,
    Page,
    Playwright,
    ViewportSize,
    sync_playwright,
)

from vaxbook.accounts.models import User

CHROMIUM = os.environ.get("CHROMIUM_PATH") or shutil.which("chromium") or "/usr/bin/chromium"

CHROMIUM_FLAGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]

# A phone-sized viewport: the citizen pages are built phone first.
PHONE: ViewportSize = {"width": 390, "height": 844}


@pytest.fixture(autouse=True, scope="session")
def _allow_orm_calls_beside_playwright() -> None:
    # Never undone: Playwright's event loop stays in the test thread from the first browser
    # test on, and pytest-django's flush of the database after each test runs beside it.
    os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = "true"


# Package scope: each test package that imports these fixtures (tests/checkin/browser does)
# starts its own driver after the previous one stopped; Playwright's sync API allows only one
# at a time in a thread.
@pytest.fixture(scope="package")
def playwright_driver() -> Iterator[Playwright]:
    if not Path(CHROMIUM).exists():
        pytest.fail(f"Chromium not found at {CHROMIUM}: .ci/run installs it (apt-get chromium)")
    os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = "true"
    with sync_playwright() as driver:
        yield driver


def launch_chromium(driver: Playwright, *extra_flags: str) -> Browser:
    """The system Chromium, headless, with `extra_flags` (a fake camera, for instance)."""
    return driver.chromium.launch(
        executable_path=CHROMIUM, args=[*CHROMIUM_FLAGS, *extra_flags], headless=True
    )


@pytest.fixture(scope="package")
def browser(playwright_driver: Playwright) -> Iterator[Browser]:
    browser = launch_chromium(playwright_driver)
    yield browser
    browser.close()


@pytest.fixture
def context(browser: Browser, live_server) -> Iterator[BrowserContext]:
    context = browser.new_context(base_url=live_server.url, viewport=PHONE, locale="en-GB")
    context.set_default_timeout(15_000)
    yield context
    context.close()


@pytest.fixture
def page(context: BrowserContext) -> Page:
    return context.new_page()


@pytest.fixture
def spanish_context(browser: Browser, live_server) -> Iterator[BrowserContext]:
    """A phone whose browser asks for Spanish (Accept-Language: es-ES)."""
    context = browser.new_context(base_url=live_server.url, viewport=PHONE, locale="es-ES")
    context.set_default_timeout(15_000)
    yield context
    context.close()


@pytest.fixture
def sign_in(live_server) -> Callable[[BrowserContext, User], None]:
    """Gives a browser context the session of a user, as if they had signed in.

    Most tests are about what comes after signing in; the sign-in page itself is driven
    through its form in the journey tests."""

    def give_session(context: BrowserContext, user: User) -> None:
        client = Client()
        client.force_login(user)
        session = client.cookies[settings.SESSION_COOKIE_NAME]
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

    return give_session


# WCAG 2.1 levels A and AA: the bar the issue sets, without axe's best-practice rules.
WCAG_21_AA = ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa"]


def axe_violations(page: Page) -> list[str]:
    """axe-core's WCAG 2.1 A/AA violations on the page as it is now, one line per element."""
    results = Axe().run(
        page,
        options={"runOnly": {"type": "tag", "values": WCAG_21_AA}, "resultTypes": ["violations"]},
    )
    return [
        f"{violation['id']} ({violation['impact']}): {violation['help']} at "
        f"{', '.join(map(str, node['target']))}: {node['html'][:160]}"
        for violation in results.response["violations"]
        for node in violation["nodes"]
    ]


def assert_accessible(page: Page) -> None:
    violations = axe_violations(page)
    assert not violations, f"{page.url}:\n" + "\n".join(violations)
