"""The booking engine: the only code that writes appointments and slot counters.

How it never overbooks
----------------------
A place is taken by ONE conditional update,

    UPDATE slot SET booked = booked + 1
     WHERE id = %s AND booked < capacity AND is_open AND starts_at > now

and given back by `booked = booked - 1 WHERE booked > 0`. On PostgreSQL, a second booking
of the same slot waits for the first one's row lock and then re-evaluates the WHERE clause
on the committed row, so the last place goes to exactly one of them; on SQLite every write
transaction starts with BEGIN IMMEDIATE and runs alone. Either way the CHECK constraint
`slot_booked_within_capacity` refuses any counter outside 0..capacity, whatever code runs.

Locks, always taken in this order so that no two transactions wait for each other
----------------------------------------------------------------------------------
1. The person (`Citizen` row, SELECT ... FOR UPDATE): every change a citizen makes to their
   own appointments runs one at a time, so the eligibility rules (dose order, intervals,
   one appointment per dose) are checked on a view nobody else can change under us.
2. The appointment (its conditional status update).
3. Slots, in ascending id order: moving one person from slot A to B while another moves
   from B to A cannot deadlock.

Every public function is one durable transaction: it commits everything or, raising a
vaxbook.bookings.errors exception, nothing. (record_no_show is the one step of a caller's
transaction, and refuses to run outside one.)
"""

import datetime as dt
import uuid
from collections.abc import Callable, Collection
from dataclasses import dataclass
from typing import Any, NoReturn

from django.db import IntegrityError, transaction
from django.db.models import F
from django.utils import timezone
from django.utils.translation import gettext as _

from vaxbook.accounts.models import Citizen, StaffStep, User
from vaxbook.audit.models import AuditAction
from vaxbook.audit.services import record_event
from vaxbook.bookings import eligibility, references, sql
from vaxbook.bookings.errors import (
    AlreadyBooked,
    AppointmentNotFound,
    InvalidRecord,
    InvalidTransition,
    NoSpareCapacity,
    NotCancellable,
    NotEligible,
    NotPermitted,
    SlotFull,
    SlotUnavailable,
)
from vaxbook.bookings.models import (
    LOT_NUMBER_MAX_LENGTH,
    Appointment,
    AppointmentStatus,
    BookingChannel,
    InjectionSite,
    VaccinationRecord,
)
from vaxbook.centres import availability
from vaxbook.centres.models import Centre, Slot
from vaxbook.centres.permissions import may_manage
from vaxbook.centres.queries import local_day_bounds
from vaxbook.notifications.events import Event
from vaxbook.notifications.services import announce
from vaxbook.waiting_list import hooks as waiting_list

# A new reference collides with an existing one about once in 10**4 bookings when 10**8
# appointments exist; the booking is then simply tried again with another reference.
REFERENCE_ATTEMPTS = 5


# Called with the appointment as changed (its slot's counters as read before the change)
# inside the citizen operation's transaction, after its writes: the API records an
# idempotency key there, so the key exists exactly when the change does. Whatever it raises
# rolls the whole operation back and propagates.
type Within = Callable[[Appointment], None]


@dataclass(frozen=True)
class OnBehalf:
    """Who makes a booking for someone else, and through which channel: a relative's
    account (vaxbook.accounts.people), a phone line agent (vaxbook.accounts.phone_line)."""

    user: User
    channel: BookingChannel


# --- citizens: book, cancel, reschedule -------------------------------------------------


def book_appointment(
    *,
    person: Citizen,
    slot_id: int,
    dose_number: int,
    within: Within | None = None,
    on_behalf: OnBehalf | None = None,
) -> Appointment:
    """Book one dose for `person` in slot `slot_id`. `within`: see Within. `on_behalf`:
    who books when not the person (the caller has checked that they may)."""
    now = timezone.now()

    def book() -> Appointment:
        with transaction.atomic(durable=True):
            # The slot is read with the person lock, in one statement (sql.lock_person).
            holder = _lock_person(person.pk, slot_id=slot_id)
            slot = _bookable(holder.slot, now)
            eligibility.check_dose(
                date_of_birth=holder.date_of_birth,
                vaccine=slot.vaccine,
                dose_number=dose_number,
                day=slot.local_date,
                held=holder.held,
            )
            _check_policy(holder, slot, dose_number, now)
            if slot.booked >= slot.capacity and sql.still_full(slot.pk, now):
                # Refused with a read instead of a write: when a hot slot fills up, most
                # requests for it end here. The slot as read with the lock is not enough
                # to refuse: that read may be from before a wait for the lock, during
                # which a place was given back (sql.lock_person).
                raise _slot_full()
            _take_place(slot.pk, now)
            availability.slots_changed([slot])
            appointment = _insert_appointment(
                person_id=person.pk, slot=slot, dose_number=dose_number, now=now, by=on_behalf
            )
            appointment.person = person
            announce(appointment=appointment, event=Event.BOOKED)
            if holder.holds_offer:
                waiting_list.person_booked(person_id=person.pk, dose_numbers=[dose_number])
            if within is not None:
                within(appointment)
            return appointment

    return _with_fresh_reference_on_collision(book)


