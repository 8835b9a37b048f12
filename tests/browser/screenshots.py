"""The README's screenshots of the citizen journey at phone size, on the demo data.

Not a test: run it by hand after a change to the pages, and commit the PNGs.

    .venv/bin/python tests/browser/screenshots.py            # writes docs/screenshots/*.png

It builds a throwaway SQLite database in a temporary directory, loads `seed_demo`, serves
the app in-process on a free port, and drives the system Chromium as the demo citizen:
search for a centre, check the answers, confirm, see the confirmation with its QR code.
Each PNG is reduced to a palette of colours, which keeps text sharp and the file small.
"""

from __future__ import annotations

import io
import os
import shutil
import sys
import tempfile
import warnings
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[2]
if str(REPO_ROOT) not in sys.path:
    sys.path.insert(0, str(REPO_ROOT))

OUTPUT = REPO_ROOT / "docs" / "screenshots"
MAX_BYTES = 150_000
COLOURS = 64

_var = tempfile.mkdtemp(prefix="vaxbook-screenshots-")
os.environ.update(
    {
        "DJANGO_SETTINGS_MODULE": "config.settings",
        "VAXBOOK_VAR_DIR": _var,
        "DATABASE_URL": f"sqlite:///{_var}/demo.sqlite3",
        "SECRET_KEY": "screenshots-only-not-a-secret",
        "DEBUG": "false",
        "ALLOWED_HOSTS": "localhost,127.0.0.1",
        # Playwright's event loop shares the thread with the ORM calls below.
        "DJANGO_ALLOW_ASYNC_UNSAFE": "true",
    }
)
warnings.filterwarnings("ignore", message="No directory at", category=UserWarning)


def serve() -> tuple[str, object]:
    """The app on a free local port, with static files, in a thread of this process."""
    from django.contrib.staticfiles.handlers import StaticFilesHandler
    from django.test.testcases import LiveServerThread

    server = LiveServerThread("localhost", StaticFilesHandler, port=0)
    server.daemon = True
    server.start()
    server.is_ready.wait()
    if server.error:
        raise server.error
    return f"http://localhost:{server.port}", server


def save(png: bytes, name: str) -> Path:
    from PIL import Image

    image = Image.open(io.BytesIO(png)).convert("RGB")
    small = image.quantize(
        colors=COLOURS, method=Image.Quantize.MEDIANCUT, dither=Image.Dither.NONE
    )
    buffer = io.BytesIO()
    small.save(buffer, format="PNG", optimize=True)
    path = OUTPUT / name
    path.write_bytes(buffer.getvalue())
    size = path.stat().st_size
    print(f"{path.relative_to(REPO_ROOT)}: {image.width}x{image.height}, {size:,} bytes")
    if size > MAX_BYTES:
        raise SystemExit(f"{name} is over {MAX_BYTES:,} bytes")
    return path


def main() -> int:
    import django

    django.setup()
    from django.conf import settings
    from django.core.management import call_command
    from django.db import connections
    from django.test.utils import override_settings
    from playwright.sync_api import expect, sync_playwright

    from tests.browser.conftest import CHROMIUM, CHROMIUM_FLAGS, PHONE
    from vaxbook.core.management.commands.seed_demo import CITIZEN_EMAIL, CITIZEN_PASSWORD

    # Static files are served from the apps' folders, without collectstatic's manifest.
    override_settings(
        STORAGES={
            **settings.STORAGES,
            "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
        }
    ).enable()
    call_command("migrate", verbosity=0, interactive=False)
    call_command("seed_demo", verbosity=0)
    base_url, server = serve()
    OUTPUT.mkdir(parents=True, exist_ok=True)

    with sync_playwright() as driver:
        browser = driver.chromium.launch(
            executable_path=CHROMIUM, args=CHROMIUM_FLAGS, headless=True
        )
        context = browser.new_context(
            base_url=base_url, viewport=PHONE, device_scale_factor=2, locale="en-GB"
        )
        page = context.new_page()

        page.goto("/sign-in/")
        page.get_by_label("Email address").fill(CITIZEN_EMAIL)
        page.get_by_label("Password").fill(CITIZEN_PASSWORD)
        page.get_by_role("main").get_by_role("button", name="Sign in").click()

        page.goto("/centres/")
        page.get_by_label("Town, postcode or centre name").fill("Madrid")
        page.get_by_role("button", name="Search").click()
        results = page.locator(".results")
        expect(results).to_be_visible()
        save(page.screenshot(), "1-search-results.png")

        results.get_by_role("link").first.click()
        page.locator("table.slots").get_by_role("link").first.click()
        expect(page.get_by_role("heading", level=1)).to_have_text("Check your appointment")
        save(page.screenshot(), "2-check-your-answers.png")

        page.get_by_role("button", name="Confirm and book").click()
        expect(page.locator(".reference")).to_be_visible()
        save(page.screenshot(), "3-confirmation.png")

        browser.close()
    server.terminate()  # type: ignore[attr-defined]
    connections.close_all()
    shutil.rmtree(_var, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
