"""Staff racing each other on the day, with real threads against the configured database
(run on PostgreSQL in CI): the audit log tells exactly what happened."""

from collections.abc import Callable
from functools import partial

import pytest
import time_machine

from tests.bookings.test_races import race
from tests.factories import CentreFactory, SlotFactory, staff_at
from tests.helpers import DAY, at, book
from vaxbook.accounts.models import StaffRole
from vaxbook.audit.models import AuditAction, AuditEvent
from vaxbook.bookings.models import Appointment, AppointmentStatus
from vaxbook.checkin.services import mark_remaining_no_shows
from vaxbook.checkin.validation import Outcome, Validation, check_in_with

pytestmark = [pytest.mark.race, pytest.mark.django_db(transaction=True)]


def booked_for_ten() -> Appointment:
    return book(SlotFactory.create(centre=CentreFactory.create(), starts_at=at(10)))


def test_two_staff_checking_one_person_in_at_once_one_wins_the_other_sees_by_whom() -> None:
    appointment = booked_for_ten()
    centre_id = appointment.slot.centre_id
    desks = [staff_at(appointment.slot.centre, StaffRole.RECEPTIONIST) for _ in range(2)]

    with time_machine.travel(at(9, 58)):
        outcomes = race(
            [
                partial(
                    check_in_with,
                    staff=desk,
                    centre_id=centre_id,
                    reference=appointment.reference,
                    client_address=f"192.0.2.{index}",
                )
                for index, desk in enumerate(desks)
            ]
        )

    validations = [outcome for outcome in outcomes if isinstance(outcome, Validation)]
    assert len(validations) == len(desks), outcomes
    by_desk = dict(zip(desks, validations, strict=True))
    assert sorted(v.outcome for v in by_desk.values()) == sorted(
        [Outcome.VALID, Outcome.ALREADY_CHECKED_IN]
    )
    (winner,) = (desk for desk, v in by_desk.items() if v.outcome == Outcome.VALID)
    (loser,) = (desk for desk in desks if desk != winner)
    assert by_desk[loser].checked_in_by == winner
    checked_in = Appointment.objects.get(pk=appointment.pk)
    assert (checked_in.status, checked_in.checked_in_by) == (AppointmentStatus.CHECKED_IN, winner)
    rows = AuditEvent.objects.filter(action=AuditAction.CHECK_IN)
    assert {(row.actor, row.outcome) for row in rows} == {
        (winner, "checked_in"),
        (loser, "already_checked_in"),
    }
    assert rows.count() == 2
    assert AuditEvent.objects.count() == 2  # one row per attempt, no separate validation rows


def test_a_late_check_in_racing_the_end_of_day_no_shows_is_one_or_the_other() -> None:
    appointment = booked_for_ten()
    centre = appointment.slot.centre
    desk = staff_at(centre, StaffRole.RECEPTIONIST)
    manager = staff_at(centre, StaffRole.MANAGER)

    racers: list[Callable[[], object]] = [
        partial(check_in_with, staff=desk, centre_id=centre.pk, reference=appointment.reference),
        partial(
            mark_remaining_no_shows,
            staff=manager,
            centre_id=centre.pk,
            day=DAY,
            client_address=None,
        ),
    ]
    with time_machine.travel(at(19, 55)):  # the person comes very late, still on the day
        outcomes = race(racers)

    check_in, marked = outcomes
    assert isinstance(check_in, Validation), outcomes
    status = Appointment.objects.get(pk=appointment.pk).status
    no_show_rows = AuditEvent.objects.filter(action=AuditAction.NO_SHOW).count()
    (check_in_row,) = AuditEvent.objects.filter(action=AuditAction.CHECK_IN)
    if status == AppointmentStatus.CHECKED_IN:
        assert (check_in.outcome, check_in_row.outcome, marked, no_show_rows) == (
            Outcome.VALID,
            "checked_in",
            0,
            0,
        )
    else:
        assert status == AppointmentStatus.NO_SHOW
        assert (check_in.outcome, check_in_row.outcome, marked, no_show_rows) == (
            Outcome.EXPIRED,
            "expired",
            1,
            1,
        )
