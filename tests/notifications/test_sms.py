"""SMS: the backends, and texts going through whichever one is configured."""

import base64
import datetime as dt
import io
import json
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Iterator
from email.message import Message as HeaderMessage
from pathlib import Path
from typing import ClassVar

import pytest
import time_machine
from django.conf import LazySettings
from django.core.exceptions import ImproperlyConfigured

from tests.notifications.test_delivery import (
    START,
    book,
    message_of,
    run_worker,
    use_test_settings,
)
from vaxbook.notifications import sms
from vaxbook.notifications.events import Channel, Event
from vaxbook.notifications.models import Message, MessageStatus


@pytest.fixture(autouse=True)
def notification_settings(settings: LazySettings, tmp_path: Path) -> None:
    use_test_settings(settings, tmp_path)


@pytest.fixture
def clock() -> Iterator[time_machine.Traveller]:
    with time_machine.travel(START, tick=False) as traveller:
        yield traveller


class RecordingBackend(sms.BaseSmsBackend):
    """Keeps what it is given; refuses the first `failures` texts with `error`."""

    sent: ClassVar[list[tuple[str, str]]] = []
    failures: ClassVar[int] = 0
    error: ClassVar[sms.SmsError] = sms.SmsError("provider unavailable")

    def send(self, to: str, text: str) -> None:
        if RecordingBackend.failures:
            RecordingBackend.failures -= 1
            raise RecordingBackend.error
        RecordingBackend.sent.append((to, text))


@pytest.fixture
def recording_backend(settings: LazySettings) -> Iterator[type[RecordingBackend]]:
    settings.SMS_BACKEND = f"{__name__}.RecordingBackend"
    RecordingBackend.sent = []
    RecordingBackend.failures = 0
    yield RecordingBackend
    RecordingBackend.sent = []
    RecordingBackend.failures = 0


# --- through the configured backend ---------------------------------------------------


@pytest.mark.django_db(transaction=True)
def test_a_booking_texts_the_person_through_the_configured_backend(
    clock, recording_backend
) -> None:
    appointment = book(phone="+34600000001")

    run_worker()

    assert len(recording_backend.sent) == 1
    to, text = recording_backend.sent[0]
    assert to == "+34600000001"
    assert appointment.display_reference in text
    assert message_of(appointment, Event.BOOKED, Channel.SMS).status == MessageStatus.SENT
    assert message_of(appointment, Event.BOOKED, Channel.EMAIL).status == MessageStatus.SENT


@pytest.mark.django_db(transaction=True)
def test_the_default_backend_writes_texts_under_var_sms(clock, settings: LazySettings) -> None:
    appointment = book(phone="+34600000001")

    run_worker()

    (written,) = Path(settings.SMS_FILE_PATH).iterdir()
    content = written.read_text()
    assert content.startswith("To: +34600000001\n\n")
    assert appointment.display_reference in content


@pytest.mark.django_db(transaction=True)
def test_a_provider_outage_is_retried_and_the_text_sent_once(clock, recording_backend) -> None:
    recording_backend.failures = 2
    appointment = book(phone="+34600000001")
    text_message = message_of(appointment, Event.BOOKED, Channel.SMS)

    for delay in (dt.timedelta(0), dt.timedelta(seconds=30), dt.timedelta(minutes=1)):
        clock.shift(delay)
        run_worker()

    text_message.refresh_from_db()
    assert text_message.status == MessageStatus.SENT
    assert text_message.attempts == 3
    assert len(recording_backend.sent) == 1


@pytest.mark.django_db(transaction=True)
def test_a_refused_number_fails_at_once(clock, recording_backend) -> None:
    recording_backend.failures = 1
    recording_backend.error = sms.SmsError("Twilio answered 400: not a number", permanent=True)
    appointment = book(phone="+34600000001")

    run_worker()

    text_message = message_of(appointment, Event.BOOKED, Channel.SMS)
    assert text_message.status == MessageStatus.FAILED
    assert text_message.last_error == "SmsError: Twilio answered 400: not a number"
    assert message_of(appointment, Event.BOOKED, Channel.EMAIL).status == MessageStatus.SENT


@pytest.mark.django_db
def test_no_text_for_a_person_without_a_phone(clock, recording_backend) -> None:
    book(phone="")

    assert not Message.objects.filter(channel=Channel.SMS).exists()


@pytest.mark.django_db
def test_no_text_when_sms_is_turned_off(clock, settings: LazySettings) -> None:
    settings.SMS_BACKEND = ""

    book(phone="+34600000001")

    assert not Message.objects.filter(channel=Channel.SMS).exists()
    assert sms.is_enabled() is False
    with pytest.raises(ImproperlyConfigured):
        sms.get_backend()


# --- the backends ---------------------------------------------------------------------


def test_get_backend_follows_the_setting(settings: LazySettings) -> None:
    settings.SMS_BACKEND = "vaxbook.notifications.sms.ConsoleBackend"
    assert isinstance(sms.get_backend(), sms.ConsoleBackend)
    settings.SMS_BACKEND = "vaxbook.notifications.sms.FileBackend"
    assert isinstance(sms.get_backend(), sms.FileBackend)


