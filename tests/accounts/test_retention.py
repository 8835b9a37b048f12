"""Retention: what is past its purpose is pseudonymised or deleted after the configured
periods, by the worker every hour or by `manage.py apply_retention`; doses given stay."""

import datetime as dt
import io

import pytest
import time_machine
from django.contrib.sessions.models import Session
from django.core.exceptions import ImproperlyConfigured
from django.core.management import call_command
from django.tasks import TaskResultStatus
from django.test import Client
from django.utils import timezone
from django_tasks_db.models import DBTaskResult

from tests.api.conftest import token_for
from tests.factories import CitizenFactory, SlotFactory, UserFactory, staff_at
from vaxbook.accounts import data_rights, retention, tasks
from vaxbook.accounts.models import Citizen, StaffRole
from vaxbook.api.models import ApiToken
from vaxbook.audit.models import AuditAction, AuditEvent
from vaxbook.bookings import services
from vaxbook.bookings.models import Appointment, AppointmentStatus, VaccinationRecord
from vaxbook.centres.models import Slot
from vaxbook.notifications.models import Message, MessageStatus

pytestmark = pytest.mark.django_db

ADDRESS = "203.0.113.7"


@pytest.fixture
def person() -> Citizen:
    return CitizenFactory(full_name="Ada Lovelace", date_of_birth=dt.date(1985, 6, 15))


@pytest.fixture
def slot() -> Slot:
    return SlotFactory(starts_at=timezone.now() + dt.timedelta(hours=1))


def days_after(slot: Slot, days: int) -> dt.datetime:
    return slot.ends_at + dt.timedelta(days=days)


def cancelled(person: Citizen, slot: Slot) -> Appointment:
    appointment = services.book_appointment(person=person, slot_id=slot.pk, dose_number=1)
    return services.cancel_appointment(person=person, appointment_id=appointment.pk)


def missed(person: Citizen, slot: Slot) -> Appointment:
    appointment = services.book_appointment(person=person, slot_id=slot.pk, dose_number=1)
    with time_machine.travel(slot.starts_at + dt.timedelta(minutes=1)):
        return services.mark_no_show(
            appointment_id=appointment.pk,
            staff=staff_at(slot.centre, StaffRole.MANAGER),
            client_address=ADDRESS,
        )


def vaccinated(person: Citizen, slot: Slot) -> VaccinationRecord:
    appointment = services.book_appointment(person=person, slot_id=slot.pk, dose_number=1)
    nurse = staff_at(slot.centre)
    with time_machine.travel(slot.starts_at + dt.timedelta(minutes=1)):
        services.check_in(appointment_id=appointment.pk, staff=nurse, client_address=ADDRESS)
        return services.record_vaccination(
            appointment_id=appointment.pk, staff=nurse, lot_number="FF1234", client_address=ADDRESS
        )


def apply_at(moment: dt.datetime) -> retention.Applied:
    with time_machine.travel(moment):
        return retention.apply_retention()


# --- appointments ----------------------------------------------------------------------------


def test_past_cancelled_and_missed_appointments_no_longer_name_the_person(person, slot) -> None:
    gone = cancelled(person, slot)
    no_show = missed(person, slot)

    applied = apply_at(days_after(slot, 366))

    assert applied.appointments_pseudonymised == 2
    for appointment in (gone, no_show):
        appointment.refresh_from_db()
        assert appointment.person != person
        assert appointment.person.full_name == retention.ANONYMOUS_NAME
        assert appointment.person.date_of_birth == dt.date(1985, 1, 1)  # reports by age
        assert not appointment.person.user.is_active
        assert not appointment.person.user.has_usable_password()
        assert appointment.cancellation_reason == ""
    # The centre's figures of that day still count them.
    statuses = sorted(Appointment.objects.filter(slot=slot).values_list("status", flat=True))
    assert statuses == [AppointmentStatus.CANCELLED, AppointmentStatus.NO_SHOW]
    # The person's own copy of their data no longer holds them.
    assert data_rights.export_personal_data(user=person.user)["appointments"] == []


def test_a_dose_given_keeps_its_person(person, slot) -> None:
    record = vaccinated(person, slot)

    apply_at(days_after(slot, 3650))

    record.refresh_from_db()
    assert record.appointment.person == person
    assert record.lot_number == "FF1234"
    (kept,) = data_rights.export_personal_data(user=person.user)["appointments"]
    assert kept["vaccination"]["lot_number"] == "FF1234"


def test_appointments_within_their_period_are_left_alone(person, slot) -> None:
    gone = cancelled(person, slot)

    applied = apply_at(days_after(slot, 364))

    assert applied.appointments_pseudonymised == 0
    gone.refresh_from_db()
    assert gone.person == person
    assert gone.cancellation_reason != ""


def test_people_born_in_another_year_get_another_anonymous_person(person, slot) -> None:
    older = CitizenFactory(date_of_birth=dt.date(1950, 3, 2))
    mine, theirs = cancelled(person, slot), cancelled(older, slot)

    apply_at(days_after(slot, 366))

    mine.refresh_from_db()
    theirs.refresh_from_db()
    assert mine.person.date_of_birth.year == 1985
    assert theirs.person.date_of_birth.year == 1950
    assert Citizen.objects.filter(full_name=retention.ANONYMOUS_NAME).count() == 2


def test_the_period_comes_from_the_settings(person, slot, settings) -> None:
    settings.RETENTION_APPOINTMENT_DAYS = 30
    gone = cancelled(person, slot)

    apply_at(days_after(slot, 31))

    gone.refresh_from_db()
    assert gone.person.full_name == retention.ANONYMOUS_NAME