def book_held_place(
    *, person: Citizen, slot_id: int, dose_number: int, within: Within
) -> Appointment:
    """Book one dose for `person` in a place of slot `slot_id` that is already taken for
    them: a waiting-list offer holds it (vaxbook.waiting_list). The slot's counter does not
    change; `within` must turn the hold into this appointment (a conditional update on the
    offer) or raise, which rolls everything back. Eligibility and the slot being open are
    checked as for any booking, under the person lock."""
    now = timezone.now()

    def book() -> Appointment:
        with transaction.atomic(durable=True):
            holder = _lock_person(person.pk, slot_id=slot_id)
            slot = _bookable(holder.slot, now)
            eligibility.check_dose(
                date_of_birth=holder.date_of_birth,
                vaccine=slot.vaccine,
                dose_number=dose_number,
                day=slot.local_date,
                held=holder.held,
            )
            _check_policy(holder, slot, dose_number, now)
            appointment = _insert_appointment(
                person_id=person.pk, slot=slot, dose_number=dose_number, now=now
            )
            appointment.person = person
            announce(appointment=appointment, event=Event.BOOKED)
            within(appointment)
            return appointment

    return _with_fresh_reference_on_collision(book)


def book_both_doses(
    *,
    person: Citizen,
    first_slot_id: int,
    second_slot_id: int,
    loaded_first_slot: Slot | None = None,
    on_behalf: OnBehalf | None = None,
) -> tuple[Appointment, Appointment]:
    """Book dose 1 and dose 2 of a two-dose course together: both places or neither.

    The second slot may be at any centre but must be the same vaccine, at least the
    vaccine's interval after the first. `loaded_first_slot`: slot `first_slot_id` with its
    centre and vaccine, when the caller has read it already."""
    now = timezone.now()
    first = _load_slot(first_slot_id, now, loaded=loaded_first_slot)
    second = _load_slot(second_slot_id, now)
    if first.pk == second.pk:
        raise NotEligible(_("The two doses cannot be at the same time."))
    if first.vaccine_id != second.vaccine_id:
        raise NotEligible(_("Both doses must be the same vaccine."))

    def book() -> tuple[Appointment, Appointment]:
        with transaction.atomic(durable=True):
            holder = _lock_person(person.pk)
            eligibility.check_dose(
                date_of_birth=holder.date_of_birth,
                vaccine=first.vaccine,
                dose_number=1,
                day=first.local_date,
                held=holder.held,
            )
            _check_policy(holder, first, 1, now)
            first_dose = eligibility.HeldDose(
                appointment_id=uuid.uuid4(),
                dose_number=1,
                vaccine_id=first.vaccine_id,
                day=first.local_date,
                given=False,
            )
            eligibility.check_dose(
                date_of_birth=holder.date_of_birth,
                vaccine=second.vaccine,
                dose_number=2,
                day=second.local_date,
                held=[*holder.held, first_dose],
            )
            _check_policy(holder, second, 2, now)
            for slot_id in sorted((first.pk, second.pk)):
                _take_place(slot_id, now)
            availability.slots_changed([first, second])
            booked = (
                _insert_appointment(
                    person_id=person.pk, slot=first, dose_number=1, now=now, by=on_behalf
                ),
                _insert_appointment(
                    person_id=person.pk, slot=second, dose_number=2, now=now, by=on_behalf
                ),
            )
            for appointment in booked:
                appointment.person = person
                announce(appointment=appointment, event=Event.BOOKED)
            if holder.holds_offer:
                waiting_list.person_booked(person_id=person.pk, dose_numbers=[1, 2])
            return booked

    return _with_fresh_reference_on_collision(book)


