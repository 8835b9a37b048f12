"""The availability feed for aggregators: a SMART Scheduling Links publication.

Specification: https://github.com/smart-on-fhir/smart-scheduling-links (specification.md).
A manifest (`$bulk-publish`) points at three NDJSON files, one FHIR resource per line:

- Location: one per active centre.
- Schedule: one per centre and vaccine, with the two COVID-19 immunization codings, the
  vaccine's CVX code (vaccine-product) and the dose numbers it can be booked for
  (vaccine-dose).
- Slot: each of our slots is a group of identical appointments, so it is published as up to
  two resources told apart by status, each carrying its count in the slot-capacity
  extension: the places still free (with a deep link to our booking page) and the places
  taken. The specification asks publishers to include busy slots so that clients can follow
  total capacity.

Only open slots of active centres that start within HORIZON are published. The files are
generated when fetched, line by line from database iterators, so memory stays flat however
many slots there are; the `now` a caller passes is the moment the data describes.
"""

import datetime as dt
import json
import zoneinfo
from collections.abc import Callable, Iterable, Iterator
from typing import Any

from django.conf import settings
from django.db.models import QuerySet
from django.urls import reverse

from vaxbook.centres.models import Centre, Slot
from vaxbook.core import db_router

HORIZON = dt.timedelta(days=28)
# Clients refresh Schedules less often than Slots (the specification suggests daily), so the
# Schedule file reaches a day further: a Slot fetched later still names a listed Schedule.
SCHEDULE_MARGIN = dt.timedelta(days=1)
# How long clients and shared caches may keep a file: the polling interval we suggest.
MAX_AGE_SECONDS = 60
ITERATOR_CHUNK = 2000
# Lines are handed to the server in blocks of about this size rather than one write each.
WRITE_BLOCK_BYTES = 64 * 1024

NDJSON_CONTENT_TYPE = "application/fhir+ndjson"

HL7_SERVICE_TYPE = "http://terminology.hl7.org/CodeSystem/service-type"
SMART_SERVICE_TYPE = "http://fhir-registry.smarthealthit.org/CodeSystem/service-type"
CVX_SYSTEM = "http://hl7.org/fhir/sid/cvx"
_EXTENSION = "http://fhir-registry.smarthealthit.org/StructureDefinition/"
VACCINE_PRODUCT = _EXTENSION + "vaccine-product"
VACCINE_DOSE = _EXTENSION + "vaccine-dose"
BOOKING_DEEP_LINK = _EXTENSION + "booking-deep-link"
SLOT_CAPACITY = _EXTENSION + "slot-capacity"

COVID19_IMMUNIZATION = {
    "coding": [
        {"system": HL7_SERVICE_TYPE, "code": "57", "display": "Immunization"},
        {
            "system": SMART_SERVICE_TYPE,
            "code": "covid19-immunization",
            "display": "COVID-19 Immunization Appointment",
        },
    ]
}

# The specification requires `address.state`. Our centres carry a Spanish postcode, whose
# first two digits are the province (INE numbering); the state is the autonomous community
# that province belongs to (the regions run the vaccination campaign), as its ISO 3166-2
# code. A postcode outside this table gets no state and no country rather than a guess.
_COMMUNITY_OF_PROVINCE = {
    **dict.fromkeys(["04", "11", "14", "18", "21", "23", "29", "41"], "ES-AN"),
    **dict.fromkeys(["22", "44", "50"], "ES-AR"),
    "33": "ES-AS",
    "07": "ES-IB",
    **dict.fromkeys(["35", "38"], "ES-CN"),
    "39": "ES-CB",
    **dict.fromkeys(["05", "09", "24", "34", "37", "40", "42", "47", "49"], "ES-CL"),
    **dict.fromkeys(["02", "13", "16", "19", "45"], "ES-CM"),
    **dict.fromkeys(["08", "17", "25", "43"], "ES-CT"),
    **dict.fromkeys(["06", "10"], "ES-EX"),
    **dict.fromkeys(["15", "27", "32", "36"], "ES-GA"),
    "28": "ES-MD",
    "30": "ES-MC",
    "31": "ES-NC",
    **dict.fromkeys(["01", "20", "48"], "ES-PV"),
    "26": "ES-RI",
    **dict.fromkeys(["03", "12", "46"], "ES-VC"),
    "51": "ES-CE",
    "52": "ES-ML",
}


