"""Delivery of the outbox: written with the change it announces, sent once by the worker,
retried while the mail server refuses or is down, reclaimed after a crash.

The worker runs for real (`manage.py run_worker --batch`: what is due, then exit), and time
moves with time_machine so that the retries' `run_after` passes. Those tests commit for
real (`transaction=True`): the worker closes and reopens database connections, which a
test wrapped in a transaction would not survive.
"""

import datetime as dt
import email
import email.message
import email.policy
import itertools
import socket
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import time_machine
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import SMTP, Envelope, Session
from django.conf import LazySettings
from django.core import mail
from django.core.mail.backends.locmem import EmailBackend as LocmemBackend
from django.core.management import call_command
from django.core.management.base import CommandError
from django.db import DatabaseError, IntegrityError, OperationalError, connection, transaction
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django_tasks_db.management.commands import db_worker
from django_tasks_db.models import DBTaskResult

from tests.factories import CitizenFactory, SlotFactory, staff_at
from tests.helpers import database_out_of_reach
from vaxbook.bookings import services
from vaxbook.bookings.models import Appointment
from vaxbook.centres import policy
from vaxbook.centres.models import Slot
from vaxbook.notifications import services as notification_services
from vaxbook.notifications.events import Channel, Event
from vaxbook.notifications.management.commands import run_worker as run_worker_command
from vaxbook.notifications.models import Message, MessageStatus
from vaxbook.notifications.tasks import LEASE, MAX_ATTEMPTS, deliver_messages, enqueue_delivery

# A Monday in winter: Madrid is UTC+1, so the slots of tests.factories (tomorrow 10:00 in
# Madrid) start at 09:00 UTC on the 10th, and their reminder is due at 17:00 UTC today.
START = dt.datetime(2026, 3, 9, 9, 0, tzinfo=dt.UTC)
REMINDER_DUE = dt.datetime(2026, 3, 9, 17, 0, tzinfo=dt.UTC)


# --- helpers shared by the notification tests ---------------------------------------------


def use_test_settings(settings: LazySettings, tmp_path: Path) -> None:
    """Keys and SMS files of this test only; emails in django.core.mail.outbox."""
    settings.SIGNING_KEYS_PATH = tmp_path / "keys" / "signing-keys.json"
    settings.SIGNING_KEYS_JSON = ""
    settings.SMS_BACKEND = "vaxbook.notifications.sms.FileBackend"
    settings.SMS_FILE_PATH = tmp_path / "sms"
    settings.DEFAULT_FROM_EMAIL = "vaxbook <no-reply@vaccination.example.org>"
    settings.SITE_URL = "https://vaccination.example.org"


@pytest.fixture(autouse=True)
def notification_settings(settings: LazySettings, tmp_path: Path) -> None:
    use_test_settings(settings, tmp_path)


@pytest.fixture
def clock() -> Iterator[time_machine.Traveller]:
    with time_machine.travel(START, tick=False) as traveller:
        yield traveller


def run_worker() -> None:
    """The production worker, once over everything that is due, then it exits."""
    call_command("run_worker", batch=True, startup_delay=False, verbosity=0)


def book(*, phone: str = "", slot: Slot | None = None) -> Appointment:
    """An appointment booked through the booking service, tomorrow unless told otherwise."""
    person = CitizenFactory(phone=phone)
    slot = slot or SlotFactory()
    return services.book_appointment(person=person, slot_id=slot.pk, dose_number=1)


def book_for_today() -> Appointment:
    """An appointment this afternoon: no reminder, only the confirmation to send."""
    return book(slot=SlotFactory(starts_at=START + dt.timedelta(hours=5)))


def message_of(appointment: Appointment, event: Event, channel: Channel = Channel.EMAIL) -> Message:
    return Message.objects.get(appointment=appointment, event=event, channel=channel)


def drive_retries(
    clock: time_machine.Traveller,
    message: Message,
    *,
    before_each_round: object = None,
    rounds: int = 3 * MAX_ATTEMPTS,
) -> list[dt.datetime]:
    """Run the worker, move the clock to the message's next attempt, again, until the
    message is no longer pending. The times the worker ran at."""
    ran_at = []
    for _round in range(rounds):
        if callable(before_each_round):
            before_each_round()
        ran_at.append(dt.datetime.now(tz=dt.UTC))
        run_worker()
        message.refresh_from_db()
        if message.status != MessageStatus.PENDING:
            return ran_at
        clock.move_to(message.next_attempt_at)
    raise AssertionError(f"still pending after {rounds} rounds: {message.last_error}")


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


