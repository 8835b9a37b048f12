"""Races of real threads against the configured database (an SQLite file or PostgreSQL).

Each test starts its racers together with a barrier; every racer calls a service in its
own connection and transaction, and the test then re-reads the final state from the
database. A racer does no database work before the barrier: on PostgreSQL the connection
pool is smaller than the crowd, and racers holding pooled connections while they wait at
the barrier would starve the ones still queueing for a connection.
"""

import datetime as dt
import threading
import time
import traceback
from collections import Counter
from collections.abc import Callable, Sequence
from functools import partial

import pytest
from django.db import connection, transaction
from django.db.models import Count, Q
from django.utils import timezone

from tests.factories import CentreFactory, CitizenFactory, SlotFactory, staff_at, tomorrow_at
from vaxbook.accounts.models import Citizen, StaffRole, User
from vaxbook.bookings import services
from vaxbook.bookings.models import Appointment, AppointmentStatus
from vaxbook.centres.models import Centre, Slot
from vaxbook.core.errors import DomainError

pytestmark = [pytest.mark.race, pytest.mark.django_db(transaction=True)]

# Every status but cancelled keeps its place in the slot (a no-show's place stays used).
HOLDING_STATUSES = [status for status in AppointmentStatus if status != AppointmentStatus.CANCELLED]

# Generous bounds: a racer that has not finished by then is stuck (a deadlock), not slow.
BARRIER_TIMEOUT_S = 30
JOIN_TIMEOUT_S = 60

SUCCESS = "ok"

type Outcome[T] = T | str | Exception


def race[T](actions: Sequence[Callable[[], T]]) -> list[Outcome[T]]:
    """Run each action in its own thread, all released at once by a barrier.

    An outcome is what the action returned, the `code` of the DomainError it raised, or any
    other exception itself (its traceback is printed, so a failing test shows it)."""
    barrier = threading.Barrier(len(actions), timeout=BARRIER_TIMEOUT_S)
    outcomes: list[Outcome[T] | None] = [None] * len(actions)

    def run(index: int) -> None:
        try:
            barrier.wait()
            outcomes[index] = actions[index]()
        except DomainError as error:
            outcomes[index] = error.code
        except Exception as error:
            traceback.print_exc()
            outcomes[index] = error
        finally:
            connection.close()  # this thread's connection, back to PostgreSQL's pool

    threads = [
        threading.Thread(target=run, args=(index,), name=f"racer-{index}")
        for index in range(len(actions))
    ]
    # The test's own connection goes back to the pool too, so even a pool of one serves
    # the racers (one at a time, then).
    connection.close()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=JOIN_TIMEOUT_S)
    stuck = [thread.name for thread in threads if thread.is_alive()]
    assert not stuck, f"racers still running after {JOIN_TIMEOUT_S}s (a deadlock?): {stuck}"
    return [outcome for outcome in outcomes if outcome is not None]


def label(outcome: Outcome[object]) -> str:
    """`ok`, the error code, or an unexpected exception's type and message."""
    if isinstance(outcome, str):
        return outcome
    if isinstance(outcome, Exception):
        return f"{type(outcome).__name__}: {outcome}"
    return SUCCESS


def tally(outcomes: Sequence[Outcome[object]]) -> Counter[str]:
    return Counter(label(outcome) for outcome in outcomes)


def assert_slot_counters_match_appointments() -> None:
    """Every slot's `booked` is exactly the number of its appointments holding a place."""
    slots = Slot.objects.annotate(
        holding=Count("appointments", filter=Q(appointments__status__in=HOLDING_STATUSES))
    ).order_by("pk")
    wrong = [(slot.pk, slot.booked, slot.holding) for slot in slots if slot.booked != slot.holding]
    assert wrong == [], "(slot id, booked, appointments holding a place)"


def booked_places(*slots: Slot) -> list[int]:
    return [Slot.objects.get(pk=slot.pk).booked for slot in slots]


def make_slot(centre: Centre, *, hour: int, capacity: int, days_later: int = 0) -> Slot:
    starts_at = tomorrow_at(hour) + dt.timedelta(days=days_later)
    return SlotFactory.create(centre=centre, starts_at=starts_at, capacity=capacity)


def book_first_dose(person: Citizen, slot: Slot) -> Appointment:
    return services.book_appointment(person=person, slot_id=slot.pk, dose_number=1)


