"""The shared browser fixtures of tests/browser/conftest.py, imported by name (see
tests/checkin/browser/conftest.py for why)."""

import pytest

from tests.browser.conftest import (  # noqa: F401 (fixtures, found by name)
    _allow_orm_calls_beside_playwright,
    browser,
    context,
    page,
    playwright_driver,
    sign_in,
)


@pytest.fixture
def clock() -> None:
    """The live server runs on the real clock: no stopped time here (../conftest.py)."""