class SmtpServer:
    """A real SMTP server (aiosmtpd) on 127.0.0.1 that answers 451 ("try again later") to
    the first `refusals` messages, then accepts and keeps them."""

    def __init__(self, port: int, *, refusals: int = 0) -> None:
        self.port = port
        self.refusals = refusals
        self.refused = 0
        self.received: list[email.message.EmailMessage] = []
        self._controller: Controller | None = None

    async def handle_DATA(self, server: SMTP, session: Session, envelope: Envelope) -> str:
        if self.refused < self.refusals:
            self.refused += 1
            return "451 4.3.0 Mail server busy, try again later"
        assert isinstance(envelope.content, bytes)
        message = email.message_from_bytes(envelope.content, policy=email.policy.default)
        assert isinstance(message, email.message.EmailMessage)
        self.received.append(message)
        return "250 2.0.0 OK"

    def start(self) -> None:
        if self._controller is None:
            self._controller = Controller(self, hostname="127.0.0.1", port=self.port)
            self._controller.start()

    def stop(self) -> None:
        if self._controller is not None:
            self._controller.stop()
            self._controller = None


def send_mail_to(settings: LazySettings, port: int, *, timeout: float = 5) -> None:
    """Point Django's mail at an SMTP server on 127.0.0.1:`port`, plain text, no login."""
    smtp = "django.core.mail.backends.smtp.EmailBackend"
    if hasattr(settings, "MAILERS"):  # settings migrated to Django 6.1's MAILERS
        settings.MAILERS = {
            "default": {
                "BACKEND": smtp,
                "OPTIONS": {"host": "127.0.0.1", "port": port, "timeout": timeout},
            }
        }
    else:
        settings.EMAIL_BACKEND = smtp
        settings.EMAIL_HOST = "127.0.0.1"
        settings.EMAIL_PORT = port
        settings.EMAIL_HOST_USER = ""
        settings.EMAIL_HOST_PASSWORD = ""
        settings.EMAIL_USE_TLS = False
        settings.EMAIL_USE_SSL = False
        settings.EMAIL_TIMEOUT = timeout


@pytest.fixture
def mail_server(settings: LazySettings) -> Iterator[SmtpServer]:
    server = SmtpServer(free_port())
    send_mail_to(settings, server.port)
    server.start()
    yield server
    server.stop()


# --- written with the change, or not at all -----------------------------------------------


@pytest.mark.django_db
def test_a_booking_commits_its_messages_and_their_delivery(clock) -> None:
    appointment = book()

    confirmation = message_of(appointment, Event.BOOKED)
    reminder = message_of(appointment, Event.REMINDER)
    assert confirmation.status == reminder.status == MessageStatus.PENDING
    assert confirmation.next_attempt_at == START
    assert reminder.next_attempt_at == REMINDER_DUE
    # One task, to send the confirmation now and to schedule the reminder's own task.
    task = DBTaskResult.objects.ready().get()
    assert task.args_kwargs == {"args": [[confirmation.pk], [reminder.pk]], "kwargs": {}}
    assert DBTaskResult.objects.count() == 1


@pytest.mark.django_db
def test_the_booking_writes_the_task_row_the_task_library_would_write(clock) -> None:
    # The booking inserts its task with its own statement (tasks.enqueue_delivery): the
    # worker must see exactly what deliver_messages.enqueue() makes.
    enqueue_delivery([1, 2], [3])
    library = deliver_messages.enqueue([1, 2], [3])

    ours = DBTaskResult.objects.exclude(pk=library.id).get().task_result
    for attribute in ("task", "args", "kwargs", "status", "backend", "worker_ids", "errors"):
        assert getattr(ours, attribute) == getattr(library, attribute), attribute
    assert ours.enqueued_at == library.enqueued_at == START
    assert ours.task.run_after is library.task.run_after is None
    assert DBTaskResult.objects.ready().count() == 2  # both due now


