"""The shared browser fixtures of tests/browser/conftest.py (system Chromium through
Playwright, the live server), for the scan page's browser tests.

Imported rather than copied. pytest only lets a conftest see the directory it is in, and
pytest_plugins is refused outside the top-level conftest, so the fixtures are imported by
name; the leading-underscore autouse fixture is named explicitly because `import *` skips
it.
"""

from tests.browser.conftest import (  # noqa: F401 (fixtures, found by name)
    _allow_orm_calls_beside_playwright,
    browser,
    context,
    page,
    playwright_driver,
)