def region_of_postcode(postcode: str) -> str | None:
    """The ISO 3166-2 code of the Spanish autonomous community of `postcode`, or None."""
    digits = "".join(postcode.split())
    if len(digits) != 5 or not digits.isdigit():
        return None
    return _COMMUNITY_OF_PROVINCE.get(digits[:2])


def manifest(*, now: dt.datetime) -> dict[str, Any]:
    """The Bulk Publication Manifest: where the three files are, as absolute URLs."""
    site = settings.SITE_URL
    states = sorted(
        {
            region
            for postcode in Centre.objects.using(db_router.replica_or_primary())
            .filter(is_active=True)
            .values_list("postcode", flat=True)
            .distinct()
            if (region := region_of_postcode(postcode)) is not None
        }
    )
    output = []
    for resource_type, url_name in [
        ("Location", "smart_scheduling_locations"),
        ("Schedule", "smart_scheduling_schedules"),
        ("Slot", "smart_scheduling_slots"),
    ]:
        item: dict[str, Any] = {"type": resource_type, "url": site + reverse(url_name)}
        if states:
            item["extension"] = {"state": states}
        output.append(item)
    return {
        "transactionTime": _timestamp(now.astimezone(dt.UTC)),
        "request": site + reverse("smart_scheduling_manifest"),
        "output": output,
        "error": [],
    }


def location_lines() -> Iterator[bytes]:
    """The Location file: every active centre."""
    site = settings.SITE_URL
    centre_page = _url_with_id("centre_day", "centre_id")
    identifier_system = site + reverse("centre_search")
    centres = (
        Centre.objects.using(db_router.replica_or_primary())
        .filter(is_active=True)
        .order_by("pk")
        .values("pk", "name", "address", "postcode", "town", "phone", "latitude", "longitude")
    )

    def resources() -> Iterator[dict[str, Any]]:
        for centre in centres.iterator(chunk_size=ITERATOR_CHUNK):
            telecom = [{"system": "phone", "value": centre["phone"]}] if centre["phone"] else []
            telecom.append({"system": "url", "value": site + centre_page(centre["pk"])})
            address: dict[str, Any] = {
                "line": [centre["address"]],
                "city": centre["town"],
                "postalCode": centre["postcode"],
            }
            if (region := region_of_postcode(centre["postcode"])) is not None:
                address["state"] = region
                address["country"] = "ES"
            yield {
                "resourceType": "Location",
                "id": str(centre["pk"]),
                "identifier": [{"system": identifier_system, "value": str(centre["pk"])}],
                "name": centre["name"],
                "telecom": telecom,
                "address": address,
                "position": {
                    "latitude": float(centre["latitude"]),
                    "longitude": float(centre["longitude"]),
                },
            }

    return _ndjson(resources())


def schedule_lines(*, now: dt.datetime) -> Iterator[bytes]:
    """The Schedule file: one per centre and vaccine with slots in the published window."""
    pairs = (
        _published_slots(now=now, until=now + HORIZON + SCHEDULE_MARGIN)
        .values(
            "centre_id",
            "centre__name",
            "vaccine_id",
            "vaccine__name",
            "vaccine__cvx_code",
            "vaccine__doses_in_primary_course",
        )
        .distinct()
        .order_by("centre_id", "vaccine_id")
    )

    def resources() -> Iterator[dict[str, Any]]:
        for pair in pairs.iterator(chunk_size=ITERATOR_CHUNK):
            product = {
                "url": VACCINE_PRODUCT,
                "valueCoding": {
                    "system": CVX_SYSTEM,
                    "code": pair["vaccine__cvx_code"],
                    "display": pair["vaccine__name"],
                },
            }
            # Any dose of the primary course can be booked on any slot (the booking page
            # asks which); eligibility is checked when the person books.
            doses = [
                {"url": VACCINE_DOSE, "valueInteger": number}
                for number in range(1, pair["vaccine__doses_in_primary_course"] + 1)
            ]
            yield {
                "resourceType": "Schedule",
                "id": schedule_id(pair["centre_id"], pair["vaccine_id"]),
                "actor": [
                    {"reference": f"Location/{pair['centre_id']}", "display": pair["centre__name"]}
                ],
                "serviceType": [COVID19_IMMUNIZATION],
                "extension": [product, *doses],
            }

    return _ndjson(resources())


