import datetime as dt
import uuid

import pytest
import time_machine
from django.db import IntegrityError, connection, transaction
from django.db.models import F, Model
from django.test.utils import CaptureQueriesContext

from tests.factories import (
    CentreFactory,
    CitizenFactory,
    SlotFactory,
    UserFactory,
    VaccineFactory,
    staff_at,
    tomorrow_at,
)
from vaxbook.accounts.models import StaffRole
from vaxbook.bookings import services
from vaxbook.bookings.errors import (
    AlreadyBooked,
    AppointmentNotFound,
    InvalidRecord,
    InvalidTransition,
    NotCancellable,
    NotEligible,
    NotPermitted,
    SlotFull,
    SlotUnavailable,
)
from vaxbook.bookings.models import Appointment, AppointmentStatus, VaccinationRecord
from vaxbook.centres.models import Slot
from vaxbook.notifications.models import Message

pytestmark = pytest.mark.django_db


def database_state() -> tuple[list[tuple[int, int]], list[tuple[uuid.UUID, int, str, int]]]:
    """Everything a booking operation may write: slot counters and appointment rows."""
    slots = list(Slot.objects.order_by("pk").values_list("pk", "booked"))
    appointments = list(
        Appointment.objects.order_by("pk").values_list("pk", "slot_id", "status", "dose_number")
    )
    return slots, appointments


@pytest.fixture
def person():
    return CitizenFactory()


@pytest.fixture
def slot():
    return SlotFactory(capacity=2)


def assert_as_read_again(appointment: Appointment) -> None:
    """`appointment`, its slot and the slot's centre and vaccine are loaded already and hold
    what reading them from the database again gives, but for the slot's counter (as read
    before the change: other people book meanwhile)."""
    with CaptureQueriesContext(connection) as queries:
        returned = [
            appointment,
            appointment.slot,
            appointment.slot.centre,
            appointment.slot.vaccine,
        ]
    assert not queries.captured_queries
    fresh = Appointment.objects.select_related("slot__centre", "slot__vaccine").get(
        pk=appointment.pk
    )
    expected = [fresh, fresh.slot, fresh.slot.centre, fresh.slot.vaccine]
    assert [field_values(instance) for instance in returned] == [
        field_values(instance) for instance in expected
    ]


def field_values(instance: Model) -> dict[str, object]:
    return {
        field.attname: getattr(instance, field.attname)
        for field in type(instance)._meta.concrete_fields
        if not (isinstance(instance, Slot) and field.attname == "booked")
    }


def ends_with_its_transaction(queries: CaptureQueriesContext) -> bool:
    # In a test the service's transaction is a savepoint.
    return queries.captured_queries[-1]["sql"].startswith("RELEASE SAVEPOINT")


def later_slot(first: Slot, days: int) -> Slot:
    return SlotFactory(
        centre=first.centre,
        vaccine=first.vaccine,
        starts_at=first.starts_at + dt.timedelta(days=days),
    )


# --- booking -------------------------------------------------------------------------------


def test_booking_takes_one_place_and_returns_a_booked_appointment(person, slot) -> None:
    appointment = services.book_appointment(person=person, slot_id=slot.pk, dose_number=1)

    slot.refresh_from_db()
    assert slot.booked == 1
    assert appointment.status == AppointmentStatus.BOOKED
    assert appointment.person == person
    assert appointment.dose_number == 1
    assert len(appointment.reference) == 9


def test_last_place_cannot_be_taken_twice(slot) -> None:
    services.book_appointment(person=CitizenFactory(), slot_id=slot.pk, dose_number=1)
    services.book_appointment(person=CitizenFactory(), slot_id=slot.pk, dose_number=1)
    before = database_state()

    with pytest.raises(SlotFull) as refused:
        services.book_appointment(person=CitizenFactory(), slot_id=slot.pk, dose_number=1)

    assert refused.value.code == "slot_full"
    assert database_state() == before


def test_a_slot_full_when_read_is_refused_without_a_write(person, slot) -> None:
    services.book_appointment(person=CitizenFactory(), slot_id=slot.pk, dose_number=1)
    services.book_appointment(person=CitizenFactory(), slot_id=slot.pk, dose_number=1)
    before = database_state()

    with CaptureQueriesContext(connection) as queries, pytest.raises(SlotFull):
        services.book_appointment(person=person, slot_id=slot.pk, dose_number=1)

    statements = [query["sql"].lstrip().split()[0].upper() for query in queries.captured_queries]
    assert "UPDATE" not in statements
    assert "INSERT" not in statements
    assert database_state() == before


