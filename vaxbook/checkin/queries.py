"""Reads for the staff pages of a centre's day: its appointments, their counts, and finding
one person in that day's list. Every read is limited to one centre and one local day, so a
search can never reach another centre's or another day's appointments."""

import datetime as dt
import re
import unicodedata
import uuid
from dataclasses import dataclass

from django.db.models import Count, Q, QuerySet

from vaxbook.bookings import references
from vaxbook.bookings.models import Appointment, AppointmentStatus
from vaxbook.centres.models import Centre
from vaxbook.centres.queries import local_day_bounds

# Names are compared as words: hyphens, commas and spaces separate them; apostrophes and
# dots are dropped ("O'Brien" is "obrien").
_WORD_SEPARATORS = re.compile(r"[\s,\-\u2010]+")
_DROPPED = re.compile(r"['\u2019.]")


def day_appointments(centre: Centre, day: dt.date) -> QuerySet[Appointment]:
    """The appointments at the centre on its local `day`, in time order, with what the
    day page shows."""
    start, end = local_day_bounds(centre, day)
    return (
        Appointment.objects.filter(
            slot__centre=centre, slot__starts_at__gte=start, slot__starts_at__lt=end
        )
        .select_related("slot__vaccine", "person", "checked_in_by")
        .order_by("slot__starts_at", "person__full_name", "reference")
    )


@dataclass(frozen=True)
class DayCounts:
    """`expected` is everyone who still holds a place that day: all but cancellations."""

    expected: int
    booked: int
    checked_in: int
    vaccinated: int
    no_show: int
    cancelled: int


def day_counts(centre: Centre, day: dt.date) -> DayCounts:
    """The day's appointments counted by status, in one query."""
    counts = {
        status: Count("pk", filter=Q(status=status))
        for status in (
            AppointmentStatus.BOOKED,
            AppointmentStatus.CHECKED_IN,
            AppointmentStatus.VACCINATED,
            AppointmentStatus.NO_SHOW,
            AppointmentStatus.CANCELLED,
        )
    }
    row = day_appointments(centre, day).order_by().aggregate(**counts)
    return DayCounts(
        expected=row["booked"] + row["checked_in"] + row["vaccinated"] + row["no_show"],
        booked=row["booked"],
        checked_in=row["checked_in"],
        vaccinated=row["vaccinated"],
        no_show=row["no_show"],
        cancelled=row["cancelled"],
    )


def find_by_reference(centre: Centre, day: dt.date, typed: str) -> list[Appointment]:
    """The appointment with the typed reference in the centre's list for `day`, if any.

    Raises references.MalformedReference when the check character shows a typo, before any
    lookup."""
    reference = references.normalize(typed)
    return list(day_appointments(centre, day).filter(reference=reference))


def find_by_surname(
    centre: Centre, day: dt.date, *, surname: str, date_of_birth: dt.date
) -> list[Appointment]:
    """The appointments in the centre's list for `day` of people born on `date_of_birth`
    whose name contains `surname` as whole words (any case and accents: "garcia lopez"
    finds "María García-López")."""
    wanted = _words(surname)
    if not wanted:
        return []
    born_then = day_appointments(centre, day).filter(person__date_of_birth=date_of_birth)
    # The birth date narrows the day's list to a handful in the database; the name is
    # matched here, where accents and word boundaries are simple to get right on SQLite
    # and PostgreSQL alike.
    return [a for a in born_then if _contains_run(_words(a.person.full_name), wanted)]


def remaining_booked(centre: Centre, day: dt.date, now: dt.datetime) -> QuerySet[Appointment]:
    """The day's appointments still `booked` whose slot has ended by `now`: the people who
    did not come, as far as anyone can tell yet."""
    return day_appointments(centre, day).filter(
        status=AppointmentStatus.BOOKED, slot__ends_at__lte=now
    )


def appointment_at(centre_id: int, appointment_id: uuid.UUID) -> Appointment | None:
    """The appointment, if it is at this centre: another centre's looks like a missing one."""
    return (
        Appointment.objects.filter(pk=appointment_id, slot__centre_id=centre_id)
        .select_related("slot__centre", "slot__vaccine", "person", "checked_in_by")
        .first()
    )


def _words(text: str) -> list[str]:
    decomposed = unicodedata.normalize("NFKD", text)
    plain = "".join(char for char in decomposed if not unicodedata.combining(char))
    return [word for word in _WORD_SEPARATORS.split(_DROPPED.sub("", plain.casefold())) if word]


def _contains_run(words: list[str], run: list[str]) -> bool:
    return any(words[i : i + len(run)] == run for i in range(len(words) - len(run) + 1))