def test_the_file_backend_writes_one_file_per_text(tmp_path: Path) -> None:
    backend = sms.FileBackend(tmp_path / "sms")

    backend.send("+34600000001", "first")
    backend.send("+34600000002", "second")

    contents = sorted(path.read_text() for path in (tmp_path / "sms").iterdir())
    assert contents == ["To: +34600000001\n\nfirst\n", "To: +34600000002\n\nsecond\n"]


def test_the_console_backend_prints_the_text() -> None:
    stream = io.StringIO()

    sms.ConsoleBackend(stream).send("+34600000001", "Your vaccination")

    assert stream.getvalue().startswith("SMS to +34600000001\nYour vaccination\n")


# --- Twilio, with urlopen standing in for the network ---------------------------------


@pytest.fixture
def twilio_environment(monkeypatch) -> None:
    monkeypatch.setenv("TWILIO_ACCOUNT_SID", "AC0123456789")
    monkeypatch.setenv("TWILIO_AUTH_TOKEN", "secret-token")
    monkeypatch.setenv("TWILIO_FROM_NUMBER", "+15005550006")
    monkeypatch.delenv("TWILIO_MESSAGING_SERVICE_SID", raising=False)


class FakeUrlopen:
    """Records the request; answers with `error`, or 201 Created."""

    def __init__(self, error: Exception | None = None) -> None:
        self.error = error
        self.requests: list[tuple[urllib.request.Request, float]] = []

    def __call__(self, request: urllib.request.Request, timeout: float) -> io.BytesIO:
        self.requests.append((request, timeout))
        if self.error is not None:
            raise self.error
        return io.BytesIO(b'{"sid": "SM1", "status": "queued"}')


def http_error(code: int, body: dict[str, object]) -> urllib.error.HTTPError:
    return urllib.error.HTTPError(
        "https://api.twilio.com/",
        code,
        "error",
        HeaderMessage(),
        io.BytesIO(json.dumps(body).encode()),
    )


def test_twilio_posts_the_text_with_basic_auth(twilio_environment, monkeypatch) -> None:
    urlopen = FakeUrlopen()
    monkeypatch.setattr(urllib.request, "urlopen", urlopen)

    sms.TwilioBackend().send("+34600000001", "Your vaccination: ABC-DEF-GH7")

    ((request, timeout),) = urlopen.requests
    assert request.full_url == (
        "https://api.twilio.com/2010-04-01/Accounts/AC0123456789/Messages.json"
    )
    assert request.get_method() == "POST"
    assert timeout == sms.TwilioBackend.TIMEOUT_S
    credentials = base64.b64encode(b"AC0123456789:secret-token").decode()
    assert request.get_header("Authorization") == f"Basic {credentials}"
    assert isinstance(request.data, bytes)
    assert urllib.parse.parse_qs(request.data.decode()) == {
        "To": ["+34600000001"],
        "Body": ["Your vaccination: ABC-DEF-GH7"],
        "From": ["+15005550006"],
    }


def test_twilio_can_send_from_a_messaging_service(twilio_environment, monkeypatch) -> None:
    monkeypatch.setenv("TWILIO_MESSAGING_SERVICE_SID", "MG42")
    urlopen = FakeUrlopen()
    monkeypatch.setattr(urllib.request, "urlopen", urlopen)

    sms.TwilioBackend().send("+34600000001", "hello")

    ((request, _timeout),) = urlopen.requests
    assert isinstance(request.data, bytes)
    fields = urllib.parse.parse_qs(request.data.decode())
    assert fields["MessagingServiceSid"] == ["MG42"]
    assert "From" not in fields


@pytest.mark.parametrize(
    ("error", "permanent"),
    [
        (http_error(400, {"message": "The 'To' number is not valid."}), True),
        (http_error(401, {"message": "Authenticate"}), True),
        (http_error(429, {"message": "Too Many Requests"}), False),
        (http_error(503, {"message": "Service Unavailable"}), False),
        (urllib.error.URLError("Name or service not known"), False),
        (TimeoutError("timed out"), False),
    ],
)
def test_twilio_failures_say_whether_to_try_again(
    twilio_environment, monkeypatch, error: Exception, permanent: bool
) -> None:
    monkeypatch.setattr(urllib.request, "urlopen", FakeUrlopen(error))

    with pytest.raises(sms.SmsError) as refused:
        sms.TwilioBackend().send("+34600000001", "hello")

    assert refused.value.permanent is permanent


def test_twilio_explains_a_refusal_in_its_own_words(twilio_environment, monkeypatch) -> None:
    error = http_error(400, {"code": 21211, "message": "The 'To' number is not valid."})
    monkeypatch.setattr(urllib.request, "urlopen", FakeUrlopen(error))

    with pytest.raises(sms.SmsError, match=r"Twilio answered 400: The 'To' number is not valid\."):
        sms.TwilioBackend().send("12", "hello")


@pytest.mark.parametrize(
    "missing", ["TWILIO_ACCOUNT_SID", "TWILIO_AUTH_TOKEN", "TWILIO_FROM_NUMBER"]
)
def test_twilio_without_its_credentials_refuses_to_start(
    twilio_environment, monkeypatch, missing: str
) -> None:
    monkeypatch.delenv(missing)

    with pytest.raises(ImproperlyConfigured):
        sms.TwilioBackend()