def test_a_place_taken_after_the_read_is_refused_by_the_conditional_update(
    person, slot, monkeypatch
) -> None:
    # The lock statement read the slot with a place left; the last place went before this
    # booking's UPDATE (on PostgreSQL, another transaction can take it between the two).
    services.book_appointment(person=CitizenFactory(), slot_id=slot.pk, dose_number=1)
    before = database_state()
    read = services.sql.lock_person

    def read_then_lose_the_last_place(person_id: int, *, slot_id: int | None = None):
        locked = read(person_id, slot_id=slot_id)
        Slot.objects.filter(pk=slot.pk).update(booked=F("capacity"))
        return locked

    monkeypatch.setattr(services.sql, "lock_person", read_then_lose_the_last_place)
    with pytest.raises(SlotFull, match="just been fully booked"):
        services.book_appointment(person=person, slot_id=slot.pk, dose_number=1)

    assert database_state() == before


def test_missing_slot_is_unavailable(person) -> None:
    with pytest.raises(SlotUnavailable, match="does not exist"):
        services.book_appointment(person=person, slot_id=987654, dose_number=1)
    assert not Appointment.objects.exists()


def test_closed_slot_is_unavailable(person) -> None:
    closed = SlotFactory(is_open=False)
    before = database_state()
    with pytest.raises(SlotUnavailable, match="closed"):
        services.book_appointment(person=person, slot_id=closed.pk, dose_number=1)
    assert database_state() == before


def test_slot_of_a_closed_centre_is_unavailable(person) -> None:
    slot = SlotFactory(centre=CentreFactory(is_active=False))
    with pytest.raises(SlotUnavailable):
        services.book_appointment(person=person, slot_id=slot.pk, dose_number=1)
    assert not Appointment.objects.exists()


def test_slot_that_has_started_is_unavailable(person, slot) -> None:
    before = database_state()
    with (
        time_machine.travel(slot.starts_at + dt.timedelta(minutes=1)),
        pytest.raises(SlotUnavailable, match="started"),
    ):
        services.book_appointment(person=person, slot_id=slot.pk, dose_number=1)
    assert database_state() == before


def test_person_too_young_for_the_vaccine_is_not_eligible_and_nothing_is_written(slot) -> None:
    child = CitizenFactory(date_of_birth=slot.starts_at.date().replace(year=2020))
    before = database_state()
    with pytest.raises(NotEligible, match="aged 12 or over") as refused:
        services.book_appointment(person=child, slot_id=slot.pk, dose_number=1)
    assert refused.value.code == "not_eligible"
    assert database_state() == before


def test_second_active_booking_for_the_same_dose_is_already_booked(person, slot) -> None:
    services.book_appointment(person=person, slot_id=slot.pk, dose_number=1)
    other = SlotFactory(centre=slot.centre, starts_at=slot.starts_at + dt.timedelta(hours=1))
    before = database_state()
    with pytest.raises(AlreadyBooked) as refused:
        services.book_appointment(person=person, slot_id=other.pk, dose_number=1)
    assert refused.value.code == "already_booked"
    assert database_state() == before


def test_dose_two_before_the_interval_is_not_eligible(person, slot) -> None:
    services.book_appointment(person=person, slot_id=slot.pk, dose_number=1)
    too_soon = later_slot(slot, days=20)
    before = database_state()
    with pytest.raises(NotEligible, match="at least 21 days"):
        services.book_appointment(person=person, slot_id=too_soon.pk, dose_number=2)
    assert database_state() == before


def test_dose_two_at_the_interval_is_booked(person, slot) -> None:
    services.book_appointment(person=person, slot_id=slot.pk, dose_number=1)
    services.book_appointment(person=person, slot_id=later_slot(slot, days=21).pk, dose_number=2)
    assert person.appointments.count() == 2


def test_cancelled_dose_can_be_booked_again(person, slot) -> None:
    first = services.book_appointment(person=person, slot_id=slot.pk, dose_number=1)
    services.cancel_appointment(person=person, appointment_id=first.pk)
    again = services.book_appointment(person=person, slot_id=slot.pk, dose_number=1)
    assert again.reference != first.reference
    slot.refresh_from_db()
    assert slot.booked == 1