@pytest.mark.django_db(transaction=True)
def test_the_first_task_gives_the_reminder_a_task_on_the_evening_before(clock) -> None:
    appointment = book()

    run_worker()

    reminder = message_of(appointment, Event.REMINDER)
    reminder_task = DBTaskResult.objects.get(status="READY", run_after=REMINDER_DUE)
    assert reminder_task.args_kwargs == {"args": [[reminder.pk]], "kwargs": {}}


@pytest.mark.django_db(transaction=True)
def test_a_rolled_back_booking_leaves_no_message_and_no_task(clock, monkeypatch) -> None:
    slot = SlotFactory()

    def announce_then_fail(**kwargs: object) -> None:
        notification_services.announce(**kwargs)  # type: ignore[arg-type]
        raise RuntimeError("the booking fails after its messages were written")

    monkeypatch.setattr(services, "announce", announce_then_fail)
    with pytest.raises(RuntimeError):
        book(slot=slot)

    assert not Appointment.objects.exists()
    assert not Message.objects.exists()
    assert not DBTaskResult.objects.exists()
    run_worker()
    assert mail.outbox == []


@pytest.mark.django_db(transaction=True)
def test_announce_refuses_to_run_outside_a_transaction(clock) -> None:
    appointment = book()
    with pytest.raises(RuntimeError, match="inside the transaction"):
        notification_services.announce(appointment=appointment, event=Event.VACCINATED)


@pytest.mark.django_db
def test_each_occurrence_has_its_own_idempotency_key(clock) -> None:
    first, second = SlotFactory(), SlotFactory(starts_at=START + dt.timedelta(days=2))
    appointment = book(phone="+34600000001", slot=first)
    person = appointment.person
    for slot in (second, first):  # moved away and back: two reschedules, two occurrences
        services.reschedule_appointment(
            person=person, appointment_id=appointment.pk, new_slot_id=slot.pk
        )
    services.cancel_appointment(person=person, appointment_id=appointment.pk)

    keys = set(Message.objects.values_list("idempotency_key", flat=True))
    expected = {
        f"{appointment.pk}:{event}:{channel}:{version}"
        for channel in ("email", "sms")
        for event, version in [
            ("booked", 0),
            ("reminder", 0),
            ("rescheduled", 1),
            ("reminder", 1),
            ("rescheduled", 2),
            ("reminder", 2),
            ("cancelled", 0),
        ]
    }
    assert keys == expected
    # The database refuses a second message for the same occurrence.
    booked = message_of(appointment, Event.BOOKED)
    booked.pk = None
    with pytest.raises(IntegrityError), transaction.atomic():
        booked.save()


@pytest.mark.django_db
def test_a_booking_costs_two_more_statements(clock, monkeypatch) -> None:
    """The booking path stays cheap: one INSERT of the messages, one of their task."""

    def statements(phone: str) -> int:
        person, slot = (
            CitizenFactory(phone=phone),
            SlotFactory(starts_at=START + dt.timedelta(days=3)),
        )
        with CaptureQueriesContext(connection) as queries:
            services.book_appointment(person=person, slot_id=slot.pk, dose_number=1)
        return len(queries)

    policy.current_rules()  # read once per process every few seconds, not per booking
    with_messages = statements(phone="+34600000001")
    with_messages_no_phone = statements(phone="")
    monkeypatch.setattr(services, "announce", lambda **kwargs: None)
    without = statements(phone="+34600000001")

    assert with_messages - without == 2
    assert with_messages_no_phone - without == 2


# --- sent once ----------------------------------------------------------------------------


@pytest.mark.django_db(transaction=True)
def test_the_worker_sends_a_confirmation_once(clock) -> None:
    appointment = book()

    run_worker()
    run_worker()
    clock.shift(LEASE + dt.timedelta(minutes=1))  # the claim's watchdog runs, and finds it sent
    run_worker()

    assert len(mail.outbox) == 1
    sent = mail.outbox[0]
    assert sent.to == [appointment.person.user.email]
    confirmation = message_of(appointment, Event.BOOKED)
    assert confirmation.status == MessageStatus.SENT
    assert confirmation.sent_at == START
    assert confirmation.attempts == 1
    assert sent.message()["Message-ID"] == confirmation.email_message_id
    assert confirmation.email_message_id == (
        f"<{appointment.pk}.booked.email.0@vaccination.example.org>"
    )


