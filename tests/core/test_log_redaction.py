"""No log line carries a secret from a URL: the password reset link's token is redacted in
the web server's access log and in Django's own log lines."""

import logging
import os
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

from vaxbook.core.logging import RedactSecretPaths, redact

ROOT = Path(__file__).resolve().parents[2]
TOKEN = "cw1b2k-0f3c9d0e8a7b6c5d4e3f2a1b0c9d8e7f"
RESET_PATH = f"/password-reset/MQ/{TOKEN}/"


def test_a_reset_token_in_a_path_is_redacted_and_the_rest_kept() -> None:
    assert redact(f'"GET {RESET_PATH} HTTP/1.1" 200') == (
        '"GET /password-reset/MQ/[redacted]/ HTTP/1.1" 200'
    )
    assert redact("/centres/12/day/") == "/centres/12/day/"


def test_the_secret_of_a_registration_link_is_redacted() -> None:
    secret = "q9X_2-vR8sT0uW4yZ6aB1cD3eF5gH7iJ9kL0mN2oP4r"
    assert redact(f'"POST /register/confirm/{secret}/ HTTP/1.1" 302') == (
        '"POST /register/confirm/[redacted]/ HTTP/1.1" 302'
    )
    assert redact("/register/check-email/") == "/register/check-email/"


def test_djangos_log_lines_are_redacted() -> None:
    record = logging.LogRecord(
        "django.request", logging.WARNING, "", 0, "Not Found: %s", (RESET_PATH,), None
    )
    RedactSecretPaths().filter(record)
    assert TOKEN not in record.getMessage()


def test_the_web_servers_access_log_does_not_carry_the_token(tmp_path: Path) -> None:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    env = {
        **os.environ,
        "SECRET_KEY": "insecure-key-for-checks-and-tests-only",
        "VAXBOOK_VAR_DIR": str(tmp_path),
        "DJANGO_SETTINGS_MODULE": "tests.core.fault_settings",
        "ALLOWED_HOSTS": "127.0.0.1",
        "HTTPS": "false",
        "PORT": str(port),
        "WEB_CONCURRENCY": "1",
        "WEB_THREADS": "1",
    }
    for name in ("DATABASE_URL", "REDIS_URL"):
        env.pop(name, None)
    subprocess.run(
        [sys.executable, "manage.py", "migrate", "--noinput", "-v0"],
        cwd=ROOT,
        env=env,
        check=True,
        timeout=300,
    )
    log = tmp_path / "web.log"
    with log.open("wb") as output:
        web = subprocess.Popen(  # noqa: S603
            [str(ROOT / "deploy" / "web")],
            cwd=ROOT,
            env=env,
            stdout=output,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        try:
            for _ in range(150):
                try:
                    urllib.request.urlopen(f"http://127.0.0.1:{port}{RESET_PATH}", timeout=3)
                    break
                except urllib.error.HTTPError:
                    break
                except OSError:
                    time.sleep(0.2)
            time.sleep(0.5)  # the access log line is written after the answer
        finally:
            web.terminate()
            web.wait(timeout=30)

    written = log.read_text()
    assert "/password-reset/MQ/[redacted]/" in written
    assert TOKEN not in written
