"""Our tables as FHIR R4 resources (docs/fhir.md has the mapping and the codes).

One function per resource type, from one row (loaded with what it names) to a JSON-ready
dict. Each resource has `id` and `meta.lastUpdated` where a row records when it last
changed; references name other resources of this export (`Patient/12`, `Location/3`).
"""

import datetime as dt
from typing import Any

from vaxbook.accounts.models import Citizen
from vaxbook.bookings.models import Appointment, AppointmentStatus, InjectionSite, VaccinationRecord
from vaxbook.centres.models import Centre, Slot

CVX_SYSTEM = "http://hl7.org/fhir/sid/cvx"
# HL7 v3 ActSite, the example binding of Immunization.site in R4.
ACT_SITE_SYSTEM = "http://terminology.hl7.org/CodeSystem/v3-ActSite"
ACT_SITES = {
    InjectionSite.LEFT_ARM: ("LA", "left arm"),
    InjectionSite.RIGHT_ARM: ("RA", "right arm"),
    InjectionSite.LEFT_THIGH: ("LT", "left thigh"),
    InjectionSite.RIGHT_THIGH: ("RT", "right thigh"),
}
# Our statuses in the R4 AppointmentStatus value set (required binding).
APPOINTMENT_STATUS = {
    AppointmentStatus.BOOKED: "booked",
    AppointmentStatus.CHECKED_IN: "checked-in",
    AppointmentStatus.VACCINATED: "fulfilled",
    AppointmentStatus.CANCELLED: "cancelled",
    AppointmentStatus.NO_SHOW: "noshow",
}
# The R4 SlotStatus value set.
SLOT_FREE, SLOT_BUSY, SLOT_UNAVAILABLE = "free", "busy", "busy-unavailable"


def instant(moment: dt.datetime) -> str:
    """A FHIR instant: UTC, to the second."""
    return moment.astimezone(dt.UTC).isoformat(timespec="seconds").replace("+00:00", "Z")


def patient(citizen: Citizen) -> dict[str, Any]:
    """Minimal: the name and the birth date, as in the certificate."""
    return {
        "resourceType": "Patient",
        "id": str(citizen.pk),
        "name": [{"text": citizen.full_name}],
        "birthDate": citizen.date_of_birth.isoformat(),
    }


def location(centre: Centre) -> dict[str, Any]:
    resource: dict[str, Any] = {
        "resourceType": "Location",
        "id": str(centre.pk),
        "status": "active" if centre.is_active else "inactive",
        "name": centre.name,
        "mode": "instance",
        "address": {
            "use": "work",
            "line": [centre.address],
            "postalCode": centre.postcode,
            "city": centre.town,
        },
        "position": {"latitude": float(centre.latitude), "longitude": float(centre.longitude)},
    }
    if centre.phone:
        resource["telecom"] = [{"system": "phone", "value": centre.phone}]
    return resource


def schedule(centre: Centre) -> dict[str, Any]:
    """One Schedule per centre: its slots, whatever the vaccine (each Slot names its own)."""
    return {
        "resourceType": "Schedule",
        "id": str(centre.pk),
        "active": centre.is_active,
        "actor": [{"reference": f"Location/{centre.pk}", "display": centre.name}],
    }


def slot(row: Slot) -> dict[str, Any]:
    if not row.is_open:
        status = SLOT_UNAVAILABLE
    elif row.booked >= row.capacity:
        status = SLOT_BUSY
    else:
        status = SLOT_FREE
    return {
        "resourceType": "Slot",
        "id": str(row.pk),
        "schedule": {"reference": f"Schedule/{row.centre_id}"},
        "status": status,
        "start": instant(row.starts_at),
        "end": instant(row.ends_at),
        "serviceType": [
            {
                "coding": [{"system": CVX_SYSTEM, "code": row.vaccine.cvx_code}],
                "text": row.vaccine.name,
            }
        ],
        "comment": f"{row.capacity - row.booked} of {row.capacity} places free",
    }


def appointment(row: Appointment) -> dict[str, Any]:
    resource: dict[str, Any] = {
        "resourceType": "Appointment",
        "id": str(row.pk),
        "meta": {"lastUpdated": instant(last_change(row))},
        "identifier": [{"system": "urn:vaxbook:appointment-reference", "value": row.reference}],
        "status": APPOINTMENT_STATUS[AppointmentStatus(row.status)],
        "serviceType": [
            {
                "coding": [{"system": CVX_SYSTEM, "code": row.slot.vaccine.cvx_code}],
                "text": row.slot.vaccine.name,
            }
        ],
        "description": f"COVID-19 vaccination, dose {row.dose_number}",
        "start": instant(row.slot.starts_at),
        "end": instant(row.slot.ends_at),
        "created": instant(row.created_at),
        "slot": [{"reference": f"Slot/{row.slot_id}"}],
        "participant": [
            {"actor": {"reference": f"Patient/{row.person_id}"}, "status": "accepted"},
            {"actor": {"reference": f"Location/{row.slot.centre_id}"}, "status": "accepted"},
        ],
    }
    if row.status == AppointmentStatus.CANCELLED and row.cancellation_reason:
        resource["cancelationReason"] = {"text": row.cancellation_reason}
    return resource


def last_change(row: Appointment) -> dt.datetime:
    moments = [row.created_at, row.cancelled_at, row.checked_in_at, row.vaccinated_at]
    return max(moment for moment in moments if moment is not None)


def immunization(record: VaccinationRecord) -> dict[str, Any]:
    centre = record.appointment.slot.centre
    resource: dict[str, Any] = {
        "resourceType": "Immunization",
        "id": str(record.pk),
        "meta": {"lastUpdated": instant(record.administered_at)},
        "status": "completed",
        "vaccineCode": {
            "coding": [{"system": CVX_SYSTEM, "code": record.vaccine.cvx_code}],
            "text": record.vaccine.name,
        },
        "patient": {"reference": f"Patient/{record.appointment.person_id}"},
        "occurrenceDateTime": instant(record.administered_at),
        "primarySource": True,
        "location": {"reference": f"Location/{centre.pk}", "display": centre.name},
        "manufacturer": {"display": record.vaccine.manufacturer},
        "lotNumber": record.lot_number,
        "performer": [{"actor": {"display": centre.name}}],
        "protocolApplied": [{"doseNumberPositiveInt": record.appointment.dose_number}],
    }
    site = ACT_SITES.get(InjectionSite(record.injection_site)) if record.injection_site else None
    if site is not None:
        resource["site"] = {
            "coding": [{"system": ACT_SITE_SYSTEM, "code": site[0], "display": site[1]}]
        }
    elif record.injection_site:
        resource["site"] = {"text": str(record.injection_site)}
    return resource
