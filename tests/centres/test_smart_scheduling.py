"""The SMART Scheduling Links feed, checked against the structure the specification requires
(https://github.com/smart-on-fhir/smart-scheduling-links, specification.md)."""

import datetime as dt
import json
import re
import zoneinfo
from dataclasses import dataclass
from decimal import Decimal
from typing import Any
from urllib.parse import quote

import pytest
import time_machine
from django.conf import LazySettings
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from tests.factories import (
    CentreFactory,
    CitizenFactory,
    SlotFactory,
    VaccineFactory,
    tomorrow_at,
)
from vaxbook.centres.models import Centre, Slot, Vaccine

pytestmark = pytest.mark.django_db

SITE = "https://vaccination.example.org"
MANIFEST = "/api/v1/smart-scheduling/$bulk-publish"
EXT = "http://fhir-registry.smarthealthit.org/StructureDefinition/"
# "up to 64 alphanumeric characters and may include _ and ." (later versions: - and .)
RESOURCE_ID = re.compile(r"^[A-Za-z0-9._]{1,64}$")
# "YYYY-MM-DDThh:mm:ss.sss+zz:zz": at least to the second, with an offset (or Z).
TIMESTAMP = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?(Z|[+-]\d\d:\d\d)$")


@pytest.fixture(autouse=True)
def public_address(settings: LazySettings) -> None:
    settings.SITE_URL = SITE


@dataclass
class World:
    madrid: Centre
    las_palmas: Centre
    closed_centre: Centre
    comirnaty: Vaccine
    jcovden: Vaccine
    empty: Slot
    partly_booked: Slot
    full: Slot
    canary: Slot


@pytest.fixture
def world() -> World:
    madrid = CentreFactory(
        name="Hospital Enfermera Isabel Zendal",
        address="Calle de Alcalá 1",
        postcode="28055",
        town="Madrid",
        phone="+34 910 000 000",
    )
    las_palmas = CentreFactory(
        name="Hospital Doctor Negrín",
        address="Barranco de la Ballena s/n",
        postcode="35010",
        town="Las Palmas de Gran Canaria",
        phone="",
        latitude=Decimal("28.11930"),
        longitude=Decimal("-15.45040"),
        time_zone="Atlantic/Canary",
    )
    closed_centre = CentreFactory(name="Closed for good", is_active=False)
    comirnaty = VaccineFactory(name="Comirnaty", cvx_code="208", doses_in_primary_course=2)
    jcovden = VaccineFactory(
        name="Jcovden",
        manufacturer="Janssen",
        cvx_code="212",
        doses_in_primary_course=1,
        minimum_days_between_doses=0,
        minimum_age=18,
    )
    world = World(
        madrid=madrid,
        las_palmas=las_palmas,
        closed_centre=closed_centre,
        comirnaty=comirnaty,
        jcovden=jcovden,
        empty=SlotFactory(centre=madrid, vaccine=comirnaty, starts_at=tomorrow_at(9)),
        partly_booked=SlotFactory(
            centre=madrid, vaccine=comirnaty, starts_at=tomorrow_at(10), capacity=5, booked=2
        ),
        full=SlotFactory(
            centre=madrid, vaccine=comirnaty, starts_at=tomorrow_at(11), capacity=3, booked=3
        ),
        canary=SlotFactory(
            centre=las_palmas,
            vaccine=jcovden,
            starts_at=tomorrow_at(9, zone="Atlantic/Canary"),
            capacity=4,
        ),
    )
    # Just past the Slot file's 28 days: its schedule is listed (a day's margin for
    # clients that refresh schedules daily), the slot itself is not.
    SlotFactory(
        centre=madrid, vaccine=jcovden, starts_at=timezone.now() + dt.timedelta(days=28, hours=6)
    )
    # Never published: closed for booking, already started, far beyond the horizon, or at
    # a centre that no longer takes part.
    SlotFactory(centre=madrid, vaccine=comirnaty, starts_at=tomorrow_at(12), is_open=False)
    SlotFactory(
        centre=madrid, vaccine=comirnaty, starts_at=timezone.now() - dt.timedelta(minutes=5)
    )
    SlotFactory(
        centre=las_palmas, vaccine=comirnaty, starts_at=timezone.now() + dt.timedelta(days=40)
    )
    SlotFactory(centre=closed_centre, vaccine=comirnaty, starts_at=tomorrow_at(9))
    return world


