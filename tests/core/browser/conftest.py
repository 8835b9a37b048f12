"""The shared browser fixtures of tests/browser/conftest.py, imported by name (pytest lets
a conftest see only its own directory)."""

from tests.browser.conftest import (  # noqa: F401 (fixtures, found by name)
    _allow_orm_calls_beside_playwright,
    browser,
    context,
    page,
    playwright_driver,
    sign_in,
    spanish_context,
)