def test_the_database_refuses_a_second_live_appointment_for_the_same_dose(person, slot) -> None:
    services.book_appointment(person=person, slot_id=slot.pk, dose_number=1)
    with pytest.raises(IntegrityError), transaction.atomic():
        Appointment.objects.create(
            person=person,
            slot=slot,
            dose_number=1,
            reference="ABCDEFGH2",
            created_at=slot.starts_at,
        )


def test_the_database_refuses_a_counter_above_capacity(slot) -> None:
    with pytest.raises(IntegrityError), transaction.atomic():
        Slot.objects.filter(pk=slot.pk).update(booked=slot.capacity + 1)


def test_the_database_refuses_a_negative_counter(slot) -> None:
    with pytest.raises(IntegrityError), transaction.atomic():
        Slot.objects.filter(pk=slot.pk).update(booked=-1)


def test_a_reference_collision_is_retried_with_a_new_reference(person, slot, monkeypatch) -> None:
    taken = services.book_appointment(person=CitizenFactory(), slot_id=slot.pk, dose_number=1)
    fresh = iter([taken.reference, "ABCDEFGH2"])
    monkeypatch.setattr(services.references, "new_reference", lambda: next(fresh))

    appointment = services.book_appointment(person=person, slot_id=slot.pk, dose_number=1)

    assert appointment.reference == "ABCDEFGH2"
    slot.refresh_from_db()
    assert slot.booked == 2


# --- both doses together -------------------------------------------------------------------


def test_both_doses_are_booked_together_at_different_centres(person, slot) -> None:
    elsewhere = SlotFactory(vaccine=slot.vaccine, starts_at=slot.starts_at + dt.timedelta(days=21))
    first, second = services.book_both_doses(
        person=person, first_slot_id=slot.pk, second_slot_id=elsewhere.pk
    )
    assert (first.dose_number, second.dose_number) == (1, 2)
    assert second.slot.centre != first.slot.centre
    assert Slot.objects.get(pk=slot.pk).booked == 1
    assert Slot.objects.get(pk=elsewhere.pk).booked == 1


def test_when_dose_two_is_full_dose_one_is_not_booked_either(person, slot) -> None:
    full = SlotFactory(
        vaccine=slot.vaccine, starts_at=slot.starts_at + dt.timedelta(days=22), capacity=0
    )
    before = database_state()
    with pytest.raises(SlotFull):
        services.book_both_doses(person=person, first_slot_id=slot.pk, second_slot_id=full.pk)
    assert database_state() == before


def test_dose_two_too_soon_after_dose_one_refuses_both(person, slot) -> None:
    too_soon = later_slot(slot, days=7)
    before = database_state()
    with pytest.raises(NotEligible, match="at least 21 days"):
        services.book_both_doses(person=person, first_slot_id=slot.pk, second_slot_id=too_soon.pk)
    assert database_state() == before


def test_both_doses_must_be_the_same_vaccine(person, slot) -> None:
    other_vaccine = VaccineFactory(name="Spikevax", cvx_code="207")
    other = SlotFactory(vaccine=other_vaccine, starts_at=slot.starts_at + dt.timedelta(days=30))
    with pytest.raises(NotEligible, match="same vaccine"):
        services.book_both_doses(person=person, first_slot_id=slot.pk, second_slot_id=other.pk)
    assert not Appointment.objects.exists()


def test_a_single_dose_vaccine_has_no_dose_two(person) -> None:
    janssen = VaccineFactory(
        name="Jcovden", doses_in_primary_course=1, minimum_days_between_doses=0, cvx_code="212"
    )
    first = SlotFactory(vaccine=janssen)
    second = SlotFactory(vaccine=janssen, starts_at=first.starts_at + dt.timedelta(days=30))
    with pytest.raises(NotEligible, match="no dose 2"):
        services.book_both_doses(person=person, first_slot_id=first.pk, second_slot_id=second.pk)
    assert not Appointment.objects.exists()


# --- cancel --------------------------------------------------------------------------------


