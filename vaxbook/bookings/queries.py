"""Reads of appointments for the people they belong to. Object-level rules live here: an
account reaches only its holder's appointments and those of the people it books for
(vaxbook.accounts.people), and anyone else's looks exactly like a missing one."""

import datetime as dt
import uuid
from collections.abc import Iterable

from django.db.models import Q

from vaxbook.accounts.models import Citizen, PersonBookedFor, User
from vaxbook.bookings.errors import AppointmentNotFound
from vaxbook.bookings.models import LIVE_STATUSES, Appointment, AppointmentStatus

# What the pages show of an appointment, with the dose record once the dose is given.
_SHOWN = ("slot__centre", "slot__vaccine", "vaccination__vaccine")


def _reachable_by(user: User) -> Q:
    """The appointments of the account's holder and of the people it books for."""
    booked_for = PersonBookedFor.objects.filter(booker=user).values("person_id")
    return Q(person__user=user) | Q(person_id__in=booked_for)


def own_appointments(user: User) -> "list[Appointment]":
    """The appointments the user reaches (their own and their people's), soonest first,
    with what their pages show."""
    return list(
        Appointment.objects.filter(_reachable_by(user))
        .select_related(*_SHOWN, "person")
        .order_by("slot__starts_at")
    )


def own_appointment(*, user: User, appointment_id: uuid.UUID) -> Appointment:
    appointment = (
        Appointment.objects.filter(_reachable_by(user), pk=appointment_id)
        .select_related(*_SHOWN, "person__user")
        .first()
    )
    if appointment is None:
        raise AppointmentNotFound("Appointment not found.")
    return appointment


def live_appointment_id(person: Citizen, *, slot_id: int, dose_number: int) -> uuid.UUID | None:
    """The id of the person's live appointment for this dose in this slot, if they hold one."""
    return (
        Appointment.objects.filter(
            person=person, slot_id=slot_id, dose_number=dose_number, status__in=LIVE_STATUSES
        )
        .values_list("pk", flat=True)
        .first()
    )


def next_doses_due(appointments: Iterable[Appointment]) -> dict[uuid.UUID, dt.date]:
    """For each given dose (among `appointments`, of one person or of the people one account
    reaches) whose course has a next dose not yet booked for that person, the day from which
    that next dose may be had: the day the dose was given, in its centre's time zone, plus
    the vaccine's interval (the rule in eligibility.py)."""
    appointments = list(appointments)
    held = {(a.person_id, a.dose_number) for a in appointments if a.status in LIVE_STATUSES}
    due: dict[uuid.UUID, dt.date] = {}
    for appointment in appointments:
        vaccine = appointment.slot.vaccine
        if (
            appointment.status != AppointmentStatus.VACCINATED
            or appointment.dose_number >= vaccine.doses_in_primary_course
            or (appointment.person_id, appointment.dose_number + 1) in held
        ):
            continue
        given = appointment.vaccination.administered_at.astimezone(appointment.slot.centre.zone)
        due[appointment.pk] = given.date() + dt.timedelta(days=vaccine.minimum_days_between_doses)
    return due