def test_last_places_go_to_exactly_five_of_fifty_concurrent_bookings() -> None:
    slot: Slot = SlotFactory.create(capacity=5)
    people: list[Citizen] = CitizenFactory.create_batch(50)

    outcomes = race([partial(book_first_dose, person, slot) for person in people])

    assert tally(outcomes) == {SUCCESS: 5, "slot_full": 45}
    assert booked_places(slot) == [5]
    winners = {outcome.person_id for outcome in outcomes if isinstance(outcome, Appointment)}
    assert set(Appointment.objects.values_list("person_id", flat=True)) == winners
    assert Appointment.objects.filter(slot=slot, status=AppointmentStatus.BOOKED).count() == 5
    assert_slot_counters_match_appointments()


def test_same_booking_submitted_ten_times_at_once_makes_one_appointment() -> None:
    slot: Slot = SlotFactory.create(capacity=5)
    person: Citizen = CitizenFactory.create()

    outcomes = race([partial(book_first_dose, person, slot)] * 10)

    assert tally(outcomes) == {SUCCESS: 1, "already_booked": 9}
    (winner,) = (outcome for outcome in outcomes if isinstance(outcome, Appointment))
    assert list(Appointment.objects.values_list("pk", flat=True)) == [winner.pk]
    assert booked_places(slot) == [1]
    assert_slot_counters_match_appointments()


def wait_until_a_transaction_waits_for_a_row_lock() -> None:
    """On PostgreSQL, until another backend waits for a lock (the racer is queued behind
    ours); on SQLite the racer waits for the write lock, which nothing can observe."""
    if connection.vendor != "postgresql":
        time.sleep(0.3)
        return
    deadline = time.monotonic() + BARRIER_TIMEOUT_S
    with connection.cursor() as cursor:
        while time.monotonic() < deadline:
            cursor.execute(
                "SELECT count(*) FROM pg_stat_activity"
                " WHERE wait_event_type = 'Lock' AND datname = current_database()"
            )
            if cursor.fetchone()[0]:
                return
            time.sleep(0.01)
    raise AssertionError("the booking never queued behind the person lock")


def book_while_the_person_is_held(
    person: Citizen, slot: Slot, meanwhile: Callable[[], object]
) -> Appointment | str:
    """Book dose 1 for `person` in `slot` while another transaction holds the person lock;
    once the booking waits for it, that transaction runs `meanwhile` and commits. The
    booking's outcome: the appointment, or "code: message"."""
    holding = threading.Event()
    outcomes: dict[str, Appointment | str] = {}

    def hold_the_person() -> None:
        try:
            with transaction.atomic():
                Citizen.objects.select_for_update().get(pk=person.pk)
                holding.set()
                wait_until_a_transaction_waits_for_a_row_lock()
                meanwhile()
        finally:
            connection.close()

    def book() -> None:
        holding.wait(BARRIER_TIMEOUT_S)
        try:
            outcomes["booking"] = book_first_dose(person, slot)
        except DomainError as error:
            outcomes["booking"] = f"{error.code}: {error}"
        finally:
            connection.close()

    connection.close()
    threads = [threading.Thread(target=hold_the_person), threading.Thread(target=book)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=JOIN_TIMEOUT_S)
    assert not any(thread.is_alive() for thread in threads)
    return outcomes["booking"]


def test_a_booking_waiting_for_the_person_lock_sees_the_slot_closed_meanwhile() -> None:
    # The booking reads the slot in the statement that waits for the person lock, so on
    # PostgreSQL it gets the slot as it was before the wait: open. The place-taking UPDATE
    # checks the slot's own row as committed, and refuses.
    slot: Slot = SlotFactory.create(capacity=5)
    person: Citizen = CitizenFactory.create()

    def close_the_slot() -> None:
        Slot.objects.filter(pk=slot.pk).update(is_open=False)

    outcome = book_while_the_person_is_held(person, slot, close_the_slot)

    if connection.vendor == "postgresql":  # read before the wait: refused by the UPDATE
        assert outcome == "slot_unavailable: This time slot has just closed."
    else:  # SQLite: the booking's transaction starts after the other one, and reads it closed
        assert outcome == "slot_unavailable: This time slot is closed for booking."
    assert not Appointment.objects.exists()
    assert booked_places(slot) == [0]