@pytest.mark.django_db(transaction=True)
def test_the_worker_waits_for_the_database_then_sends(clock, monkeypatch, caplog) -> None:
    appointment = book()
    waits: list[float] = []

    with database_out_of_reach() as outage:

        def wait_then_recover() -> None:
            waits.append(run_worker_command.WAIT_FOR_DATABASE_S)
            outage.end()

        monkeypatch.setattr(run_worker_command, "wait_for_database", wait_then_recover)
        # django-tasks-db's own worker stops here; this one waits and goes on.
        run_worker()

    assert waits == [run_worker_command.WAIT_FOR_DATABASE_S]
    assert "Database unavailable" in caplog.text
    assert len(mail.outbox) == 1
    assert message_of(appointment, Event.BOOKED).status == MessageStatus.SENT


@pytest.mark.django_db
def test_the_worker_still_stops_at_a_database_error_that_is_not_an_outage(monkeypatch) -> None:
    def broken(self) -> None:
        with connection.cursor() as cursor:
            cursor.execute("SELEC 1")  # SQLite's OperationalError, PostgreSQL's ProgrammingError

    def never() -> None:
        raise AssertionError("the worker waited for a bug to go away")

    monkeypatch.setattr(db_worker.Worker, "run", broken)
    monkeypatch.setattr(run_worker_command, "wait_for_database", never)

    with pytest.raises(DatabaseError):
        run_worker()


def test_a_stop_request_during_a_task_that_meets_an_outage_stops_the_worker(monkeypatch) -> None:
    def stopped_then_lost(self) -> None:
        self.running = False  # what db_worker's SIGTERM handler does during a task
        raise OperationalError("server closed the connection unexpectedly")

    def never() -> None:
        raise AssertionError("the worker went on waiting after a stop request")

    monkeypatch.setattr(db_worker.Worker, "run", stopped_then_lost)
    monkeypatch.setattr(run_worker_command, "wait_for_database", never)

    run_worker()  # returns: stopped


def test_the_worker_refuses_to_reload() -> None:
    with pytest.raises(CommandError, match="does not reload"):
        call_command("run_worker", reload=True, verbosity=0)


@pytest.mark.django_db(transaction=True)
def test_each_change_is_announced(clock) -> None:
    first, second = SlotFactory(), SlotFactory(starts_at=START + dt.timedelta(days=2))
    appointment = book(slot=first)
    person = appointment.person
    services.reschedule_appointment(
        person=person, appointment_id=appointment.pk, new_slot_id=second.pk
    )
    run_worker()
    clock.move_to(second.starts_at)
    staff = staff_at(second.centre)
    services.check_in(appointment_id=appointment.pk, staff=staff)
    services.record_vaccination(appointment_id=appointment.pk, staff=staff, lot_number="EX1234")
    run_worker()

    events = list(
        Message.objects.filter(status=MessageStatus.SENT)
        .order_by("created_at", "pk")
        .values_list("event", flat=True)
    )
    assert events == [Event.BOOKED, Event.RESCHEDULED, Event.VACCINATED]
    assert len(mail.outbox) == 3


@pytest.mark.django_db(transaction=True)
def test_a_cancellation_by_the_person_is_announced_without_a_reason(clock) -> None:
    appointment = book()
    services.cancel_appointment(person=appointment.person, appointment_id=appointment.pk)
    run_worker()

    cancelled = message_of(appointment, Event.CANCELLED)
    assert cancelled.status == MessageStatus.SENT
    assert cancelled.reason == ""  # a reason is the centre's; the person gave none
    assert len(mail.outbox) == 2


@pytest.mark.race
@pytest.mark.django_db(transaction=True)
def test_two_workers_sending_one_message_send_it_once(clock, monkeypatch) -> None:
    appointment = book()
    confirmation = message_of(appointment, Event.BOOKED)
    racers = 4
    barrier = threading.Barrier(racers, timeout=30)
    errors: list[BaseException] = []
    send_messages = LocmemBackend.send_messages
    others_finished = threading.Event()

    def slow_send(backend: LocmemBackend, messages: list[mail.EmailMessage]) -> int:
        # Whoever sends holds on until the other racers are done: had two of them claimed
        # the message, both would be sending now.
        others_finished.wait(timeout=30)
        return send_messages(backend, messages)

    monkeypatch.setattr(LocmemBackend, "send_messages", slow_send)

    def racer() -> None:
        try:
            barrier.wait()
            deliver_messages.call([confirmation.pk])
        except BaseException as error:
            errors.append(error)
        finally:
            connection.close()

    connection.close()
    threads = [threading.Thread(target=racer) for _ in range(racers)]
    for thread in threads:
        thread.start()
    deadline = time.monotonic() + 10
    while sum(thread.is_alive() for thread in threads) > 1 and time.monotonic() < deadline:
        time.sleep(0.01)
    others_finished.set()
    for thread in threads:
        thread.join(timeout=30)

    assert errors == []
    assert not any(thread.is_alive() for thread in threads)
    assert len(mail.outbox) == 1
    confirmation.refresh_from_db()
    assert confirmation.status == MessageStatus.SENT
    assert confirmation.attempts == 1