@pytest.mark.parametrize("days", [0, -1])
def test_a_period_under_a_day_is_refused_before_anything_changes(
    person, slot, settings, days
) -> None:
    settings.RETENTION_MESSAGE_DAYS = days
    gone = cancelled(person, slot)

    with pytest.raises(ImproperlyConfigured, match="RETENTION_MESSAGE_DAYS"):
        apply_at(days_after(slot, 3650))

    assert Message.objects.filter(appointment=gone).exists()
    gone.refresh_from_db()
    assert gone.person == person  # the appointments' rule, though its period is fine


def test_an_account_registered_with_an_anonymous_address_gets_nothing(person, slot) -> None:
    UserFactory(email=f"born-1985@{retention.ANONYMOUS_DOMAIN}")
    gone = cancelled(person, slot)

    with pytest.raises(ImproperlyConfigured, match="real account"):
        apply_at(days_after(slot, 366))

    gone.refresh_from_db()
    assert gone.person == person


# --- messages --------------------------------------------------------------------------------


def test_the_messages_of_a_long_past_appointment_are_deleted(person, slot) -> None:
    gone = cancelled(person, slot)
    record = vaccinated(person, slot)
    Message.objects.update(status=MessageStatus.SENT, sent_at=timezone.now())
    unsent = Message.objects.filter(appointment=record.appointment).first()
    assert unsent is not None
    Message.objects.filter(pk=unsent.pk).update(status=MessageStatus.PENDING, sent_at=None)

    assert apply_at(days_after(slot, 89)).messages_deleted == 0
    applied = apply_at(days_after(slot, 91))

    assert applied.messages_deleted > 0
    assert not Message.objects.filter(appointment=gone).exists()
    # Still pending: the worker's to settle (it skips a message for a past appointment).
    assert list(Message.objects.all()) == [unsent]


# --- the audit log ---------------------------------------------------------------------------


def test_audit_events_lose_their_client_address_and_keep_the_rest(person, slot) -> None:
    vaccinated(person, slot)
    events = list(AuditEvent.objects.order_by("pk"))
    assert {event.client_address for event in events} == {ADDRESS}

    assert apply_at(slot.starts_at + dt.timedelta(days=89)).audit_addresses_erased == 0
    applied = apply_at(slot.starts_at + dt.timedelta(days=91))

    assert applied.audit_addresses_erased == len(events)
    after = list(AuditEvent.objects.order_by("pk"))
    assert [event.client_address for event in after] == [None] * len(events)
    assert [(event.action, event.actor_id, event.at) for event in after] == [
        (event.action, event.actor_id, event.at) for event in events
    ]
    assert after[-1].action == AuditAction.VACCINATION


# --- tasks, API tokens, sessions -------------------------------------------------------------


def test_finished_tasks_expired_tokens_and_sessions_are_deleted(person) -> None:
    reset = tasks.send_password_reset.enqueue(email="ada@example.org", language="en")
    DBTaskResult.objects.filter(pk=reset.id).update(
        status=TaskResultStatus.SUCCESSFUL, finished_at=timezone.now()
    )
    waiting = tasks.send_password_reset.enqueue(email="bob@example.org", language="en")
    token_for(person.user)
    Client().force_login(person.user)
    assert Session.objects.exists()

    # Past the tasks' 7 days and a citizen session's 14.
    applied = apply_at(timezone.now() + dt.timedelta(days=15))

    assert applied.tasks_deleted == 1
    assert [str(pk) for pk in DBTaskResult.objects.values_list("pk", flat=True)] == [waiting.id]
    assert applied.api_tokens_deleted == 1
    assert not ApiToken.objects.exists()
    assert not Session.objects.exists()


def test_the_command_applies_the_rules(person, slot) -> None:
    gone = cancelled(person, slot)
    output = io.StringIO()

    with time_machine.travel(days_after(slot, 366)):
        call_command("apply_retention", stdout=output)

    gone.refresh_from_db()
    assert gone.person.full_name == retention.ANONYMOUS_NAME
    assert "Pseudonymised 1 appointment(s)" in output.getvalue()


# --- the worker's schedule -------------------------------------------------------------------


def retention_runs(status: str) -> list[DBTaskResult]:
    return list(
        DBTaskResult.objects.filter(
            task_path=tasks.apply_retention_rules.module_path, status=status
        )
    )


def test_one_run_is_scheduled_however_often_it_is_asked() -> None:
    assert tasks.schedule_retention() is True
    assert tasks.schedule_retention() is False
    assert len(retention_runs(TaskResultStatus.READY)) == 1


@pytest.mark.django_db(transaction=True)  # the worker closes its connection
def test_the_worker_applies_the_rules_and_schedules_the_next_run_an_hour_later(
    person, slot
) -> None:
    gone = cancelled(person, slot)

    with time_machine.travel(days_after(slot, 366), tick=False):
        # A worker that runs on starts the schedule; this one stops once it has run the
        # tasks already waiting (the cancellation's own) and the retention run.
        waiting = DBTaskResult.objects.filter(status=TaskResultStatus.READY).count()
        call_command("run_worker", max_tasks=waiting + 1, startup_delay=False, verbosity=0)
        now = timezone.now()

    gone.refresh_from_db()
    assert gone.person.full_name == retention.ANONYMOUS_NAME
    assert len(retention_runs(TaskResultStatus.SUCCESSFUL)) == 1
    (next_run,) = retention_runs(TaskResultStatus.READY)
    assert next_run.run_after == now + tasks.RETENTION_EVERY