def cancel_appointment(
    *, person: Citizen, appointment_id: uuid.UUID, within: Within | None = None
) -> Appointment:
    """Cancel the person's own booked appointment; its place goes back to the slot.
    `within`: see Within. The appointment returned is as changed, its slot's counters as
    read before."""
    now = timezone.now()
    reason = _("Cancelled by the person.")
    with transaction.atomic(durable=True):
        _lock_person(person.pk)
        appointment = _own_appointment(person, appointment_id)
        _ensure_changeable(appointment, now)
        # Conditional on the status (a receptionist may check the person in meanwhile) and
        # on the slot whose place is given back below.
        cancelled = Appointment.objects.filter(
            pk=appointment.pk, status=AppointmentStatus.BOOKED, slot_id=appointment.slot_id
        ).update(status=AppointmentStatus.CANCELLED, cancelled_at=now, cancellation_reason=reason)
        if not cancelled:
            raise NotCancellable(_("This appointment has just been checked in or changed."))
        appointment.status = AppointmentStatus.CANCELLED
        appointment.cancelled_at, appointment.cancellation_reason = now, reason
        _give_back_place(appointment.slot_id)
        availability.slots_changed([appointment.slot])
        waiting_list.places_freed(slot_ids=[appointment.slot_id])
        appointment.person = person
        announce(appointment=appointment, event=Event.CANCELLED)  # no reason: the person's own
        if within is not None:
            within(appointment)
    return appointment


def reschedule_appointment(
    *,
    person: Citizen,
    appointment_id: uuid.UUID,
    new_slot_id: int,
    within: Within | None = None,
) -> Appointment:
    """Move the person's booked appointment to another slot of the same vaccine, keeping its
    reference (to change vaccine, a person cancels and books again).

    Atomic: when the new place cannot be had (full, closed, not eligible), the old
    appointment stands untouched. The appointment returned is as changed, its new slot's
    counters as read before."""
    now = timezone.now()
    new_slot = _load_slot(new_slot_id, now)
    with transaction.atomic(durable=True):
        holder = _lock_person(person.pk)
        appointment = _own_appointment(person, appointment_id)
        _ensure_changeable(appointment, now)
        old_slot_id = appointment.slot_id
        if new_slot.pk == old_slot_id:
            raise AlreadyBooked(_("This is already the time of your appointment."))
        if new_slot.vaccine_id != appointment.slot.vaccine_id:
            # A move changes the time and keeps the reference, never the vaccine. Checked
            # here, not left to the dose rules below: a dose 1 with no dose 2 held passes them.
            raise NotEligible(
                _(
                    "A new time must be for the same vaccine (%(vaccine)s). To change "
                    "vaccine, cancel and book again."
                )
                % {"vaccine": appointment.slot.vaccine.name}
            )
        eligibility.check_dose(
            date_of_birth=holder.date_of_birth,
            vaccine=new_slot.vaccine,
            dose_number=appointment.dose_number,
            day=new_slot.local_date,
            held=[dose for dose in holder.held if dose.appointment_id != appointment.pk],
        )
        _check_policy(holder, new_slot, appointment.dose_number, now)
        # A receptionist may check the person in meanwhile (staff take no person lock):
        # the move applies only to a still-booked appointment in its old slot.
        moved = Appointment.objects.filter(
            pk=appointment.pk, status=AppointmentStatus.BOOKED, slot_id=old_slot_id
        ).update(slot_id=new_slot.pk)
        if not moved:
            raise NotCancellable(_("This appointment has just been checked in or changed."))
        for slot_id in sorted((old_slot_id, new_slot.pk)):
            if slot_id == new_slot.pk:
                _take_place(slot_id, now)
            else:
                _give_back_place(slot_id)
        availability.slots_changed([appointment.slot, new_slot])
        waiting_list.places_freed(slot_ids=[old_slot_id])
        appointment.person, appointment.slot = person, new_slot
        announce(appointment=appointment, event=Event.RESCHEDULED)
        if within is not None:
            within(appointment)
    return appointment


# --- staff: the day of vaccination -----------------------------------------------------


def check_in(
    *,
    appointment_id: uuid.UUID,
    staff: User,
    slot_id: int | None = None,
    client_address: str | None = None,
) -> Appointment:
    """booked -> checked_in. Of two receptionists checking one person in at once, exactly one
    succeeds; the other gets InvalidTransition with status `checked_in`.

    `slot_id`, when given, is the slot a validation saw: the person is checked in only if
    the appointment has not been moved since. The check-in is audited in its transaction."""
    now = timezone.now()
    with transaction.atomic(durable=True):
        appointment = _appointment(appointment_id)
        _ensure_staff_may(staff, StaffStep.CHECK_IN, appointment)
        if slot_id is not None and appointment.slot_id != slot_id:
            raise InvalidTransition(
                _("This appointment has just been moved to another time."),
                status=appointment.status,
            )
        _move_status(
            appointment,
            AppointmentStatus.BOOKED,
            AppointmentStatus.CHECKED_IN,
            checked_in_at=now,
            checked_in_by=staff,
        )
        _audit(
            AuditAction.CHECK_IN, AppointmentStatus.CHECKED_IN, appointment, staff, client_address
        )
    return _appointment(appointment_id)


