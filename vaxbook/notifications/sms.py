"""Sending SMS: one small interface, a backend per way of sending.

`settings.SMS_BACKEND` names the backend class (dotted path), like Django's email backends:

- `FileBackend` (the default): each SMS is a file under `settings.SMS_FILE_PATH` (var/sms/),
  for development and `make run`.
- `ConsoleBackend`: printed to standard output.
- `TwilioBackend`: Twilio's REST API, credentials from the environment.

An empty SMS_BACKEND turns SMS off: no SMS message is even written to the outbox.

A backend raises `SmsError` when the text was not accepted; `permanent` says whether
trying again later can help (a malformed number: no; a provider outage: yes). The delivery
task retries the others with backoff.
"""

import base64
import json
import os
import sys
import urllib.error
import urllib.parse
import urllib.request
import uuid
from pathlib import Path
from typing import TextIO

from django.conf import settings
from django.core.exceptions import ImproperlyConfigured
from django.utils import timezone
from django.utils.module_loading import import_string


class SmsError(Exception):
    def __init__(self, message: str, *, permanent: bool = False) -> None:
        super().__init__(message)
        self.permanent = permanent


class BaseSmsBackend:
    def send(self, to: str, text: str) -> None:
        """Hand `text` over for delivery to the phone number `to`, or raise SmsError."""
        raise NotImplementedError


class ConsoleBackend(BaseSmsBackend):
    def __init__(self, stream: TextIO | None = None) -> None:
        self.stream = stream

    def send(self, to: str, text: str) -> None:
        stream = self.stream or sys.stdout
        stream.write(f"SMS to {to}\n{text}\n{'-' * 40}\n")
        stream.flush()


class FileBackend(BaseSmsBackend):
    """One file per SMS, named so that `ls` lists them in the order they were sent."""

    def __init__(self, directory: Path | str | None = None) -> None:
        self.directory = Path(directory or settings.SMS_FILE_PATH)

    def send(self, to: str, text: str) -> None:
        self.directory.mkdir(parents=True, exist_ok=True)
        name = f"{timezone.now():%Y%m%d-%H%M%S-%f}-{uuid.uuid4().hex[:8]}.txt"
        # Exclusive creation: two workers never write into the same file.
        with (self.directory / name).open("x", encoding="utf-8") as file:
            file.write(f"To: {to}\n\n{text}\n")


class TwilioBackend(BaseSmsBackend):
    """Twilio's Messages API over HTTPS, with the standard library only.

    Environment: TWILIO_ACCOUNT_SID, TWILIO_AUTH_TOKEN and either TWILIO_FROM_NUMBER (an
    E.164 number) or TWILIO_MESSAGING_SERVICE_SID. Numbers are sent as stored; Twilio
    refuses one that is not E.164 with a 400, which is a permanent failure.
    """

    API_URL = "https://api.twilio.com/2010-04-01/Accounts/{sid}/Messages.json"
    TIMEOUT_S = 15

    # Twilio answers 429 when we send too fast: worth trying again, like any 5xx.
    _TRANSIENT_STATUSES = frozenset({408, 429})

    def __init__(self) -> None:
        self.account_sid = os.environ.get("TWILIO_ACCOUNT_SID", "")
        self.auth_token = os.environ.get("TWILIO_AUTH_TOKEN", "")
        self.from_number = os.environ.get("TWILIO_FROM_NUMBER", "")
        self.messaging_service_sid = os.environ.get("TWILIO_MESSAGING_SERVICE_SID", "")
        if not (self.account_sid and self.auth_token):
            raise ImproperlyConfigured(
                "TwilioBackend needs TWILIO_ACCOUNT_SID and TWILIO_AUTH_TOKEN in the environment."
            )
        if not (self.from_number or self.messaging_service_sid):
            raise ImproperlyConfigured(
                "TwilioBackend needs TWILIO_FROM_NUMBER or TWILIO_MESSAGING_SERVICE_SID."
            )

    def send(self, to: str, text: str) -> None:
        fields = {"To": to, "Body": text}
        if self.messaging_service_sid:
            fields["MessagingServiceSid"] = self.messaging_service_sid
        else:
            fields["From"] = self.from_number
        credentials = base64.b64encode(f"{self.account_sid}:{self.auth_token}".encode()).decode()
        request = urllib.request.Request(  # noqa: S310 (a fixed https:// URL)
            self.API_URL.format(sid=urllib.parse.quote(self.account_sid, safe="")),
            data=urllib.parse.urlencode(fields).encode(),
            headers={
                "Authorization": f"Basic {credentials}",
                "Content-Type": "application/x-www-form-urlencoded",
                "Accept": "application/json",
            },
            method="POST",
        )
        try:
            with urllib.request.urlopen(request, timeout=self.TIMEOUT_S) as response:  # noqa: S310  # nosec B310 (a fixed https:// URL)
                response.read()
        except urllib.error.HTTPError as error:
            permanent = error.code < 500 and error.code not in self._TRANSIENT_STATUSES
            raise SmsError(
                f"Twilio answered {error.code}: {_twilio_message(error)}", permanent=permanent
            ) from error
        except (urllib.error.URLError, TimeoutError, ConnectionError) as error:
            raise SmsError(f"Twilio could not be reached: {error}") from error


def _twilio_message(error: urllib.error.HTTPError) -> str:
    """Twilio's own explanation from an error body, e.g. "The 'To' number is not valid"."""
    try:
        body = json.loads(error.read() or b"{}")
    except (ValueError, OSError):
        return str(error.reason)
    return str(body.get("message") or error.reason) if isinstance(body, dict) else str(body)


def is_enabled() -> bool:
    return bool(getattr(settings, "SMS_BACKEND", ""))


def get_backend() -> BaseSmsBackend:
    """A new instance of settings.SMS_BACKEND (cheap: backends keep no connection)."""
    path = settings.SMS_BACKEND
    if not path:
        raise ImproperlyConfigured("SMS is turned off (SMS_BACKEND is empty).")
    backend: BaseSmsBackend = import_string(path)()
    return backend
