"""The audit log is append-only: the model, its QuerySet, the admin and (on PostgreSQL) the
database itself refuse to change or delete a row."""

import uuid

import pytest
from django.db import DatabaseError, connection, transaction

from tests.factories import CentreFactory, UserFactory
from vaxbook.audit.models import AuditAction, AuditEvent, AuditLogIsAppendOnly
from vaxbook.audit.services import record_event

pytestmark = pytest.mark.django_db


def a_recorded_event() -> AuditEvent:
    centre = CentreFactory()
    actor = UserFactory()
    appointment_id = uuid.uuid4()
    record_event(
        actor=actor,
        action=AuditAction.VALIDATION,
        centre_id=centre.pk,
        appointment_id=appointment_id,
        outcome="valid",
        client_address="203.0.113.7",
        detail={"input": "reference"},
    )
    return AuditEvent.objects.get()


def test_record_event_writes_one_row_with_everything_given() -> None:
    event = a_recorded_event()

    assert event.action == AuditAction.VALIDATION
    assert event.outcome == "valid"
    assert event.client_address == "203.0.113.7"
    assert event.detail == {"input": "reference"}
    assert event.actor is not None
    assert event.centre is not None
    assert event.appointment_id is not None
    assert event.at is not None


def test_record_event_without_actor_centre_or_address() -> None:
    record_event(actor=None, action=AuditAction.POLICY_CHANGED, centre_id=None)

    event = AuditEvent.objects.get()
    assert (event.actor, event.centre, event.client_address, event.detail) == (None, None, None, {})


def test_a_row_cannot_be_saved_again() -> None:
    event = a_recorded_event()
    event.outcome = "expired"

    with pytest.raises(AuditLogIsAppendOnly):
        event.save()

    assert AuditEvent.objects.get().outcome == "valid"


def test_a_row_cannot_be_deleted() -> None:
    event = a_recorded_event()

    with pytest.raises(AuditLogIsAppendOnly):
        event.delete()

    assert AuditEvent.objects.count() == 1


def test_bulk_update_and_delete_are_refused() -> None:
    a_recorded_event()

    with pytest.raises(AuditLogIsAppendOnly):
        AuditEvent.objects.update(outcome="expired")
    with pytest.raises(AuditLogIsAppendOnly):
        AuditEvent.objects.all().delete()

    assert AuditEvent.objects.get().outcome == "valid"


def test_the_database_refuses_a_raw_update_or_delete_on_postgresql() -> None:
    event = a_recorded_event()
    statements = (
        "UPDATE audit_auditevent SET outcome = 'expired' WHERE id = %s",
        "DELETE FROM audit_auditevent WHERE id = %s",
    )

    if connection.vendor == "postgresql":
        for sql in statements:
            with (
                pytest.raises(DatabaseError, match="append-only"),
                transaction.atomic(),
                connection.cursor() as cursor,
            ):
                cursor.execute(sql, [event.pk])
        assert AuditEvent.objects.get().outcome == "valid"
    else:
        # SQLite gets no trigger: its flush empties tables with DELETE, which the trigger
        # would refuse (see the migration).
        with connection.cursor() as cursor:
            cursor.execute(
                "SELECT count(*) FROM sqlite_master WHERE type = 'trigger' AND tbl_name = %s",
                ["audit_auditevent"],
            )
            assert cursor.fetchone() == (0,)


# --- the one change allowed: erasing the client address (retention) ----------------------


def test_the_client_address_can_be_erased_and_nothing_else_changes() -> None:
    event = a_recorded_event()

    erased = AuditEvent.objects.filter(pk=event.pk).erase_client_addresses()

    after = AuditEvent.objects.get()
    assert erased == 1
    assert after.client_address is None
    assert (after.at, after.actor_id, after.outcome, after.detail) == (
        event.at,
        event.actor_id,
        event.outcome,
        event.detail,
    )


def test_any_other_change_along_with_the_address_is_refused() -> None:
    event = a_recorded_event()

    with pytest.raises(AuditLogIsAppendOnly):
        AuditEvent.objects.update(client_address="198.51.100.1")
    if connection.vendor == "postgresql":  # the database itself, whatever code asks
        statements = (
            # Another address instead of none.
            "UPDATE audit_auditevent SET client_address = '198.51.100.1' WHERE id = %s",
            # The address erased, and the outcome changed in the same statement.
            "UPDATE audit_auditevent SET client_address = NULL, outcome = 'expired' WHERE id = %s",
        )
        for sql in statements:
            with (
                pytest.raises(DatabaseError, match="append-only"),
                transaction.atomic(),
                connection.cursor() as cursor,
            ):
                cursor.execute(sql, [event.pk])

    after = AuditEvent.objects.get()
    assert (after.client_address, after.outcome) == ("203.0.113.7", "valid")