def test_cancelling_gives_the_place_back(person, slot) -> None:
    appointment = services.book_appointment(person=person, slot_id=slot.pk, dose_number=1)
    cancelled = services.cancel_appointment(person=person, appointment_id=appointment.pk)

    assert cancelled.status == AppointmentStatus.CANCELLED
    assert cancelled.cancelled_at is not None
    slot.refresh_from_db()
    assert slot.booked == 0


def test_a_cancellation_returns_the_appointment_as_changed(person, slot) -> None:
    appointment = services.book_appointment(person=person, slot_id=slot.pk, dose_number=1)
    cancelled = services.cancel_appointment(person=person, appointment_id=appointment.pk)

    assert cancelled.cancellation_reason == "Cancelled by the person."
    assert_as_read_again(cancelled)


def test_cancelling_reads_nothing_back_after_its_writes(
    person, slot, django_assert_max_num_queries
) -> None:
    appointment = services.book_appointment(person=person, slot_id=slot.pk, dose_number=1)
    # The person lock (two statements), the appointment, its update, the place given back,
    # the message and its task, the waiting list's task that offers the freed place, and
    # the savepoint around them: one statement fewer than when the appointment was read
    # again at the end.
    with django_assert_max_num_queries(10) as queries:
        services.cancel_appointment(person=person, appointment_id=appointment.pk)
    assert ends_with_its_transaction(queries)


def test_someone_elses_appointment_cannot_be_cancelled_and_looks_missing(person, slot) -> None:
    appointment = services.book_appointment(person=person, slot_id=slot.pk, dose_number=1)
    before = database_state()
    with pytest.raises(AppointmentNotFound) as refused:
        services.cancel_appointment(person=CitizenFactory(), appointment_id=appointment.pk)
    with pytest.raises(AppointmentNotFound) as missing:
        services.cancel_appointment(person=CitizenFactory(), appointment_id=uuid.uuid4())
    assert refused.value.message == missing.value.message
    assert database_state() == before


def test_cancelling_twice_is_not_cancellable(person, slot) -> None:
    appointment = services.book_appointment(person=person, slot_id=slot.pk, dose_number=1)
    services.cancel_appointment(person=person, appointment_id=appointment.pk)
    before = database_state()
    with pytest.raises(NotCancellable):
        services.cancel_appointment(person=person, appointment_id=appointment.pk)
    assert database_state() == before


def test_a_checked_in_appointment_is_not_cancellable(person, slot) -> None:
    appointment = services.book_appointment(person=person, slot_id=slot.pk, dose_number=1)
    services.check_in(appointment_id=appointment.pk, staff=staff_at(slot.centre))
    before = database_state()
    with pytest.raises(NotCancellable, match="checked in"):
        services.cancel_appointment(person=person, appointment_id=appointment.pk)
    assert database_state() == before


def test_an_appointment_that_has_started_is_not_cancellable(person, slot) -> None:
    appointment = services.book_appointment(person=person, slot_id=slot.pk, dose_number=1)
    before = database_state()
    with (
        time_machine.travel(slot.starts_at + dt.timedelta(minutes=5)),
        pytest.raises(NotCancellable, match="started"),
    ):
        services.cancel_appointment(person=person, appointment_id=appointment.pk)
    assert database_state() == before


# --- reschedule ----------------------------------------------------------------------------


def test_rescheduling_moves_the_place_and_keeps_the_reference(person, slot) -> None:
    appointment = services.book_appointment(person=person, slot_id=slot.pk, dose_number=1)
    new = SlotFactory(vaccine=slot.vaccine, starts_at=slot.starts_at + dt.timedelta(days=2))

    moved = services.reschedule_appointment(
        person=person, appointment_id=appointment.pk, new_slot_id=new.pk
    )

    assert moved.slot == new
    assert moved.reference == appointment.reference
    assert moved.status == AppointmentStatus.BOOKED
    assert Slot.objects.get(pk=slot.pk).booked == 0
    assert Slot.objects.get(pk=new.pk).booked == 1


def test_a_move_returns_the_appointment_as_changed(person, slot) -> None:
    appointment = services.book_appointment(person=person, slot_id=slot.pk, dose_number=1)
    new = SlotFactory(
        vaccine=slot.vaccine, starts_at=slot.starts_at + dt.timedelta(days=2), booked=1
    )

    moved = services.reschedule_appointment(
        person=person, appointment_id=appointment.pk, new_slot_id=new.pk
    )

    assert moved.slot_id == new.pk
    assert_as_read_again(moved)


