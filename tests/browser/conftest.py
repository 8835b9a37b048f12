"""Browser tests: headless Debian Chromium driven by Playwright against pytest-django's
live server.

Playwright cannot download its own browser here; it drives the system Chromium, which
.ci/run installs with apt-get. Playwright runs an event loop in the test thread, so Django
must be told that ORM calls from the test body are fine (they are synchronous and do not
share the loop).
"""

import os
import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.sync_api import Browser, BrowserContext, Page, Playwright, sync_playwright

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
PHONE = {"width": 390, "height": 844}


@pytest.fixture(autouse=True)
def _allow_orm_calls_beside_playwright(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DJANGO_ALLOW_ASYNC_UNSAFE", "true")


@pytest.fixture(scope="session")
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


@pytest.fixture(scope="session")
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