# --- a real mail server that refuses, or is down ------------------------------------------


@pytest.mark.django_db(transaction=True)
def test_a_mail_server_that_refuses_for_a_while_gets_the_message_once(
    clock, mail_server: SmtpServer
) -> None:
    mail_server.refusals = 3
    appointment = book_for_today()
    confirmation = message_of(appointment, Event.BOOKED)

    ran_at = drive_retries(clock, confirmation)

    assert confirmation.status == MessageStatus.SENT
    assert confirmation.attempts == 4
    assert mail_server.refused == 3
    assert len(mail_server.received) == 1
    received = mail_server.received[0]
    assert received["Message-ID"].strip() == confirmation.email_message_id
    assert received["To"] == appointment.person.user.email
    # Backoff: 30 s, then 1 and 2 minutes.
    assert [later - earlier for earlier, later in itertools.pairwise(ran_at)] == [
        dt.timedelta(seconds=30),
        dt.timedelta(minutes=1),
        dt.timedelta(minutes=2),
    ]
    # Nothing left to send: more time and more workers change nothing.
    clock.shift(dt.timedelta(days=1))
    run_worker()
    assert len(mail_server.received) == 1


@pytest.mark.django_db(transaction=True)
def test_a_mail_server_down_for_ten_minutes_gets_the_message_once_it_is_up(
    clock, settings: LazySettings
) -> None:
    server = SmtpServer(free_port())  # nothing listens there yet: connection refused
    send_mail_to(settings, server.port)
    comes_back_at = START + dt.timedelta(minutes=10)
    appointment = book_for_today()
    confirmation = message_of(appointment, Event.BOOKED)

    def start_server_when_it_is_time() -> None:
        if dt.datetime.now(tz=dt.UTC) >= comes_back_at:
            server.start()

    try:
        drive_retries(clock, confirmation, before_each_round=start_server_when_it_is_time)
    finally:
        server.stop()

    assert confirmation.status == MessageStatus.SENT
    # Tries at 0, 0:30, 1:30, 3:30 and 7:30 were refused; the one at 15:30 went through.
    assert confirmation.attempts == 6
    assert confirmation.sent_at == START + dt.timedelta(minutes=15, seconds=30)
    assert len(server.received) == 1
    assert server.received[0]["Message-ID"].strip() == confirmation.email_message_id


@pytest.mark.django_db(transaction=True)
def test_a_mail_server_that_does_not_answer_is_tried_again_later(
    clock, settings: LazySettings
) -> None:
    with socket.socket() as silent:  # accepts the connection, never says a word
        silent.bind(("127.0.0.1", 0))
        silent.listen()
        send_mail_to(settings, silent.getsockname()[1], timeout=0.5)
        appointment = book_for_today()
        run_worker()

    confirmation = message_of(appointment, Event.BOOKED)
    assert confirmation.status == MessageStatus.PENDING
    assert confirmation.attempts == 1
    assert "timed out" in confirmation.last_error
    assert confirmation.next_attempt_at == START + dt.timedelta(seconds=30)


@pytest.mark.django_db(transaction=True)
def test_a_refused_address_fails_at_once(clock, mail_server: SmtpServer) -> None:
    async def refuse_recipient(*args: object) -> str:
        return "550 5.1.1 No such mailbox"

    mail_server.handle_RCPT = refuse_recipient  # type: ignore[attr-defined]
    appointment = book_for_today()
    run_worker()

    confirmation = message_of(appointment, Event.BOOKED)
    assert confirmation.status == MessageStatus.FAILED
    assert confirmation.attempts == 1
    assert "550" in confirmation.last_error