def record_vaccination(
    *,
    appointment_id: uuid.UUID,
    staff: User,
    lot_number: str,
    injection_site: InjectionSite | str = "",
    administered_at: dt.datetime | None = None,
    client_address: str | None = None,
) -> VaccinationRecord:
    """checked_in -> vaccinated, with the record of the dose given (the appointment's
    vaccine, lot, injection site, time, who), audited in the same transaction.

    `administered_at` defaults to now; it may not be in the future nor before the person
    was checked in (to the minute: a time typed as 10:03 for a check-in at 10:03:27 is
    fine)."""
    lot_number = lot_number.strip()
    if not lot_number:
        raise InvalidRecord(_("The lot number is required."))
    if len(lot_number) > LOT_NUMBER_MAX_LENGTH:
        raise InvalidRecord(
            _("The lot number is at most %(max)d characters.") % {"max": LOT_NUMBER_MAX_LENGTH}
        )
    if injection_site not in ("", *InjectionSite.values):
        raise InvalidRecord(_("Choose where the dose was injected."))
    now = timezone.now()
    given_at = now if administered_at is None else administered_at
    if given_at.tzinfo is None:
        raise ValueError("administered_at must be an aware datetime.")
    if given_at > now:
        raise InvalidRecord(_("The time the dose was given cannot be in the future."))
    with transaction.atomic(durable=True):
        appointment = _appointment(appointment_id)
        _ensure_staff_may(staff, StaffStep.VACCINATE, appointment)
        checked_in_at = appointment.checked_in_at
        if checked_in_at is not None and given_at < checked_in_at.replace(second=0, microsecond=0):
            raise InvalidRecord(
                _("The time the dose was given cannot be before the person was checked in.")
            )
        _move_status(
            appointment,
            AppointmentStatus.CHECKED_IN,
            AppointmentStatus.VACCINATED,
            vaccinated_at=given_at,
        )
        record = VaccinationRecord.objects.create(
            appointment=appointment,
            vaccine_id=appointment.slot.vaccine_id,
            lot_number=lot_number,
            injection_site=injection_site,
            administered_at=given_at,
            administered_by=staff,
        )
        announce(appointment=appointment, event=Event.VACCINATED)
        _audit(
            AuditAction.VACCINATION,
            AppointmentStatus.VACCINATED,
            appointment,
            staff,
            client_address,
            detail={
                "vaccine_id": appointment.slot.vaccine_id,
                "lot_number": lot_number,
                "injection_site": str(injection_site),
                "administered_at": given_at.isoformat(),
            },
        )
        return record


def mark_no_show(
    *, appointment_id: uuid.UUID, staff: User, client_address: str | None = None
) -> Appointment:
    """booked -> no_show, once the appointment's time has come. The place stays used. The
    change is audited in its transaction."""
    now = timezone.now()
    with transaction.atomic(durable=True):
        appointment = _appointment(appointment_id)
        _ensure_staff_may(staff, StaffStep.MARK_NO_SHOW, appointment)
        if appointment.slot.starts_at > now:
            raise InvalidTransition(
                _("An appointment can be marked as missed only once its time has come."),
                status=appointment.status,
            )
        marked = record_no_show(
            staff=staff,
            appointment_id=appointment.pk,
            slot_id=appointment.slot_id,
            centre_id=appointment.slot.centre_id,
            client_address=client_address,
        )
        if not marked:
            _refuse_move(appointment, AppointmentStatus.NO_SHOW)
    return _appointment(appointment_id)


