"""The FHIR R4 export: each resource type as NDJSON (one resource a line), streamed from
one server-side cursor, with `_since` for increments; and single resources by id.

What `_since` selects, per type (a row that records no time of change is always
exported whole; these tables are small):

    Immunization  doses given at or after it (a dose, once recorded, never changes)
    Appointment   appointments booked, cancelled, checked in or vaccinated at or after it
    Patient       people with an appointment that changed at or after it
    Slot          slots of appointments that changed at or after it, and slots starting
                  at or after it (a slot's places change with its appointments)
    Location, Schedule   every centre
"""

import datetime as dt
import json
from collections.abc import Callable, Iterator
from typing import Any

from django.core.exceptions import ValidationError
from django.db.models import Q, QuerySet

from vaxbook.accounts.models import Citizen
from vaxbook.bookings.models import Appointment, VaccinationRecord
from vaxbook.centres.models import Centre, Slot
from vaxbook.core.errors import DomainError
from vaxbook.fhir import resources

NDJSON = "application/fhir+ndjson"
CHUNK = 2000


class ResourceNotFound(DomainError):
    code = "not_found"


def _changed_appointments(since: dt.datetime) -> Q:
    return (
        Q(created_at__gte=since)
        | Q(cancelled_at__gte=since)
        | Q(checked_in_at__gte=since)
        | Q(vaccinated_at__gte=since)
    )


def _patients(since: dt.datetime | None) -> QuerySet[Any]:
    rows = Citizen.objects.order_by("pk")
    if since is not None:
        changed = Appointment.objects.filter(_changed_appointments(since)).values("person_id")
        rows = rows.filter(pk__in=changed)
    return rows


def _immunizations(since: dt.datetime | None) -> QuerySet[Any]:
    rows = VaccinationRecord.objects.select_related(
        "vaccine", "appointment__slot__centre"
    ).order_by("pk")
    return rows if since is None else rows.filter(administered_at__gte=since)


def _appointments(since: dt.datetime | None) -> QuerySet[Any]:
    rows = Appointment.objects.select_related("slot__vaccine").order_by("created_at", "pk")
    return rows if since is None else rows.filter(_changed_appointments(since))


def _slots(since: dt.datetime | None) -> QuerySet[Any]:
    rows = Slot.objects.select_related("vaccine").order_by("pk")
    if since is not None:
        changed = Appointment.objects.filter(_changed_appointments(since)).values("slot_id")
        rows = rows.filter(Q(pk__in=changed) | Q(starts_at__gte=since))
    return rows


def _centres(since: dt.datetime | None) -> QuerySet[Any]:
    return Centre.objects.order_by("pk")


# Type -> (its rows, its mapping). The order is the manifest's.
TYPES: dict[str, tuple[Callable[[dt.datetime | None], QuerySet[Any]], Callable[[Any], dict]]] = {
    "Patient": (_patients, resources.patient),
    "Immunization": (_immunizations, resources.immunization),
    "Location": (_centres, resources.location),
    "Schedule": (_centres, resources.schedule),
    "Slot": (_slots, resources.slot),
    "Appointment": (_appointments, resources.appointment),
}


def ndjson_lines(resource_type: str, *, since: dt.datetime | None) -> Iterator[bytes]:
    """Every resource of `resource_type` (a key of TYPES), one JSON line each."""
    rows, to_resource = TYPES[resource_type]
    for row in rows(since).iterator(chunk_size=CHUNK):
        yield (
            json.dumps(to_resource(row), ensure_ascii=False, separators=(",", ":")).encode() + b"\n"
        )


def one(resource_type: str, resource_id: str) -> dict[str, Any]:
    """One resource by its id; ResourceNotFound when there is none."""
    rows, to_resource = TYPES[resource_type]
    try:
        row = rows(None).filter(pk=resource_id).first()
    except (ValueError, TypeError, ValidationError):  # an id of the wrong shape: no such row
        row = None
    if row is None:
        raise ResourceNotFound(f"There is no {resource_type} with id {resource_id}.")
    return to_resource(row)
