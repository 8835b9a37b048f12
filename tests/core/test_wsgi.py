"""What a server worker does when it loads the application, before its first request."""

import json
import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]

# Runs in a new interpreter, as a server worker does: import the WSGI module, then report.
_PROBE = """
import gc, json, sys
import config.wsgi
print(json.dumps({
    "api_loaded": "vaxbook.bookings.api" in sys.modules,
    "pages_loaded": "vaxbook.bookings.views" in sys.modules,
    "frozen": gc.get_freeze_count(),
}))
"""


def test_a_worker_loads_every_view_and_freezes_it_before_its_first_request() -> None:
    # The first request used to import the URLconf itself (0.2 s, with requests queued
    # behind it), and the first full garbage collection scanned all of it (30-50 ms).
    done = subprocess.run(  # noqa: S603 (our own interpreter and code)
        [sys.executable, "-c", _PROBE],
        cwd=ROOT,
        env={**os.environ, "DJANGO_SETTINGS_MODULE": "config.settings"},
        capture_output=True,
        text=True,
        timeout=120,
        check=True,
    )
    loaded = json.loads(done.stdout.strip().splitlines()[-1])
    assert loaded["api_loaded"]
    assert loaded["pages_loaded"]
    assert loaded["frozen"] > 10_000
