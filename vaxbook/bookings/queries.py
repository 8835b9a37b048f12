"""Reads of appointments for the people they belong to. Object-level rules live here: a
person reaches only their own appointments, and someone else's looks exactly like a
missing one."""

import uuid

from vaxbook.accounts.models import Citizen, User
from vaxbook.bookings.errors import AppointmentNotFound
from vaxbook.bookings.models import LIVE_STATUSES, Appointment


def own_appointments(user: User) -> "list[Appointment]":
    """The user's appointments, soonest first, with what their pages show."""
    return list(
        Appointment.objects.filter(person__user=user)
        .select_related("slot__centre", "slot__vaccine", "person")
        .order_by("slot__starts_at")
    )


def own_appointment(*, user: User, appointment_id: uuid.UUID) -> Appointment:
    appointment = (
        Appointment.objects.filter(pk=appointment_id, person__user=user)
        .select_related("slot__centre", "slot__vaccine", "person__user")
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