def record_no_show(
    *,
    staff: User,
    appointment_id: uuid.UUID,
    slot_id: int,
    centre_id: int,
    client_address: str | None,
    detail: dict[str, Any] | None = None,
) -> bool:
    """booked -> no_show in the caller's transaction, audited there; False when the
    appointment is no longer booked in `slot_id`. The place stays used and nobody is told.

    The move behind both mark_no_show and vaxbook.checkin.services.mark_remaining_no_shows,
    and a step of their transactions, not one of its own. The callers hold the checks: that
    `staff` may mark no-shows at `centre_id`, and their own time rule (one appointment once
    its slot has started; the rest of a day once their slots have ended)."""
    if not transaction.get_connection().in_atomic_block:
        raise RuntimeError("record_no_show() runs inside its caller's transaction.")
    if not _moved(appointment_id, slot_id, AppointmentStatus.BOOKED, AppointmentStatus.NO_SHOW):
        return False
    record_event(
        actor=staff,
        action=AuditAction.NO_SHOW,
        centre_id=centre_id,
        appointment_id=appointment_id,
        outcome=AppointmentStatus.NO_SHOW,
        client_address=client_address,
        detail=detail,
    )
    return True


def record_walk_in(
    *,
    staff: User,
    person: Citizen,
    centre_id: int,
    vaccine_id: int,
    dose_number: int,
    lot_number: str,
    injection_site: InjectionSite | str = "",
    over_capacity_reason: str = "",
    client_address: str | None = None,
) -> VaccinationRecord:
    """A dose given now at the centre to `person`, who has no appointment: an appointment
    through the walk-in channel, checked in and vaccinated at once, with its record and an
    audit row, in one transaction. Every rule per person holds (eligibility, the campaign
    policy, one live appointment per dose).

    The place is the day's spare capacity: a free place in one of today's slots of this
    vaccine at the centre, earliest first (a place in a slot that has passed is lost
    otherwise). With none left, NoSpareCapacity, unless `over_capacity_reason` is given:
    the slot running now (else the day's last) then gets one more place, taken at once,
    so the counters stay true (booked = the appointments holding a place)."""
    lot_number = lot_number.strip()
    if not lot_number or len(lot_number) > LOT_NUMBER_MAX_LENGTH:
        raise InvalidRecord(_("Enter the lot number printed on the vial."))
    if injection_site not in ("", *InjectionSite.values):
        raise InvalidRecord(_("Choose where the dose was injected."))
    over_capacity_reason = " ".join(over_capacity_reason.split())[:300]
    if not staff.may_at(centre_id, StaffStep.VACCINATE):
        raise NotPermitted(_("Your role at this centre does not allow this."))
    now = timezone.now()
    try:
        with transaction.atomic(durable=True):
            return _record_walk_in(
                staff,
                person,
                centre_id,
                vaccine_id,
                dose_number,
                lot_number,
                injection_site,
                over_capacity_reason,
                client_address,
                now,
            )
    except IntegrityError as error:
        # The new person's record (see below), added by someone else at the same instant.
        if "one_record_per_person" not in (_violated_constraint(error) or str(error)):
            raise
        raise AlreadyBooked(_("This person has just been added: search for them again.")) from error


def _record_walk_in(
    staff: User,
    person: Citizen,
    centre_id: int,
    vaccine_id: int,
    dose_number: int,
    lot_number: str,
    injection_site: InjectionSite | str,
    over_capacity_reason: str,
    client_address: str | None,
    now: dt.datetime,
) -> VaccinationRecord:
    if person.pk is None:  # a new record (people.person_at_centre): only with the dose
        person.save()
    holder = _lock_person(person.pk)
    day_slots = _walk_in_slots(centre_id, vaccine_id, now)
    if not day_slots:
        raise SlotUnavailable(_("This centre has no time for this vaccine today."))
    day = day_slots[0].local_date
    eligibility.check_dose(
        date_of_birth=holder.date_of_birth,
        vaccine=day_slots[0].vaccine,
        dose_number=dose_number,
        day=day,
        held=holder.held,
    )
    eligibility.check_campaign_policy(
        date_of_birth=holder.date_of_birth,
        priority_group=holder.priority_group,
        vaccine=day_slots[0].vaccine,
        dose_number=dose_number,
        day=day,
        now=now,
    )
    slot = next(
        (
            candidate
            for candidate in day_slots
            # Conditional on the counter as committed: a booking may take it meanwhile.
            if Slot.objects.filter(pk=candidate.pk, booked__lt=F("capacity")).update(
                booked=F("booked") + 1
            )
        ),
        None,
    )
    over_capacity = slot is None
    if slot is None:
        if not over_capacity_reason:
            raise NoSpareCapacity(
                _(
                    "No place is left today for this vaccine. Record the dose as over "
                    "capacity, with the reason."
                )
            )
        started = [candidate for candidate in day_slots if candidate.starts_at <= now]
        slot = started[-1] if started else day_slots[-1]
        Slot.objects.filter(pk=slot.pk).update(capacity=F("capacity") + 1, booked=F("booked") + 1)
    availability.slots_changed([slot])
    appointment = _insert_appointment(
        person_id=person.pk,
        slot=slot,
        dose_number=dose_number,
        now=now,
        by=OnBehalf(user=staff, channel=BookingChannel.WALK_IN),
    )
    Appointment.objects.filter(pk=appointment.pk).update(
        status=AppointmentStatus.VACCINATED,
        checked_in_at=now,
        checked_in_by=staff,
        vaccinated_at=now,
    )
    record = VaccinationRecord.objects.create(
        appointment=appointment,
        vaccine_id=vaccine_id,
        lot_number=lot_number,
        injection_site=injection_site,
        administered_at=now,
        administered_by=staff,
    )
    record_event(
        actor=staff,
        action=AuditAction.WALK_IN,
        centre_id=centre_id,
        appointment_id=appointment.pk,
        outcome=AppointmentStatus.VACCINATED,
        client_address=client_address,
        detail={
            "vaccine_id": vaccine_id,
            "lot_number": lot_number,
            "person_id": person.pk,
            "over_capacity": over_capacity,
            "reason": over_capacity_reason if over_capacity else "",
        },
    )
    return record