def get(path: str, **headers: str) -> Any:
    return Client().get(path, headers=headers)


def relative(url: str) -> str:
    assert url.startswith(SITE + "/"), url
    return url.removeprefix(SITE)


def manifest() -> dict[str, Any]:
    response = get(MANIFEST)
    assert response.status_code == 200
    return response.json()


def ndjson(resource_type: str) -> list[dict[str, Any]]:
    (entry,) = [item for item in manifest()["output"] if item["type"] == resource_type]
    response = get(relative(entry["url"]))
    assert response.status_code == 200
    assert response["Content-Type"] == "application/fhir+ndjson"
    body = b"".join(response.streaming_content).decode()
    assert body.endswith("\n")
    lines = body.splitlines()
    # Minified: one resource a line, no pretty-printing.
    assert all(line.startswith("{") and line.endswith("}") for line in lines)
    resources = [json.loads(line) for line in lines]
    assert all(resource["resourceType"] == resource_type for resource in resources)
    ids = [resource["id"] for resource in resources]
    assert all(RESOURCE_ID.match(resource_id) for resource_id in ids), ids
    assert len(set(ids)) == len(ids)
    return resources


def extensions(resource: dict[str, Any], url: str) -> list[dict[str, Any]]:
    return [extension for extension in resource.get("extension", []) if extension["url"] == url]


def test_manifest_points_at_one_file_of_each_type_by_absolute_url(world: World) -> None:
    body = manifest()
    assert set(body) == {"transactionTime", "request", "output", "error"}
    assert TIMESTAMP.match(body["transactionTime"])
    published = dt.datetime.fromisoformat(body["transactionTime"])
    assert abs(published - timezone.now()) < dt.timedelta(minutes=1)
    assert body["request"] == SITE + MANIFEST
    assert body["error"] == []
    assert sorted(item["type"] for item in body["output"]) == ["Location", "Schedule", "Slot"]
    for item in body["output"]:
        assert item["url"].startswith(SITE + "/api/v1/smart-scheduling/")
        # The hint for clients that only follow some regions: Madrid and the Canary Islands.
        assert item["extension"] == {"state": ["ES-CN", "ES-MD"]}


def test_locations_carry_every_required_field_for_each_active_centre(world: World) -> None:
    locations = {location["id"]: location for location in ndjson("Location")}
    assert set(locations) == {str(world.madrid.pk), str(world.las_palmas.pk)}

    madrid = locations[str(world.madrid.pk)]
    assert madrid["name"] == "Hospital Enfermera Isabel Zendal"
    assert madrid["telecom"] == [
        {"system": "phone", "value": "+34 910 000 000"},
        {"system": "url", "value": f"{SITE}/centres/{world.madrid.pk}/"},
    ]
    assert madrid["address"] == {
        "line": ["Calle de Alcalá 1"],
        "city": "Madrid",
        "state": "ES-MD",
        "postalCode": "28055",
        "country": "ES",
    }
    assert madrid["position"] == {"latitude": 40.41831, "longitude": -3.70275}
    assert madrid["identifier"] == [{"system": f"{SITE}/centres/", "value": str(world.madrid.pk)}]

    las_palmas = locations[str(world.las_palmas.pk)]
    # No telephone on record: the centre's page is still a contact point.
    assert las_palmas["telecom"] == [
        {"system": "url", "value": f"{SITE}/centres/{world.las_palmas.pk}/"}
    ]
    assert las_palmas["address"]["state"] == "ES-CN"
    assert las_palmas["position"] == {"latitude": 28.1193, "longitude": -15.4504}