def test_rescheduling_reads_nothing_back_after_its_writes(
    person, slot, django_assert_max_num_queries
) -> None:
    appointment = services.book_appointment(person=person, slot_id=slot.pk, dose_number=1)
    new = SlotFactory(vaccine=slot.vaccine, starts_at=slot.starts_at + dt.timedelta(days=2))
    # The new slot, the person lock (two statements), the appointment, its update, the two
    # places, the reschedule's number, the message and its task, the waiting list's task
    # that offers the old place, and the savepoint around them: one statement fewer than
    # when the appointment was read again at the end.
    with django_assert_max_num_queries(13) as queries:
        services.reschedule_appointment(
            person=person, appointment_id=appointment.pk, new_slot_id=new.pk
        )
    assert ends_with_its_transaction(queries)


def test_rescheduling_to_a_full_slot_keeps_the_old_appointment(person, slot) -> None:
    appointment = services.book_appointment(person=person, slot_id=slot.pk, dose_number=1)
    full = SlotFactory(vaccine=slot.vaccine, capacity=1, booked=1, starts_at=tomorrow_at(15))
    before = database_state()
    with pytest.raises(SlotFull):
        services.reschedule_appointment(
            person=person, appointment_id=appointment.pk, new_slot_id=full.pk
        )
    assert database_state() == before


def test_rescheduling_to_a_closed_slot_keeps_the_old_appointment(person, slot) -> None:
    appointment = services.book_appointment(person=person, slot_id=slot.pk, dose_number=1)
    closed = SlotFactory(vaccine=slot.vaccine, is_open=False, starts_at=tomorrow_at(16))
    before = database_state()
    with pytest.raises(SlotUnavailable):
        services.reschedule_appointment(
            person=person, appointment_id=appointment.pk, new_slot_id=closed.pk
        )
    assert database_state() == before


def test_rescheduling_dose_two_too_close_to_dose_one_keeps_it(person, slot) -> None:
    services.book_appointment(person=person, slot_id=slot.pk, dose_number=1)
    dose_two = services.book_appointment(
        person=person, slot_id=later_slot(slot, days=21).pk, dose_number=2
    )
    too_soon = later_slot(slot, days=10)
    before = database_state()
    with pytest.raises(NotEligible):
        services.reschedule_appointment(
            person=person, appointment_id=dose_two.pk, new_slot_id=too_soon.pk
        )
    assert database_state() == before


def test_rescheduling_dose_one_to_another_vaccine_is_not_eligible_and_keeps_it(
    person, slot
) -> None:
    # No dose 2 held: no dose rule ties dose 1 to its vaccine, the move itself must.
    appointment = services.book_appointment(person=person, slot_id=slot.pk, dose_number=1)
    spikevax = VaccineFactory(name="Spikevax", manufacturer="Moderna", cvx_code="207")
    other = SlotFactory(centre=slot.centre, vaccine=spikevax, starts_at=tomorrow_at(12))
    before, messages = database_state(), Message.objects.count()
    with pytest.raises(NotEligible, match=r"same vaccine \(Comirnaty\)\. To change vaccine"):
        services.reschedule_appointment(
            person=person, appointment_id=appointment.pk, new_slot_id=other.pk
        )
    assert database_state() == before
    assert Message.objects.count() == messages  # nobody is told of a move that did not happen


def test_someone_elses_appointment_cannot_be_rescheduled(person, slot) -> None:
    appointment = services.book_appointment(person=person, slot_id=slot.pk, dose_number=1)
    new = SlotFactory(vaccine=slot.vaccine, starts_at=tomorrow_at(17))
    before = database_state()
    with pytest.raises(AppointmentNotFound):
        services.reschedule_appointment(
            person=CitizenFactory(), appointment_id=appointment.pk, new_slot_id=new.pk
        )
    assert database_state() == before


def test_rescheduling_to_the_same_slot_is_refused(person, slot) -> None:
    appointment = services.book_appointment(person=person, slot_id=slot.pk, dose_number=1)
    with pytest.raises(AlreadyBooked):
        services.reschedule_appointment(
            person=person, appointment_id=appointment.pk, new_slot_id=slot.pk
        )
    assert Slot.objects.get(pk=slot.pk).booked == 1