def test_a_place_given_back_while_a_booking_waits_for_the_person_lock_goes_to_it() -> None:
    # The person cancels their appointment in a full slot and books it again at once (a
    # second tab). On PostgreSQL the booking reads the slot full, as it was before its wait
    # for the person lock; the place given back meanwhile is committed before the booking
    # asks again, so it books. On SQLite the booking simply starts after the cancellation.
    slot: Slot = SlotFactory.create(capacity=1)
    person: Citizen = CitizenFactory.create()
    cancelled = book_first_dose(person, slot)

    def cancel_as_the_service_does() -> None:  # under the person lock held here
        Appointment.objects.filter(pk=cancelled.pk).update(
            status=AppointmentStatus.CANCELLED, cancelled_at=timezone.now()
        )
        services.sql.give_back_place(slot.pk)

    outcome = book_while_the_person_is_held(person, slot, cancel_as_the_service_does)

    assert isinstance(outcome, Appointment), outcome
    assert Appointment.objects.get(pk=cancelled.pk).status == AppointmentStatus.CANCELLED
    assert booked_places(slot) == [1]
    assert_slot_counters_match_appointments()


def test_a_full_slot_closed_while_a_booking_waits_for_the_person_lock_says_closed() -> None:
    slot: Slot = SlotFactory.create(capacity=1)
    book_first_dose(CitizenFactory.create(), slot)
    person: Citizen = CitizenFactory.create()

    def close_the_slot() -> None:
        Slot.objects.filter(pk=slot.pk).update(is_open=False)

    outcome = book_while_the_person_is_held(person, slot, close_the_slot)

    if connection.vendor == "postgresql":  # read before the wait: open, but full
        assert outcome == "slot_unavailable: This time slot has just closed."
    else:
        assert outcome == "slot_unavailable: This time slot is closed for booking."
    assert booked_places(slot) == [1]