def _walk_in_slots(centre_id: int, vaccine_id: int, now: dt.datetime) -> list[Slot]:
    """Today's open slots of the vaccine at the centre (on its clock), earliest first."""
    centre = Centre.objects.filter(pk=centre_id, is_active=True).first()
    if centre is None:
        return []
    start, end = local_day_bounds(centre, centre.local_date(now))
    return list(
        Slot.objects.select_related("centre", "vaccine")
        .filter(
            centre=centre,
            vaccine_id=vaccine_id,
            is_open=True,
            starts_at__gte=start,
            starts_at__lt=end,
        )
        .order_by("starts_at")
    )


# --- centres: closing slots ------------------------------------------------------------


def cancel_for_centre_closure(
    *, staff: User, slot_ids: Collection[int], reason: str
) -> list[Appointment]:
    """Close the slots `slot_ids` (of one centre, none started) for booking and cancel their
    booked appointments with the centre's `reason`: each place goes back to its slot, and
    each person is told why, with a link to book again. Returns the cancelled appointments.

    Checked-in appointments stay as they are: that person is already at the centre.
    Runs in the caller's transaction when there is one (vaxbook.centres.services adds its
    audit row to it), in one of its own otherwise: all of it happens, or none.

    Locks follow the engine's order, appointments before slots:
    1. each booked appointment is cancelled by a conditional update on its status and slot
       (a person cancelling, rescheduling or being checked in meanwhile wins or loses
       cleanly, as against any staff step);
    2. the slots, in ascending id order, close and get back the places of step 1;
    3. a booking that committed between 1 and 2 is in a slot closed now, which nobody can
       book any more: it is cancelled too. Rows locked by someone else are skipped, not
       waited for (we hold their slot: waiting could deadlock): such an appointment is being
       cancelled, moved away or checked in, and a move into a closed slot fails.
    """
    reason = reason.strip()
    if not reason:
        raise ValueError("Closing slots needs the centre's reason: the people affected are told.")
    now = timezone.now()
    ids = sorted(set(slot_ids))
    with transaction.atomic():
        slots = {
            slot.pk: slot
            for slot in Slot.objects.select_related("centre", "vaccine").filter(pk__in=ids)
        }
        if not ids or len(slots) != len(ids):
            raise SlotUnavailable(_("This time slot does not exist."))
        centre_ids = {slot.centre_id for slot in slots.values()}
        if len(centre_ids) != 1 or not may_manage(staff, centre_ids.pop()):
            raise NotPermitted(_("Your role at this centre does not allow this."))
        if any(slot.starts_at <= now for slot in slots.values()):
            raise SlotUnavailable(_("This time slot has already started."))

        cancelled = _cancel_booked(slots, reason, now, skip_locked=False)
        _close_and_give_back(ids, cancelled, close=True)
        late = _cancel_booked(slots, reason, now, skip_locked=True)
        _close_and_give_back(ids, late, close=False)
        availability.slots_changed(slots.values())
    return cancelled + late