# --- the day: check-in, vaccination, no-show ---------------------------------------------


def test_check_in_records_who_and_when(person, slot) -> None:
    appointment = services.book_appointment(person=person, slot_id=slot.pk, dose_number=1)
    nurse = staff_at(slot.centre, StaffRole.RECEPTIONIST)
    checked_in = services.check_in(appointment_id=appointment.pk, staff=nurse)
    assert checked_in.status == AppointmentStatus.CHECKED_IN
    assert checked_in.checked_in_by == nurse
    assert checked_in.checked_in_at is not None


def test_a_second_check_in_is_an_invalid_transition(person, slot) -> None:
    appointment = services.book_appointment(person=person, slot_id=slot.pk, dose_number=1)
    services.check_in(appointment_id=appointment.pk, staff=staff_at(slot.centre))
    with pytest.raises(InvalidTransition) as refused:
        services.check_in(appointment_id=appointment.pk, staff=staff_at(slot.centre))
    assert refused.value.code == "invalid_transition"
    assert refused.value.status == AppointmentStatus.CHECKED_IN


def test_vaccination_needs_a_check_in_first(person, slot) -> None:
    appointment = services.book_appointment(person=person, slot_id=slot.pk, dose_number=1)
    with pytest.raises(InvalidTransition):
        services.record_vaccination(
            appointment_id=appointment.pk, staff=staff_at(slot.centre), lot_number="FK1234"
        )
    assert not VaccinationRecord.objects.exists()
    assert Appointment.objects.get(pk=appointment.pk).status == AppointmentStatus.BOOKED


def test_vaccination_without_a_lot_number_is_refused(person, slot) -> None:
    appointment = services.book_appointment(person=person, slot_id=slot.pk, dose_number=1)
    services.check_in(appointment_id=appointment.pk, staff=staff_at(slot.centre))
    with pytest.raises(InvalidRecord):
        services.record_vaccination(
            appointment_id=appointment.pk, staff=UserFactory(), lot_number=" "
        )
    assert Appointment.objects.get(pk=appointment.pk).status == AppointmentStatus.CHECKED_IN


def test_recorded_dose_makes_dose_two_bookable_after_the_interval(person, slot) -> None:
    appointment = services.book_appointment(person=person, slot_id=slot.pk, dose_number=1)
    nurse = staff_at(slot.centre)
    with time_machine.travel(slot.starts_at):
        services.check_in(appointment_id=appointment.pk, staff=nurse)
        record = services.record_vaccination(
            appointment_id=appointment.pk, staff=nurse, lot_number="FK1234"
        )
    assert record.vaccine == slot.vaccine
    assert record.administered_by == nurse
    assert Appointment.objects.get(pk=appointment.pk).status == AppointmentStatus.VACCINATED

    with time_machine.travel(slot.starts_at + dt.timedelta(days=1)):
        with pytest.raises(NotEligible):
            services.book_appointment(
                person=person, slot_id=later_slot(slot, days=20).pk, dose_number=2
            )
        services.book_appointment(
            person=person, slot_id=later_slot(slot, days=21).pk, dose_number=2
        )


def test_no_show_only_once_the_time_has_come_and_the_place_stays_used(person, slot) -> None:
    manager = staff_at(slot.centre, StaffRole.MANAGER)
    appointment = services.book_appointment(person=person, slot_id=slot.pk, dose_number=1)
    with pytest.raises(InvalidTransition):
        services.mark_no_show(appointment_id=appointment.pk, staff=manager)
    with time_machine.travel(slot.starts_at + dt.timedelta(hours=2)):
        missed = services.mark_no_show(appointment_id=appointment.pk, staff=manager)
    assert missed.status == AppointmentStatus.NO_SHOW
    assert Slot.objects.get(pk=slot.pk).booked == 1


def test_a_person_who_missed_the_appointment_can_book_the_dose_again(person, slot) -> None:
    manager = staff_at(slot.centre, StaffRole.MANAGER)
    appointment = services.book_appointment(person=person, slot_id=slot.pk, dose_number=1)
    with time_machine.travel(slot.starts_at + dt.timedelta(hours=2)):
        services.mark_no_show(appointment_id=appointment.pk, staff=manager)
        services.book_appointment(person=person, slot_id=later_slot(slot, days=2).pk, dose_number=1)