def test_a_postcode_outside_spain_gets_no_invented_region() -> None:
    CentreFactory(postcode="SW1A 1AA", town="London")
    (location,) = ndjson("Location")
    assert set(location["address"]) == {"line", "city", "postalCode"}
    assert location["address"]["postalCode"] == "SW1A 1AA"
    assert "extension" not in manifest()["output"][0]


def test_schedules_name_a_location_and_carry_the_covid19_codings_product_and_doses(
    world: World,
) -> None:
    location_ids = {location["id"] for location in ndjson("Location")}
    schedules = ndjson("Schedule")
    # One per centre and vaccine on offer; none for the closed centre.
    assert len(schedules) == 3
    for schedule in schedules:
        (actor,) = schedule["actor"]
        kind, _, location_id = actor["reference"].partition("/")
        assert kind == "Location"
        assert location_id in location_ids
        assert schedule["serviceType"] == [
            {
                "coding": [
                    {
                        "system": "http://terminology.hl7.org/CodeSystem/service-type",
                        "code": "57",
                        "display": "Immunization",
                    },
                    {
                        "system": "http://fhir-registry.smarthealthit.org/CodeSystem/service-type",
                        "code": "covid19-immunization",
                        "display": "COVID-19 Immunization Appointment",
                    },
                ]
            }
        ]
        # The product extension does not repeat: one vaccine per schedule.
        (product,) = extensions(schedule, EXT + "vaccine-product")
        assert product["valueCoding"]["system"] == "http://hl7.org/fhir/sid/cvx"

    def offered(centre: Centre) -> dict[str, list[int]]:
        return {
            extensions(schedule, EXT + "vaccine-product")[0]["valueCoding"]["code"]: [
                dose["valueInteger"] for dose in extensions(schedule, EXT + "vaccine-dose")
            ]
            for schedule in schedules
            if schedule["actor"][0]["reference"] == f"Location/{centre.pk}"
        }

    # Madrid has Comirnaty (two doses) and, just beyond the Slot file's horizon, Jcovden;
    # Las Palmas's Comirnaty is too far ahead to be listed.
    assert offered(world.madrid) == {"208": [1, 2], "212": [1]}
    assert offered(world.las_palmas) == {"212": [1]}


def test_each_slot_publishes_its_free_places_and_its_taken_places(world: World) -> None:
    schedule_ids = {schedule["id"] for schedule in ndjson("Schedule")}
    slots = ndjson("Slot")
    for slot in slots:
        kind, _, schedule_id = slot["schedule"]["reference"].partition("/")
        assert kind == "Schedule"
        assert schedule_id in schedule_ids
        assert slot["status"] in {"free", "busy"}
        assert TIMESTAMP.match(slot["start"])
        assert TIMESTAMP.match(slot["end"])
        (capacity,) = extensions(slot, EXT + "slot-capacity")
        assert capacity["valueInteger"] > 0

    def places(source: Slot) -> dict[str, int]:
        return {
            slot["status"]: extensions(slot, EXT + "slot-capacity")[0]["valueInteger"]
            for slot in slots
            if slot["id"].split(".")[0] == str(source.pk)
        }

    assert places(world.empty) == {"free": 5}
    assert places(world.partly_booked) == {"free": 3, "busy": 2}
    assert places(world.full) == {"busy": 3}
    assert places(world.canary) == {"free": 4}
    # Closed, started, too far ahead, or at an inactive centre: nothing else.
    assert len(slots) == 5


def test_slot_times_are_instants_with_the_centres_local_offset(world: World) -> None:
    slots = {slot["id"]: slot for slot in ndjson("Slot")}
    for source, zone in [(world.empty, "Europe/Madrid"), (world.canary, "Atlantic/Canary")]:
        slot = slots[f"{source.pk}.free"]
        start = dt.datetime.fromisoformat(slot["start"])
        end = dt.datetime.fromisoformat(slot["end"])
        assert start == source.starts_at
        assert end == source.ends_at
        # 09:00 on the wall clock of each centre, an hour apart in UTC.
        assert start.strftime("%H:%M") == "09:00"
        assert start.utcoffset() == source.starts_at.astimezone(zoneinfo.ZoneInfo(zone)).utcoffset()


