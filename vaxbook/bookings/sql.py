"""The statements every booking runs, written in SQL that PostgreSQL and SQLite both accept.

Why not the ORM here: building each of these queries through the ORM costs 0.5-1.2 ms of
Python, against 0.03 ms to run it; a booking runs four of them, in the minute when a whole
age group books at once. Everything else in the app uses the ORM. The race tests and the
service tests run these statements on both databases.
"""

import datetime as dt
import functools
import uuid
import zoneinfo
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from django.db import connection

from vaxbook.bookings.eligibility import HeldDose
from vaxbook.bookings.models import LIVE_STATUSES, Appointment, AppointmentStatus
from vaxbook.centres.models import Centre, Slot, Vaccine
from vaxbook.core import rows

_LIVE = ", ".join(f"'{status}'" for status in LIVE_STATUSES)

_HELD_DOSES = f"""
    SELECT a.id, a.dose_number, a.status, a.vaccinated_at,
           s.vaccine_id, s.starts_at, centre.time_zone
      FROM bookings_appointment a
      JOIN centres_slot s ON s.id = a.slot_id
      JOIN centres_centre centre ON centre.id = s.centre_id
     WHERE a.person_id = %s AND a.status IN ({_LIVE})
"""  # noqa: S608 (the only interpolation is our own status constants)

# The one conditional update that takes a place: see the module docstring of services.py.
# Only the slot's own columns in the WHERE clause: a condition through a join (the centre
# being open) would be a subquery, which PostgreSQL does not re-check after waiting for
# the row lock; services check the centre before.
_TAKE_PLACE = """
    UPDATE centres_slot SET booked = booked + 1
     WHERE id = %s AND booked < capacity AND is_open AND starts_at > %s
"""

# The slot full now, and bookable otherwise: the one reason _TAKE_PLACE would refuse it
# that a read can confirm without writing.
_STILL_FULL = """
    SELECT 1 FROM centres_slot
     WHERE id = %s AND booked >= capacity AND is_open AND starts_at > %s
"""

_GIVE_BACK_PLACE = """
    UPDATE centres_slot SET booked = booked - 1 WHERE id = %s AND booked > 0
"""

_INSERT_APPOINTMENT = """
    INSERT INTO bookings_appointment
           (id, person_id, slot_id, dose_number, status, reference, created_at,
            cancellation_reason, channel, booked_by_id)
    VALUES (%s, %s, %s, %s, %s, %s, %s, '', %s, %s)
"""


def load_slot(slot_id: int) -> Slot | None:
    """The slot with its centre and vaccine (one statement), or None if there is none: what
    `Slot.objects.select_related("centre", "vaccine").get(pk=...)` returns."""
    with connection.cursor() as cursor:
        cursor.execute(_slot_query(), [slot_id])
        row = cursor.fetchone()
    return None if row is None else _slot_of(row)


def _slot_of(row: Sequence[Any]) -> Slot:
    """The slot with its centre and vaccine, from the columns of _slot_columns()."""
    slot_end = rows.width(Slot)
    centre_end = slot_end + rows.width(Centre)
    slot = rows.instance(Slot, row[:slot_end])
    slot.centre = rows.instance(Centre, row[slot_end:centre_end])
    slot.vaccine = rows.instance(Vaccine, row[centre_end:])
    return slot


@functools.cache
def _slot_columns() -> str:
    return f"{rows.columns(Slot, 's')}, {rows.columns(Centre, 'c')}, {rows.columns(Vaccine, 'v')}"


@functools.cache
def _slot_query() -> str:
    return (
        f"SELECT {_slot_columns()}"  # noqa: S608 (column names from our models)
        " FROM centres_slot s JOIN centres_centre c ON c.id = s.centre_id"
        " JOIN centres_vaccine v ON v.id = s.vaccine_id WHERE s.id = %s"
    )


# The person lock, with the slot being booked when asked for (its id comes first among the
# parameters). The person's doses are a second statement, not a join here: on PostgreSQL, a
# SELECT ... FOR UPDATE that waited for the lock returns the locked row as committed, but
# rows it joins from other tables as they were when the statement started, so a join could
# miss the appointment that the previous lock holder just booked. The slot may come with the
# lock, though: as of the statement's start it is as fresh as a read before the transaction
# would be, and the conditional UPDATE that takes the place checks the slot's own row as
# committed. One statement fewer per booking.
# Whether the person holds a waiting-list offer (vaxbook.waiting_list): a booking then
# releases it, and asking here costs the booking no statement of its own. Read as of the
# statement's start, like the slot: an offer made while this booking waited for the lock is
# missed here, and released when the person answers it or it expires (or before its email
# goes: vaxbook.waiting_list.tasks).
_HOLDS_OFFER = (
    "EXISTS (SELECT 1 FROM waiting_list_offer o WHERE o.person_id = p.id AND o.status = 'held')"
)