def _cancel_booked(
    slots: dict[int, Slot], reason: str, now: dt.datetime, *, skip_locked: bool
) -> list[Appointment]:
    booked = Appointment.objects.select_related("person__user").filter(
        slot_id__in=list(slots), status=AppointmentStatus.BOOKED
    )
    if skip_locked:
        booked = booked.select_for_update(skip_locked=True, of=("self",))
    cancelled = []
    for appointment in booked.order_by("pk"):
        if not Appointment.objects.filter(
            pk=appointment.pk, status=AppointmentStatus.BOOKED, slot_id=appointment.slot_id
        ).update(status=AppointmentStatus.CANCELLED, cancelled_at=now, cancellation_reason=reason):
            continue
        appointment.status = AppointmentStatus.CANCELLED
        appointment.cancelled_at, appointment.cancellation_reason = now, reason
        appointment.slot = slots[appointment.slot_id]
        announce(appointment=appointment, event=Event.CANCELLED, reason=reason)
        cancelled.append(appointment)
    return cancelled


def _close_and_give_back(slot_ids: list[int], cancelled: list[Appointment], *, close: bool) -> None:
    freed: dict[int, int] = {}
    for appointment in cancelled:
        freed[appointment.slot_id] = freed.get(appointment.slot_id, 0) + 1
    for slot_id in slot_ids:
        places = freed.get(slot_id, 0)
        if not places and not close:
            continue
        changes: dict[str, object] = {"booked": F("booked") - places} if places else {}
        if close:
            changes["is_open"] = False
        # Cannot fail while every write goes through this module: each place freed here
        # was taken by an appointment this transaction has just cancelled.
        if not Slot.objects.filter(pk=slot_id, booked__gte=places).update(**changes):
            raise RuntimeError(f"Slot {slot_id} has fewer than {places} places to give back.")


# --- the pieces ------------------------------------------------------------------------


def _load_slot(slot_id: int, now: dt.datetime, *, loaded: Slot | None = None) -> Slot:
    """The slot with its centre and vaccine, if it can be booked at all (full or not).
    `loaded`: that slot, when the caller has read it already."""
    if loaded is not None and loaded.pk != slot_id:
        raise ValueError(f"The loaded slot given is not slot {slot_id}.")
    return _bookable(loaded or sql.load_slot(slot_id), now)


def _bookable(slot: Slot | None, now: dt.datetime) -> Slot:
    """`slot` (as read, None if there is none), if it can be booked at all (full or not)."""
    if slot is None:
        raise SlotUnavailable(_("This time slot does not exist."))
    if not (slot.is_open and slot.centre.is_active):
        raise SlotUnavailable(_("This time slot is closed for booking."))
    if slot.starts_at <= now:
        raise SlotUnavailable(_("This time slot has already started."))
    return slot


def _check_policy(holder: sql.LockedPerson, slot: Slot, dose_number: int, now: dt.datetime) -> None:
    # The campaign's cohort openings (vaxbook.centres.policy), on the same instant `now` as
    # the rest of the operation: a cohort opening at 08:00 books from 08:00:00.
    eligibility.check_campaign_policy(
        date_of_birth=holder.date_of_birth,
        priority_group=holder.priority_group,
        vaccine=slot.vaccine,
        dose_number=dose_number,
        day=slot.local_date,
        now=now,
    )


def _lock_person(person_id: int, *, slot_id: int | None = None) -> sql.LockedPerson:
    person = sql.lock_person(person_id, slot_id=slot_id)
    if person is None:
        raise Citizen.DoesNotExist(f"No citizen {person_id}.")
    return person


def _take_place(slot_id: int, now: dt.datetime) -> None:
    if sql.take_place(slot_id, now):
        return
    slot = Slot.objects.get(pk=slot_id)
    if not slot.is_open or slot.starts_at <= now:
        raise SlotUnavailable(_("This time slot has just closed."))
    raise _slot_full()


def _slot_full() -> SlotFull:
    return SlotFull(_("This time slot has just been fully booked. Please choose another time."))


def _give_back_place(slot_id: int) -> None:
    if not sql.give_back_place(slot_id):  # cannot happen while every write goes through this module
        raise RuntimeError(f"Slot {slot_id} has no booked place to give back.")


def _insert_appointment(
    *,
    person_id: int,
    slot: Slot,
    dose_number: int,
    now: dt.datetime,
    by: OnBehalf | None = None,
) -> Appointment:
    appointment = Appointment(
        person_id=person_id,
        slot=slot,
        dose_number=dose_number,
        status=AppointmentStatus.BOOKED,
        reference=references.new_reference(),
        created_at=now,
        channel=BookingChannel.SELF if by is None else by.channel,
        booked_by_id=None if by is None else by.user.pk,
    )
    sql.insert_appointment(appointment)
    return appointment