@pytest.mark.django_db(transaction=True)
def test_after_the_last_attempt_a_message_fails_and_staff_can_retry_it(
    clock, mail_server: SmtpServer, admin_client
) -> None:
    mail_server.refusals = 10**6
    appointment = book_for_today()
    confirmation = message_of(appointment, Event.BOOKED)

    drive_retries(clock, confirmation)

    assert confirmation.status == MessageStatus.FAILED
    assert confirmation.attempts == MAX_ATTEMPTS
    assert "451" in confirmation.last_error
    assert mail_server.refused == MAX_ATTEMPTS
    clock.shift(LEASE + dt.timedelta(days=1))
    run_worker()  # no retry is left, and the watchdogs find nothing to reclaim
    assert mail_server.refused == MAX_ATTEMPTS

    mail_server.refusals = 0
    response = admin_client.post(
        reverse("admin:notifications_message_changelist"),
        {"action": "retry_failed", "_selected_action": [confirmation.pk]},
        follow=True,
    )
    assert response.status_code == 200
    assert "1 message will be sent again." in response.content.decode()
    confirmation.refresh_from_db()
    assert confirmation.status == MessageStatus.PENDING
    assert confirmation.attempts == 0

    run_worker()

    confirmation.refresh_from_db()
    assert confirmation.status == MessageStatus.SENT
    assert len(mail_server.received) == 1
    assert mail_server.received[0]["Message-ID"].strip() == confirmation.email_message_id


# --- crashes ------------------------------------------------------------------------------


class WorkerKilled(BaseException):
    """Stands for SIGKILL: not an Exception, so nothing in the task catches it."""


@pytest.fixture
def killed_after_sending(monkeypatch) -> None:
    """The first email is handed over, then the worker dies before recording it."""
    send_messages = LocmemBackend.send_messages
    calls = []

    def send_then_die(backend: LocmemBackend, messages: list[mail.EmailMessage]) -> int:
        sent = send_messages(backend, messages)
        calls.append(messages)
        if len(calls) == 1:
            raise WorkerKilled
        return sent

    monkeypatch.setattr(LocmemBackend, "send_messages", send_then_die)


@pytest.mark.django_db(transaction=True)
def test_a_message_whose_worker_died_is_sent_again_after_the_lease_as_the_same_message(
    clock, killed_after_sending
) -> None:
    appointment = book()
    run_worker()
    confirmation = message_of(appointment, Event.BOOKED)
    assert confirmation.status == MessageStatus.SENDING
    assert len(mail.outbox) == 1

    run_worker()  # within the lease nobody touches it: its worker might still be sending
    assert len(mail.outbox) == 1

    clock.shift(LEASE)
    run_worker()

    confirmation.refresh_from_db()
    assert confirmation.status == MessageStatus.SENT
    assert confirmation.attempts == 2
    # At least once: the crash came after the hand-over, so it went twice, as the same
    # message, which mail clients show once.
    assert len(mail.outbox) == 2
    assert {sent.message()["Message-ID"] for sent in mail.outbox} == {confirmation.email_message_id}


@pytest.mark.django_db(transaction=True)
def test_the_sweep_reclaims_a_stuck_message_whose_watchdog_was_lost(
    clock, killed_after_sending
) -> None:
    appointment = book()
    run_worker()
    DBTaskResult.objects.filter(status="READY", run_after__lte=START + LEASE).delete()
    clock.shift(LEASE)

    call_command("sweep_messages", verbosity=0)
    run_worker()

    confirmation = message_of(appointment, Event.BOOKED)
    assert confirmation.status == MessageStatus.SENT
    assert len(mail.outbox) == 2


@pytest.mark.django_db(transaction=True)
def test_the_sweep_sends_a_pending_message_whose_task_was_lost(clock) -> None:
    appointment = book()
    DBTaskResult.objects.all().delete()  # e.g. its task died on a database outage
    clock.shift(dt.timedelta(minutes=30))
    assert notification_services.sweep_messages() == (0, 0)  # may just be a long queue

    clock.shift(dt.timedelta(minutes=30))
    assert notification_services.sweep_messages() == (0, 1)
    assert notification_services.sweep_messages() == (0, 0)  # its due time moved to now
    run_worker()

    assert message_of(appointment, Event.BOOKED).status == MessageStatus.SENT
    assert len(mail.outbox) == 1