def slot_lines(*, now: dt.datetime) -> Iterator[bytes]:
    """The Slot file: for each slot in the window, its free places and its taken places."""
    site = settings.SITE_URL
    booking_page = _url_with_id("book", "slot_id")
    slots = (
        _published_slots(now=now, until=now + HORIZON)
        .order_by("centre_id", "starts_at", "pk")
        .values(
            "pk",
            "centre_id",
            "vaccine_id",
            "starts_at",
            "ends_at",
            "capacity",
            "booked",
            "centre__time_zone",
        )
    )

    def resources() -> Iterator[dict[str, Any]]:
        for slot in slots.iterator(chunk_size=ITERATOR_CHUNK):
            zone = zoneinfo.ZoneInfo(slot["centre__time_zone"])  # cached by zoneinfo
            common = {
                "schedule": {
                    "reference": f"Schedule/{schedule_id(slot['centre_id'], slot['vaccine_id'])}"
                },
                "start": _timestamp(slot["starts_at"].astimezone(zone)),
                "end": _timestamp(slot["ends_at"].astimezone(zone)),
            }
            free = slot["capacity"] - slot["booked"]
            if free > 0:
                yield {
                    "resourceType": "Slot",
                    "id": f"{slot['pk']}.free",
                    **common,
                    "status": "free",
                    "extension": [
                        {"url": BOOKING_DEEP_LINK, "valueUrl": site + booking_page(slot["pk"])},
                        {"url": SLOT_CAPACITY, "valueInteger": free},
                    ],
                }
            if slot["booked"] > 0:
                yield {
                    "resourceType": "Slot",
                    "id": f"{slot['pk']}.busy",
                    **common,
                    "status": "busy",
                    "extension": [{"url": SLOT_CAPACITY, "valueInteger": slot["booked"]}],
                }

    return _ndjson(resources())


def schedule_id(centre_id: int, vaccine_id: int) -> str:
    return f"{centre_id}.{vaccine_id}"


def _published_slots(*, now: dt.datetime, until: dt.datetime) -> QuerySet[Slot]:
    """Open slots of active centres starting after `now` and before `until`, full or not."""
    return Slot.objects.using(db_router.replica_or_primary()).filter(
        is_open=True, centre__is_active=True, starts_at__gt=now, starts_at__lt=until
    )


def _timestamp(moment: dt.datetime) -> str:
    """A FHIR instant: to the second, with the offset of `moment`'s zone."""
    return moment.isoformat(timespec="seconds")


_SAMPLE_ID = 918273645


def _url_with_id(name: str, argument: str) -> Callable[[int], str]:
    """A function giving the path of URL `name` for an id, reversing the URL only once: the
    Slot file may hold millions of lines."""
    head, found, tail = reverse(name, kwargs={argument: _SAMPLE_ID}).rpartition(str(_SAMPLE_ID))
    if not found:
        raise ValueError(f"URL {name!r} does not end with its {argument}")
    return lambda pk: f"{head}{pk}{tail}"


def _ndjson(resources: Iterable[dict[str, Any]]) -> Iterator[bytes]:
    """Minified JSON, one resource a line, handed over in blocks of about WRITE_BLOCK_BYTES."""
    block: list[bytes] = []
    size = 0
    for resource in resources:
        line = json.dumps(resource, ensure_ascii=False, separators=(",", ":")).encode() + b"\n"
        block.append(line)
        size += len(line)
        if size >= WRITE_BLOCK_BYTES:
            yield b"".join(block)
            block, size = [], 0
    if block:
        yield b"".join(block)
