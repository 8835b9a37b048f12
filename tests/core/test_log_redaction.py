"""No log line carries a secret from a URL: the password reset link's token is redacted in
the web server's access log and in Django's own log lines, through a whole reset (nginx's
access log: test_nginx_log.py)."""

import contextlib
import email
import http.cookiejar
import logging
import os
import re
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Iterator
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


def test_django_logs_under_debug_and_runservers_access_log_are_redacted() -> None:
    # In a process of its own, configured as `make dev` runs (DEBUG): Django's defaults give
    # the "django" and "django.server" loggers handlers of their own, which must redact too.
    logs = f"""
import logging
import django

django.setup()
logging.getLogger("django.request").warning("Not Found: %s", "{RESET_PATH}")
logging.getLogger("django.request").error("Internal Server Error: %s", "{RESET_PATH}")
logging.getLogger("django.server").info('"%s" %s %s', "GET {RESET_PATH} HTTP/1.1", "302", "0")
"""
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "config.settings",
        "SECRET_KEY": "insecure-key-for-checks-and-tests-only",
        "DEBUG": "true",
    }
    written = subprocess.run(  # noqa: S603
        [sys.executable, "-c", logs],
        cwd=ROOT,
        env=env,
        check=True,
        timeout=120,
        capture_output=True,
        text=True,
    ).stderr

    assert written.count("/password-reset/MQ/[redacted]/") == 3
    assert TOKEN not in written


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def server_environment(var_dir: Path, port: int) -> dict[str, str]:
    env = {
        **os.environ,
        "SECRET_KEY": "insecure-key-for-checks-and-tests-only",
        "VAXBOOK_VAR_DIR": str(var_dir),
        "DJANGO_SETTINGS_MODULE": "tests.core.fault_settings",
        "ALLOWED_HOSTS": "127.0.0.1",
        "HTTPS": "false",
        "PORT": str(port),
        "SITE_URL": f"http://127.0.0.1:{port}",
        "WEB_CONCURRENCY": "1",
        "WEB_THREADS": "1",
    }
    for name in ("DATABASE_URL", "REDIS_URL", "EMAIL_HOST"):
        env.pop(name, None)
    return env


def manage(env: dict[str, str], *arguments: str) -> str:
    return subprocess.run(  # noqa: S603
        [sys.executable, "manage.py", *arguments],
        cwd=ROOT,
        env=env,
        check=True,
        timeout=300,
        capture_output=True,
        text=True,
    ).stdout


@contextlib.contextmanager
def web_server(env: dict[str, str], log: Path) -> Iterator[str]:
    """deploy/web (granian, the access log as in production) on a migrated SQLite database,
    writing everything it logs to `log`; yields its address once it answers."""
    manage(env, "migrate", "--noinput", "-v0")
    address = f"http://127.0.0.1:{env['PORT']}"
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
                    urllib.request.urlopen(f"{address}/healthz", timeout=3)  # noqa: S310
                    break
                except urllib.error.HTTPError:
                    break
                except OSError:
                    time.sleep(0.2)
            yield address
            time.sleep(0.5)  # the access log line is written after the answer
        finally:
            web.terminate()
            web.wait(timeout=30)


def test_the_web_servers_access_log_does_not_carry_the_token(tmp_path: Path) -> None:
    port = free_port()
    log = tmp_path / "web.log"
    # An unknown user: the page says the link no longer works (4xx).
    with (
        web_server(server_environment(tmp_path, port), log) as address,
        contextlib.suppress(urllib.error.HTTPError),
    ):
        urllib.request.urlopen(f"{address}{RESET_PATH}", timeout=3)  # noqa: S310

    written = log.read_text()
    assert "/password-reset/MQ/[redacted]/" in written
    assert TOKEN not in written


class Browser:
    """Enough of a browser for Django's forms: cookies, redirects, the CSRF field."""

    def __init__(self, address: str) -> None:
        self.address = address
        self.opener = urllib.request.build_opener(
            urllib.request.HTTPCookieProcessor(http.cookiejar.CookieJar())
        )

    def get(self, path: str) -> tuple[str, str]:
        """The page's final address (after redirects) and its text."""
        with self.opener.open(self.address + path, timeout=10) as response:
            return response.geturl(), response.read().decode()

    def submit(self, path: str, fields: dict[str, str]) -> tuple[str, str]:
        """Fill in the form of the page at `path` (CSRF field included) and send it."""
        url, page = self.get(path)
        csrf = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', page)
        assert csrf, page
        data = urllib.parse.urlencode({"csrfmiddlewaretoken": csrf.group(1), **fields}).encode()
        with self.opener.open(url, data=data, timeout=10) as response:
            return response.geturl(), response.read().decode()


def test_a_password_reset_end_to_end_leaves_its_token_in_no_log(tmp_path: Path) -> None:
    port = free_port()
    env = server_environment(tmp_path, port)
    log = tmp_path / "web.log"
    with web_server(env, log) as address:
        manage(
            env,
            "shell",
            "-c",
            "from vaxbook.accounts.models import User; "
            "User.objects.create_user('ada@example.org', 'the-old-password-1815')",
        )
        browser = Browser(address)
        sent, _page = browser.submit("/password-reset/", {"email": "ada@example.org"})
        assert sent.endswith("/password-reset/sent/")
        worker = manage(env, "run_worker", "--batch", "--no-startup-delay", "-v2")
        (mail_file,) = (tmp_path / "mail").iterdir()
        # The file backend writes each message, then a line of dashes.
        message = email.message_from_string(mail_file.read_text().split("\n---")[0])
        payload = message.get_payload(decode=True)
        assert isinstance(payload, bytes)
        body = payload.decode()
        link = re.search(re.escape(address) + r"(/password-reset/[^/\s]+/([^/\s]+)/)", body)
        assert link, body
        path, token = link.groups()

        done, _page = browser.submit(
            path,
            {"new_password1": "mauve-lighthouse-1906", "new_password2": "mauve-lighthouse-1906"},
        )

    assert done.endswith("/password-reset/done/")
    assert (
        manage(
            env,
            "shell",
            "-c",
            "from vaxbook.accounts.models import User; "
            "print(User.objects.get().check_password('mauve-lighthouse-1906'))",
        ).splitlines()[-1]
        == "True"
    )
    written = log.read_text()
    assert f"{path.rsplit('/', 2)[0]}/[redacted]/" in written  # the link was followed
    assert token not in written
    assert token not in worker
