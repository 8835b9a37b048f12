"""The privacy, cookies, accessibility and help pages fit a phone in both languages: no
sideways scrolling at 390 px, tables included."""

import pytest
from playwright.sync_api import BrowserContext

from tests.browser.conftest import PHONE

pytestmark = pytest.mark.django_db(transaction=True, databases=["default", "replica"])


@pytest.mark.parametrize("language", ["en", "es"])
def test_the_public_pages_fit_a_phone(request: pytest.FixtureRequest, live_server, language):
    context: BrowserContext = request.getfixturevalue(
        "context" if language == "en" else "spanish_context"
    )
    page = context.new_page()
    too_wide = {}
    for path in ["/privacy/", "/cookies/", "/accessibility/", "/help/"]:
        page.goto(path)
        width = page.evaluate("document.documentElement.scrollWidth")
        if width > PHONE["width"]:
            too_wide[path] = width
    assert not too_wide
