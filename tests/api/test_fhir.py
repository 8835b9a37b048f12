"""The FHIR R4 export: the manifest, NDJSON per type streamed, `_since`, single resources,
and who may read them."""

import datetime as dt
import json
from typing import Any

import pytest
from django.utils import timezone

from tests.api.conftest import API, Api
from tests.credentials.health_cards import vaccinated
from tests.factories import SlotFactory, tomorrow_at
from tests.fhir_models import assert_valid_fhir
from vaxbook.bookings.models import InjectionSite, VaccinationRecord

pytestmark = pytest.mark.django_db

TYPES = ["Patient", "Immunization", "Location", "Schedule", "Slot", "Appointment"]


def ndjson(api: Api, resource_type: str, **query: str) -> list[dict]:
    response: Any = api.client.get(
        f"{API}/fhir/{resource_type}.ndjson",
        query,
        headers={"Authorization": f"Bearer {api.token}"},
    )
    assert response.status_code == 200
    assert response.streaming
    assert response["Content-Type"] == "application/fhir+ndjson"
    body = b"".join(response.streaming_content).decode()
    return [json.loads(line) for line in body.splitlines()]


@pytest.fixture
def dose():
    appointment = vaccinated(SlotFactory(centre__name="Centro de Salud Norte"), lot="EW0182")
    VaccinationRecord.objects.filter(appointment=appointment).update(
        injection_site=InjectionSite.LEFT_ARM
    )
    return appointment


def test_manifest_names_one_ndjson_file_per_type(admin, settings) -> None:
    settings.SITE_URL = "https://vaccination.example.org"

    response = admin.get("/fhir/$export")

    assert response.status == 200
    assert response.body["requiresAccessToken"] is True
    assert [item["type"] for item in response.body["output"]] == TYPES
    assert response.body["output"][1]["url"] == (
        "https://vaccination.example.org/api/v1/fhir/Immunization.ndjson"
    )
    assert response.body["error"] == []


def test_manifest_keeps_type_and_since(admin) -> None:
    response = admin.get(
        "/fhir/$export", _type="Immunization,Patient", _since="2026-12-01T00:00:00Z"
    )

    assert [item["type"] for item in response.body["output"]] == ["Immunization", "Patient"]
    assert response.body["output"][0]["url"].endswith(
        "Immunization.ndjson?_since=2026-12-01T00%3A00%3A00Z"
    )


def test_immunization_carries_cvx_lot_site_patient_and_location(admin, dose) -> None:
    [immunization] = ndjson(admin, "Immunization")

    record = dose.vaccination
    assert immunization["resourceType"] == "Immunization"
    assert immunization["id"] == str(record.pk)
    assert immunization["status"] == "completed"
    assert immunization["vaccineCode"]["coding"] == [
        {"system": "http://hl7.org/fhir/sid/cvx", "code": "208"}
    ]
    assert immunization["lotNumber"] == "EW0182"
    assert immunization["patient"] == {"reference": f"Patient/{dose.person_id}"}
    assert immunization["location"]["reference"] == f"Location/{dose.slot.centre_id}"
    assert immunization["site"]["coding"][0] == {
        "system": "http://terminology.hl7.org/CodeSystem/v3-ActSite",
        "code": "LA",
        "display": "left arm",
    }
    assert immunization["protocolApplied"] == [{"doseNumberPositiveInt": 1}]
    assert immunization["occurrenceDateTime"].endswith("Z")


def test_every_reference_names_a_resource_of_the_export(admin, dose) -> None:
    from tests.credentials.conftest import book

    book(SlotFactory(centre=dose.slot.centre, starts_at=tomorrow_at(12)))
    exported = {name: ndjson(admin, name) for name in TYPES}
    ids = {name: {resource["id"] for resource in exported[name]} for name in TYPES}

    assert all(resource["resourceType"] == name for name in TYPES for resource in exported[name])
    references = []
    for resources in exported.values():
        for resource in resources:
            text = json.dumps(resource)
            references += [part.split('"')[0] for part in text.split('"reference": "')[1:]]
    assert references
    for reference in references:
        name, _, identifier = reference.partition("/")
        assert identifier in ids[name], reference


def test_every_exported_resource_is_valid_fhir(admin, dose) -> None:
    from tests.credentials.conftest import book

    book(SlotFactory(centre=dose.slot.centre, starts_at=tomorrow_at(12)))
    exported = [resource for name in TYPES for resource in ndjson(admin, name)]

    assert {resource["resourceType"] for resource in exported} == set(TYPES)
    for resource in exported:
        assert_valid_fhir(resource)


def test_appointment_statuses_are_fhir_codes(admin, dose) -> None:
    from tests.credentials.conftest import book

    booked = book(SlotFactory(centre=dose.slot.centre, starts_at=tomorrow_at(12)))

    statuses = {item["id"]: item["status"] for item in ndjson(admin, "Appointment")}

    assert statuses == {str(dose.pk): "fulfilled", str(booked.pk): "booked"}


def test_minimal_patient(admin, dose) -> None:
    assert ndjson(admin, "Patient") == [
        {
            "resourceType": "Patient",
            "id": str(dose.person_id),
            "name": [{"text": "María José Núñez Ortiz"}],
            "birthDate": "1961-02-28",
        }
    ]


def test_since_leaves_out_what_did_not_change(admin, dose) -> None:
    later = timezone.now() + dt.timedelta(minutes=1)
    since = later.isoformat()

    assert ndjson(admin, "Immunization", _since=since) == []
    assert ndjson(admin, "Appointment", _since=since) == []
    assert ndjson(admin, "Patient", _since=since) == []
    before = (dose.vaccinated_at - dt.timedelta(minutes=1)).isoformat()
    assert len(ndjson(admin, "Immunization", _since=before)) == 1


@pytest.mark.parametrize("since", ["yesterday", "2026-12-01T00:00:00", "2026-13-01T00:00:00Z", ""])
def test_an_invalid_since_is_a_clear_422(admin, since) -> None:
    for path in ("/fhir/$export", "/fhir/Immunization.ndjson"):
        response = admin.get(path, _since=since)
        assert response.status == 422
        assert response.code == "invalid_since"


def test_an_unknown_type_is_404(admin) -> None:
    assert admin.get("/fhir/Observation.ndjson").code == "not_found"
    assert admin.get("/fhir/$export", _type="Immunization,Observation").status == 404


def test_one_resource_by_id(admin, dose) -> None:
    response = admin.client.get(
        f"{API}/fhir/Appointment/{dose.pk}", headers={"Authorization": f"Bearer {admin.token}"}
    )

    assert response.status_code == 200
    assert response["Content-Type"] == "application/fhir+json"
    assert json.loads(response.content)["id"] == str(dose.pk)


@pytest.mark.parametrize(
    "path", ["/fhir/Appointment/not-a-uuid", "/fhir/Patient/999999", "/fhir/Slot/x"]
)
def test_a_missing_resource_is_404(admin, path) -> None:
    assert admin.get(path).status == 404


@pytest.mark.parametrize("who", ["citizen", "staff"])
def test_only_administrators_export(request, who, dose) -> None:
    api = request.getfixturevalue(who)
    for path in ("/fhir/$export", "/fhir/Immunization.ndjson", f"/fhir/Patient/{dose.person_id}"):
        response = api.get(path)
        assert response.status == 403, path
        assert response.code == "not_permitted"
        assert "Núñez" not in response.raw.decode()


def test_anonymous_gets_401(anonymous) -> None:
    assert anonymous.get("/fhir/$export").status == 401