def test_concurrent_two_dose_bookings_never_leave_a_first_dose_without_its_second() -> None:
    centre: Centre = CentreFactory.create()
    # Slot ids interleave the doses (first_a < second_a < second_b < first_b), so some racers
    # take their dose-1 place first and must give it back when dose 2 is full, while others
    # meet the full dose-2 slot first.
    first_a = make_slot(centre, hour=9, capacity=15)
    second_a = make_slot(centre, hour=9, capacity=4, days_later=28)
    second_b = make_slot(centre, hour=10, capacity=2, days_later=28)
    first_b = make_slot(centre, hour=10, capacity=15)
    people: list[Citizen] = CitizenFactory.create_batch(20)

    outcomes = race(
        [
            partial(
                services.book_both_doses,
                person=person,
                first_slot_id=(first_a, first_b)[i % 2].pk,
                second_slot_id=(second_a, second_b)[i // 2 % 2].pk,
            )
            for i, person in enumerate(people)
        ]
    )

    assert tally(outcomes) == {SUCCESS: 6, "slot_full": 14}
    winners = {outcome[0].person_id for outcome in outcomes if isinstance(outcome, tuple)}
    doses_held = Counter(Appointment.objects.values_list("person_id", "dose_number"))
    assert doses_held == {(person_id, dose): 1 for person_id in winners for dose in (1, 2)}
    assert booked_places(second_a, second_b) == [4, 2]
    assert sum(booked_places(first_a, first_b)) == 6
    assert_slot_counters_match_appointments()


def test_ten_staff_checking_one_person_in_at_once_check_them_in_once() -> None:
    slot: Slot = SlotFactory.create()
    appointment = book_first_dose(CitizenFactory.create(), slot)
    staff: list[User] = [staff_at(slot.centre, StaffRole.RECEPTIONIST) for _ in range(10)]

    outcomes = race(
        [partial(services.check_in, appointment_id=appointment.pk, staff=user) for user in staff]
    )

    assert tally(outcomes) == {SUCCESS: 1, "invalid_transition": 9}
    ((winner, winning_outcome),) = (
        (user, outcome)
        for user, outcome in zip(staff, outcomes, strict=True)
        if isinstance(outcome, Appointment)
    )
    checked_in = Appointment.objects.get(pk=appointment.pk)
    assert checked_in.status == AppointmentStatus.CHECKED_IN
    assert checked_in.checked_in_by_id == winner.pk
    assert checked_in.checked_in_at == winning_outcome.checked_in_at
    assert booked_places(slot) == [1]
    assert_slot_counters_match_appointments()


def test_cancelling_and_rescheduling_one_appointment_at_once_keep_the_counters_exact() -> None:
    centre: Centre = CentreFactory.create()
    old_slot = make_slot(centre, hour=9, capacity=2)
    new_slot = make_slot(centre, hour=10, capacity=1)
    # What each pair of outcomes (cancel, reschedule) must have left in the database.
    expected_endings = {
        (SUCCESS, SUCCESS): (AppointmentStatus.CANCELLED, new_slot.pk),  # moved, then cancelled
        (SUCCESS, "not_cancellable"): (AppointmentStatus.CANCELLED, old_slot.pk),
        ("not_cancellable", SUCCESS): (AppointmentStatus.BOOKED, new_slot.pk),
    }

    for _round in range(20):
        person: Citizen = CitizenFactory.create()
        appointment = book_first_dose(person, old_slot)

        cancelled, moved = map(
            label,
            race(
                [
                    partial(
                        services.cancel_appointment, person=person, appointment_id=appointment.pk
                    ),
                    partial(
                        services.reschedule_appointment,
                        person=person,
                        appointment_id=appointment.pk,
                        new_slot_id=new_slot.pk,
                    ),
                ]
            ),
        )

        assert (cancelled, moved) in expected_endings
        final = Appointment.objects.get(pk=appointment.pk)
        assert (final.status, final.slot_id) == expected_endings[cancelled, moved]
        assert_slot_counters_match_appointments()
        if final.status == AppointmentStatus.BOOKED:  # free the new slot for the next round
            services.cancel_appointment(person=person, appointment_id=appointment.pk)

    assert booked_places(old_slot, new_slot) == [0, 0]
    assert_slot_counters_match_appointments()


def test_two_people_rescheduling_crosswise_never_deadlock_and_keep_the_counters_exact() -> None:
    centre: Centre = CentreFactory.create()
    slots = (make_slot(centre, hour=9, capacity=2), make_slot(centre, hour=10, capacity=2))
    people: list[Citizen] = CitizenFactory.create_batch(2)
    appointments = [book_first_dose(people[0], slots[0]), book_first_dose(people[1], slots[1])]

    for _round in range(20):
        # Each moves to the slot the other is in: one transaction gives back a place in X and
        # takes one in Y while the other gives back Y and takes X.
        current = [Appointment.objects.get(pk=a.pk).slot_id for a in appointments]
        targets = [current[1], current[0]]

        outcomes = race(
            [
                partial(
                    services.reschedule_appointment,
                    person=person,
                    appointment_id=appointment.pk,
                    new_slot_id=target,
                )
                for person, appointment, target in zip(people, appointments, targets, strict=True)
            ]
        )

        assert tally(outcomes) == {SUCCESS: 2}
        assert [Appointment.objects.get(pk=a.pk).slot_id for a in appointments] == targets
        assert booked_places(*slots) == [1, 1]
        assert_slot_counters_match_appointments()


def test_moving_dose_one_and_booking_dose_two_at_once_never_break_the_interval() -> None:
    # Each change alone is allowed; both together would put the doses 15 days apart, less
    # than the vaccine's 21. Whichever runs second must see the first and be refused: the
    # person lock, and a fresh read of their doses after it, make that so.
    centre: Centre = CentreFactory.create()
    for round_number in range(10):
        person: Citizen = CitizenFactory.create()
        first = make_slot(centre, hour=8 + round_number % 10, capacity=2)
        dose_one = book_first_dose(person, first)
        later_dose_one = make_slot(centre, hour=first.starts_at.hour, capacity=2, days_later=10)
        dose_two = make_slot(centre, hour=first.starts_at.hour, capacity=2, days_later=25)

        outcomes = race(
            [
                partial(
                    services.reschedule_appointment,
                    person=person,
                    appointment_id=dose_one.pk,
                    new_slot_id=later_dose_one.pk,
                ),
                partial(
                    services.book_appointment, person=person, slot_id=dose_two.pk, dose_number=2
                ),
            ]
        )

        assert tally(outcomes) == {SUCCESS: 1, "not_eligible": 1}, f"round {round_number}"
        days = {
            appointment.dose_number: appointment.slot.starts_at
            for appointment in Appointment.objects.filter(
                person=person, status=AppointmentStatus.BOOKED
            ).select_related("slot")
        }
        if 2 in days:
            assert days[2] - days[1] >= dt.timedelta(days=21)
    assert_slot_counters_match_appointments()
