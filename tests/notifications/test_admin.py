"""The outbox in the admin: staff see what was sent, what waits and what failed, and can
give failed messages another round."""

from collections.abc import Iterator
from pathlib import Path

import pytest
import time_machine
from django.conf import LazySettings
from django.urls import reverse
from django_tasks_db.models import DBTaskResult

from tests.notifications.test_delivery import START, book, message_of, use_test_settings
from vaxbook.notifications.events import Event
from vaxbook.notifications.models import Message, MessageStatus

pytestmark = pytest.mark.django_db

CHANGELIST = reverse("admin:notifications_message_changelist")


@pytest.fixture(autouse=True)
def notification_settings(settings: LazySettings, tmp_path: Path) -> None:
    use_test_settings(settings, tmp_path)


@pytest.fixture(autouse=True)
def clock() -> Iterator[time_machine.Traveller]:
    with time_machine.travel(START, tick=False) as traveller:
        yield traveller


def fail(message: Message) -> None:
    Message.objects.filter(pk=message.pk).update(
        status=MessageStatus.FAILED, attempts=10, last_error="SMTPDataError: (451, b'busy')"
    )


def listed(response) -> set[int]:
    return {message.pk for message in response.context["cl"].result_list}


def test_the_outbox_filters_by_status_event_and_channel(admin_client) -> None:
    first, second = book(), book()
    fail(message_of(first, Event.BOOKED))

    failed = admin_client.get(CHANGELIST, {"status__exact": "failed"})
    reminders = admin_client.get(
        CHANGELIST, {"event__exact": "reminder", "channel__exact": "email"}
    )

    assert failed.status_code == 200
    assert listed(failed) == {message_of(first, Event.BOOKED).pk}
    assert listed(reminders) == {
        message_of(first, Event.REMINDER).pk,
        message_of(second, Event.REMINDER).pk,
    }


def test_the_outbox_finds_messages_by_reference_as_printed(admin_client) -> None:
    appointment, _other = book(), book()

    response = admin_client.get(CHANGELIST, {"q": appointment.display_reference.lower()})

    assert listed(response) == set(
        Message.objects.filter(appointment=appointment).values_list("pk", flat=True)
    )


def test_a_message_is_read_only(admin_client) -> None:
    message = message_of(book(), Event.BOOKED)

    page = admin_client.get(reverse("admin:notifications_message_change", args=[message.pk]))
    add = admin_client.get(reverse("admin:notifications_message_add"))

    assert page.status_code == 200
    assert 'name="status"' not in page.content.decode()
    assert message.idempotency_key in page.content.decode()
    assert add.status_code == 403


def test_retry_gives_failed_messages_a_new_round_and_leaves_the_others(admin_client) -> None:
    appointment = book()
    failed, reminder = (
        message_of(appointment, Event.BOOKED),
        message_of(appointment, Event.REMINDER),
    )
    fail(failed)
    tasks_before = DBTaskResult.objects.count()

    response = admin_client.post(
        CHANGELIST,
        {"action": "retry_failed", "_selected_action": [failed.pk, reminder.pk]},
        follow=True,
    )

    assert "1 message will be sent again." in response.content.decode()
    failed.refresh_from_db()
    assert (failed.status, failed.attempts, failed.next_attempt_at) == (
        MessageStatus.PENDING,
        0,
        START,
    )
    assert DBTaskResult.objects.count() == tasks_before + 1
    reminder.refresh_from_db()
    assert reminder.status == MessageStatus.PENDING
    assert reminder.next_attempt_at > START  # still waiting for its evening


def test_retry_says_so_when_nothing_had_failed(admin_client) -> None:
    message = message_of(book(), Event.BOOKED)

    response = admin_client.post(
        CHANGELIST, {"action": "retry_failed", "_selected_action": [message.pk]}, follow=True
    )

    assert "None of the selected messages had failed." in response.content.decode()