@functools.cache
def _lock_query(*, with_slot: bool) -> str:
    if with_slot:
        sql = (
            f"SELECT p.date_of_birth, p.priority_group, {_HOLDS_OFFER}, {_slot_columns()}"  # noqa: S608 (column names from our models)
            " FROM accounts_citizen p"
            " LEFT JOIN centres_slot s ON s.id = %s"
            " LEFT JOIN centres_centre c ON c.id = s.centre_id"
            " LEFT JOIN centres_vaccine v ON v.id = s.vaccine_id"
            " WHERE p.id = %s"
        )
    else:
        sql = (
            f"SELECT p.date_of_birth, p.priority_group, {_HOLDS_OFFER}"  # noqa: S608 (a constant)
            " FROM accounts_citizen p WHERE p.id = %s"
        )
    # PostgreSQL; on SQLite, BEGIN IMMEDIATE has already given the transaction the database.
    if connection.features.has_select_for_update_of:
        sql += " FOR UPDATE OF p"
    return sql


@dataclass(frozen=True)
class LockedPerson:
    date_of_birth: dt.date
    priority_group: str
    held: list[HeldDose]
    # The slot asked for with the lock, with its centre and vaccine; None if there is none.
    slot: Slot | None = None
    # Holds a waiting-list offer (as of the lock statement's start: see _HOLDS_OFFER).
    holds_offer: bool = False


def lock_person(person_id: int, *, slot_id: int | None = None) -> LockedPerson | None:
    """Lock the person's row for this transaction; their date of birth, priority group and
    live doses, and with `slot_id` that slot as load_slot reads it (in the same statement
    as the lock)."""
    with_slot = slot_id is not None
    parameters = [slot_id, person_id] if with_slot else [person_id]
    with connection.cursor() as cursor:
        cursor.execute(_lock_query(with_slot=with_slot), parameters)
        row = cursor.fetchone()
        if row is None:
            return None
        cursor.execute(_HELD_DOSES, [person_id])
        doses = cursor.fetchall()
    held = [
        HeldDose(
            appointment_id=uuid.UUID(str(pk)),
            dose_number=dose,
            vaccine_id=vaccine_id,
            day=_aware(vaccinated_at or starts_at).astimezone(zoneinfo.ZoneInfo(zone)).date(),
            given=status == AppointmentStatus.VACCINATED,
        )
        for pk, dose, status, vaccinated_at, vaccine_id, starts_at, zone in doses
    ]
    slot = _slot_of(row[3:]) if with_slot and row[3] is not None else None
    return LockedPerson(
        date_of_birth=row[0],
        priority_group=row[1],
        held=held,
        slot=slot,
        holds_offer=bool(row[2]),
    )


def take_place(slot_id: int, now: dt.datetime) -> bool:
    with connection.cursor() as cursor:
        cursor.execute(_TAKE_PLACE, [slot_id, connection.ops.adapt_datetimefield_value(now)])
        return cursor.rowcount == 1


def still_full(slot_id: int, now: dt.datetime) -> bool:
    """Whether the slot is full as committed now (and open and not started)."""
    with connection.cursor() as cursor:
        cursor.execute(_STILL_FULL, [slot_id, connection.ops.adapt_datetimefield_value(now)])
        return cursor.fetchone() is not None


def give_back_place(slot_id: int) -> bool:
    with connection.cursor() as cursor:
        cursor.execute(_GIVE_BACK_PLACE, [slot_id])
        return cursor.rowcount == 1


def insert_appointment(appointment: Appointment) -> None:
    """INSERT the new appointment and mark the instance as saved."""
    with connection.cursor() as cursor:
        cursor.execute(
            _INSERT_APPOINTMENT,
            [
                Appointment._meta.pk.get_db_prep_value(appointment.pk, connection),
                appointment.person_id,
                appointment.slot_id,
                appointment.dose_number,
                appointment.status,
                appointment.reference,
                connection.ops.adapt_datetimefield_value(appointment.created_at),
                appointment.channel,
                appointment.booked_by_id,
            ],
        )
    appointment._state.adding = False
    appointment._state.db = connection.alias


def _aware(moment: dt.datetime) -> dt.datetime:
    # SQLite hands back naive datetimes (stored in UTC); PostgreSQL aware ones.
    return moment if moment.tzinfo else moment.replace(tzinfo=dt.UTC)