def _with_fresh_reference_on_collision[T](book: Callable[[], T]) -> T:
    """Run the booking transaction `book`, again with a new reference if the random one was
    taken. A second live appointment for the same dose is refused by eligibility under the
    person lock already; the database constraint behind it is mapped to the same error."""
    for _attempt in range(REFERENCE_ATTEMPTS):
        try:
            return book()
        except IntegrityError as error:
            violated = _violated_constraint(error)
            if violated == "one_live_appointment_per_person_and_dose":
                raise AlreadyBooked(_("You already have an appointment for this dose.")) from error
            if violated != "appointment_reference_unique":
                raise
    raise RuntimeError("Could not find a free appointment reference.")


def _violated_constraint(error: IntegrityError) -> str | None:
    diagnostics = getattr(error.__cause__, "diag", None)
    if diagnostics is not None:  # PostgreSQL names the constraint
        return str(diagnostics.constraint_name)
    message = str(error)  # SQLite names the index, or the columns of a plain unique index
    if "appointment_reference_unique" in message or ".reference" in message:
        return "appointment_reference_unique"
    if "one_live_appointment_per_person_and_dose" in message or ".dose_number" in message:
        return "one_live_appointment_per_person_and_dose"
    return None


def _own_appointment(person: Citizen, appointment_id: uuid.UUID) -> Appointment:
    appointment = (
        Appointment.objects.select_related("slot__centre", "slot__vaccine")
        .filter(pk=appointment_id, person=person)
        .first()
    )
    if appointment is None:
        raise AppointmentNotFound(_("Appointment not found."))
    return appointment


def _appointment(appointment_id: uuid.UUID) -> Appointment:
    appointment = (
        Appointment.objects.select_related("slot__centre", "slot__vaccine", "person")
        .filter(pk=appointment_id)
        .first()
    )
    if appointment is None:
        raise AppointmentNotFound(_("Appointment not found."))
    return appointment


def _ensure_staff_may(staff: User, step: StaffStep, appointment: Appointment) -> None:
    """Staff act only at centres they belong to, within their role; administrators anywhere."""
    if not staff.may_at(appointment.slot.centre_id, step):
        raise NotPermitted(_("Your role at this centre does not allow this."))


def _audit(
    action: AuditAction,
    outcome: str,
    appointment: Appointment,
    staff: User,
    client_address: str | None,
    detail: dict[str, Any] | None = None,
) -> None:
    record_event(
        actor=staff,
        action=action,
        centre_id=appointment.slot.centre_id,
        appointment_id=appointment.pk,
        outcome=outcome,
        client_address=client_address,
        detail=detail,
    )


def _ensure_changeable(appointment: Appointment, now: dt.datetime) -> None:
    if appointment.status != AppointmentStatus.BOOKED:
        raise NotCancellable(
            _("This appointment is %(status)s and can no longer be changed.")
            % {"status": appointment.get_status_display().lower()}
        )
    if appointment.slot.starts_at <= now:
        raise NotCancellable(_("This appointment has already started."))


def _move_status(
    appointment: Appointment,
    expected: AppointmentStatus,
    new: AppointmentStatus,
    **changes: object,
) -> None:
    """The move (see _moved), or InvalidTransition with the status the appointment has."""
    if not _moved(appointment.pk, appointment.slot_id, expected, new, **changes):
        _refuse_move(appointment, new)


def _moved(
    appointment_id: uuid.UUID,
    slot_id: int,
    expected: AppointmentStatus,
    new: AppointmentStatus,
    **changes: object,
) -> bool:
    """One conditional update on the current status (and the slot, as read): of two
    concurrent moves, one wins, and a move never applies to an appointment rescheduled since
    it was read and checked.

    Only the row's own columns in the WHERE clause: a condition on the joined slot would
    become a subquery, which PostgreSQL does not re-check after waiting for a concurrent
    move's row lock, and this move would overwrite that one."""
    return bool(
        Appointment.objects.filter(pk=appointment_id, status=expected, slot_id=slot_id).update(
            status=new, **changes
        )
    )


def _refuse_move(appointment: Appointment, new: AppointmentStatus) -> NoReturn:
    current = Appointment.objects.values_list("status", flat=True).get(pk=appointment.pk)
    raise InvalidTransition(
        _("This appointment is %(status)s: it cannot become %(new)s.")
        % {
            "status": AppointmentStatus(current).label.lower(),
            "new": new.label.lower(),
        },
        status=current,
    )