def test_unknown_appointment_cannot_be_checked_in() -> None:
    with pytest.raises(AppointmentNotFound):
        services.check_in(appointment_id=uuid.uuid4(), staff=UserFactory())


def test_staff_of_another_centre_cannot_check_in(person, slot) -> None:
    appointment = services.book_appointment(person=person, slot_id=slot.pk, dose_number=1)
    elsewhere = staff_at(CentreFactory())
    with pytest.raises(NotPermitted) as refused:
        services.check_in(appointment_id=appointment.pk, staff=elsewhere)
    assert refused.value.code == "not_permitted"
    assert Appointment.objects.get(pk=appointment.pk).status == AppointmentStatus.BOOKED


def test_a_citizen_account_cannot_check_in(person, slot) -> None:
    appointment = services.book_appointment(person=person, slot_id=slot.pk, dose_number=1)
    with pytest.raises(NotPermitted):
        services.check_in(appointment_id=appointment.pk, staff=person.user)


def test_a_receptionist_checks_in_but_does_not_record_the_dose(person, slot) -> None:
    appointment = services.book_appointment(person=person, slot_id=slot.pk, dose_number=1)
    receptionist = staff_at(slot.centre, StaffRole.RECEPTIONIST)
    services.check_in(appointment_id=appointment.pk, staff=receptionist)
    with pytest.raises(NotPermitted):
        services.record_vaccination(
            appointment_id=appointment.pk, staff=receptionist, lot_number="FK1234"
        )
    assert not VaccinationRecord.objects.exists()


def test_only_a_centre_manager_marks_no_shows(person, slot) -> None:
    appointment = services.book_appointment(person=person, slot_id=slot.pk, dose_number=1)
    with time_machine.travel(slot.starts_at + dt.timedelta(hours=2)):
        with pytest.raises(NotPermitted):
            services.mark_no_show(appointment_id=appointment.pk, staff=staff_at(slot.centre))
        services.mark_no_show(
            appointment_id=appointment.pk, staff=staff_at(slot.centre, StaffRole.MANAGER)
        )


def test_an_administrator_may_check_in_anywhere(person, slot) -> None:
    appointment = services.book_appointment(person=person, slot_id=slot.pk, dose_number=1)
    admin = UserFactory(is_superuser=True, is_staff=True)
    assert services.check_in(appointment_id=appointment.pk, staff=admin).checked_in_by == admin


def test_check_in_for_a_slot_the_appointment_has_left_is_refused(person, slot) -> None:
    appointment = services.book_appointment(person=person, slot_id=slot.pk, dose_number=1)
    later = SlotFactory(centre=slot.centre, starts_at=slot.starts_at + dt.timedelta(days=3))
    services.reschedule_appointment(
        person=person, appointment_id=appointment.pk, new_slot_id=later.pk
    )
    with pytest.raises(InvalidTransition, match="moved"):
        services.check_in(
            appointment_id=appointment.pk, staff=staff_at(slot.centre), slot_id=slot.pk
        )
    assert Appointment.objects.get(pk=appointment.pk).status == AppointmentStatus.BOOKED


def test_a_slot_loaded_by_the_caller_must_be_the_slot_booked(person, slot) -> None:
    other = SlotFactory(vaccine=slot.vaccine)
    second = SlotFactory(vaccine=slot.vaccine, starts_at=slot.starts_at + dt.timedelta(days=30))

    with pytest.raises(ValueError, match="loaded slot"):
        services.book_both_doses(
            person=person,
            first_slot_id=slot.pk,
            second_slot_id=second.pk,
            loaded_first_slot=other,
        )

    assert not Appointment.objects.exists()


@pytest.mark.django_db(transaction=True)
def test_a_no_show_is_recorded_only_within_its_callers_transaction(person, slot) -> None:
    appointment = services.book_appointment(person=person, slot_id=slot.pk, dose_number=1)
    staff = staff_at(slot.centre, StaffRole.RECEPTIONIST)

    with pytest.raises(RuntimeError, match="transaction"):
        services.record_no_show(
            staff=staff,
            appointment_id=appointment.pk,
            slot_id=slot.pk,
            centre_id=slot.centre_id,
            client_address=None,
        )

    assert Appointment.objects.get(pk=appointment.pk).status == AppointmentStatus.BOOKED