def test_only_free_places_link_to_booking_and_the_link_opens_our_booking_page(
    world: World,
) -> None:
    slots = ndjson("Slot")
    for slot in slots:
        links = extensions(slot, EXT + "booking-deep-link")
        if slot["status"] == "busy":
            assert links == []
            continue
        (link,) = links
        path = relative(link["valueUrl"])
        assert path == f"/book/{slot['id'].split('.')[0]}/"
        # Someone arriving from an aggregator signs in and comes back to this very slot.
        anonymous = Client().get(path)
        assert anonymous.status_code == 302
        assert anonymous["Location"] == f"/sign-in/?next={quote(path)}"

    (link,) = extensions(
        next(slot for slot in slots if slot["id"] == f"{world.empty.pk}.free"),
        EXT + "booking-deep-link",
    )
    citizen = Client()
    citizen.force_login(CitizenFactory().user)
    page = citizen.get(relative(link["valueUrl"]))
    assert page.status_code == 200
    assert "Hospital Enfermera Isabel Zendal" in page.text


def test_every_answer_is_public_and_cacheable_for_a_minute(world: World) -> None:
    paths = [MANIFEST] + [relative(item["url"]) for item in manifest()["output"]]
    for path in paths:
        response = get(path)
        assert response.status_code == 200
        directives = {part.strip() for part in response["Cache-Control"].split(",")}
        assert directives == {"public", "max-age=60"}, path
        assert "Set-Cookie" not in response
        assert "Cookie" not in response.get("Vary", "")
        if response.streaming:  # read to the end, as a client does: the query is open
            b"".join(response.streaming_content)


@pytest.mark.parametrize(
    "accept",
    [
        None,
        "application/json",
        "application/fhir+ndjson",
        "application/fhir+json",
        "text/html,application/xhtml+xml;q=0.9",
        "*/*",
        "image/png",
        ";;q=bogus, /",
    ],
)
def test_any_accept_header_gets_the_same_payload(world: World, accept: str | None) -> None:
    headers = {} if accept is None else {"Accept": accept}
    with time_machine.travel(timezone.now(), tick=False):
        paths = [MANIFEST] + [relative(item["url"]) for item in manifest()["output"]]
        for path in paths:
            plain = get(path)
            asked = get(path, **headers)
            assert asked.status_code == 200, (path, accept)
            assert asked["Content-Type"] == plain["Content-Type"]
            assert asked.getvalue() == plain.getvalue()


def test_the_slot_file_is_streamed_with_one_query_however_many_slots(world: World) -> None:
    def slot_file_queries() -> tuple[int, int]:
        # The query starts in the view (the first line is produced there), the rest of
        # the file streams from it.
        with CaptureQueriesContext(connection) as queries:
            response = get("/api/v1/smart-scheduling/slots.ndjson")
            assert response.streaming
            lines = b"".join(response.streaming_content).count(b"\n")
        return lines, len(queries)

    few_lines, few_queries = slot_file_queries()
    for hour in range(13, 20):
        for centre in [world.madrid, world.las_palmas]:
            SlotFactory(centre=centre, vaccine=world.comirnaty, starts_at=tomorrow_at(hour))
    many_lines, many_queries = slot_file_queries()
    assert many_lines == few_lines + 14
    assert many_queries == few_queries == 1


def test_head_answers_without_a_body_and_writes_are_refused(world: World) -> None:
    head = Client().head("/api/v1/smart-scheduling/slots.ndjson")
    assert head.status_code == 200
    assert head["Content-Type"] == "application/fhir+ndjson"
    assert head.getvalue() == b""
    for path in [MANIFEST, "/api/v1/smart-scheduling/slots.ndjson"]:
        assert Client().post(path, data={}).status_code == 405
