"""Bad input of every kind: each is a problem+json 4xx, never a 500, never a partial write."""

import json

import pytest
from django.test import Client

from tests.api.conftest import Api
from tests.factories import SlotFactory
from vaxbook.accounts.models import User
from vaxbook.bookings.models import Appointment
from vaxbook.centres.models import Slot

pytestmark = pytest.mark.django_db

PROBLEM = "application/problem+json"


def nothing_written(slot: Slot) -> bool:
    slot.refresh_from_db()
    return slot.booked == 0 and not Appointment.objects.exists()


def assert_problem(response, status: int, code: str) -> None:
    assert response.status == status, response.body
    assert response.content_type == PROBLEM
    assert response.code == code
    assert set(response.body) >= {"type", "title", "status", "detail", "code"}
    assert response.body["status"] == status
    assert response.body["type"] == f"urn:vaxbook:problem:{code}"


@pytest.mark.parametrize(
    ("body", "fields"),
    [
        ({"slot_id": 1, "dose_number": 1, "note": "hi"}, ["note"]),  # unknown field
        ({"slot_id": "1", "dose_number": 1}, ["slot_id"]),  # a number as a string
        ({"slot_id": 1.0, "dose_number": 1}, ["slot_id"]),
        ({"slot_id": True, "dose_number": 1}, ["slot_id"]),
        ({"slot_id": None, "dose_number": 1}, ["slot_id"]),
        ({"slot_id": [1], "dose_number": 1}, ["slot_id"]),
        ({"slot_id": -1, "dose_number": 1}, ["slot_id"]),  # negative id
        ({"slot_id": 0, "dose_number": 1}, ["slot_id"]),
        ({"slot_id": 2**63, "dose_number": 1}, ["slot_id"]),  # past any 64-bit id
        ({"slot_id": 1, "dose_number": 0}, ["dose_number"]),
        ({"slot_id": 1, "dose_number": 40000}, ["dose_number"]),
        ({"dose_number": 1}, ["slot_id"]),  # missing
        ({}, ["dose_number", "slot_id"]),
    ],
)
def test_invalid_fields_are_listed(citizen: Api, slot, body, fields: list[str]) -> None:
    response = citizen.post("/appointments", body)

    assert_problem(response, 422, "validation_error")
    assert sorted(error["field"] for error in response.body["errors"]) == fields
    assert all(error["location"] == "body" for error in response.body["errors"])
    assert nothing_written(slot)


@pytest.mark.parametrize("body", [[1, 2], "text", 42, None])
def test_a_body_that_is_not_an_object_is_422(citizen: Api, slot, body) -> None:
    response = citizen.post("/appointments", raw=json.dumps(body).encode())

    assert_problem(response, 422, "validation_error")
    assert nothing_written(slot)


def test_an_empty_body_is_422(citizen: Api, slot) -> None:
    assert_problem(citizen.post("/appointments", raw=b""), 422, "validation_error")


@pytest.mark.parametrize(
    "raw",
    [
        b"{",
        b'{"slot_id": 1,}',
        b"{'slot_id': 1}",
        b"\xef\xbb\xbf{}",
        b"[" * 100_00 + b"]" * 100_00,
        b"1" * 5000,
    ],
)
def test_malformed_json_is_400(citizen: Api, slot, raw: bytes) -> None:
    response = citizen.post("/appointments", raw=raw)

    assert_problem(response, 400, "malformed_json")
    assert nothing_written(slot)


@pytest.mark.parametrize("raw", [b'{"slot_id": 1, "dose_number": 1, "x": "\xff"}', b"\xc3\x28"])
def test_invalid_utf8_is_400(citizen: Api, slot, raw: bytes) -> None:
    assert_problem(citizen.post("/appointments", raw=raw), 400, "invalid_encoding")
    assert nothing_written(slot)


@pytest.mark.parametrize(
    "content_type",
    [
        "text/plain",
        "application/x-www-form-urlencoded",
        "multipart/form-data; boundary=x",
        "application/json; charset=latin-1",
        "application/xml",
    ],
)
def test_a_body_that_is_not_json_is_415(citizen: Api, slot, content_type: str) -> None:
    response = citizen.post(
        "/appointments",
        raw=json.dumps({"slot_id": slot.pk, "dose_number": 1}).encode(),
        content_type=content_type,
    )

    assert_problem(response, 415, "unsupported_media_type")
    assert nothing_written(slot)


def test_json_with_a_utf8_charset_is_fine(citizen: Api, slot) -> None:
    response = citizen.post(
        "/appointments",
        raw=json.dumps({"slot_id": slot.pk, "dose_number": 1}).encode(),
        content_type="application/json; charset=UTF-8",
    )

    assert response.status == 201


def test_a_body_over_64_kb_is_413(citizen: Api, slot) -> None:
    body = {"slot_id": slot.pk, "dose_number": 1, "padding": "x" * 65_536}

    response = citizen.post("/appointments", body)

    assert_problem(response, 413, "payload_too_large")
    assert nothing_written(slot)


def test_a_body_of_64_kb_is_read(citizen: Api, slot) -> None:
    padding = 64 * 1024 - len(json.dumps({"slot_id": slot.pk, "dose_number": 1, "p": ""}))
    body = {"slot_id": slot.pk, "dose_number": 1, "p": "x" * padding}

    response = citizen.post("/appointments", body)

    assert_problem(response, 422, "validation_error")  # read and refused for `p`, not 413
    assert response.body["errors"][0]["field"] == "p"


def test_a_huge_body_is_refused_before_authentication(anonymous: Api) -> None:
    response = anonymous.post("/auth/token", raw=b"{" + b" " * 10_000_000 + b"}")

    assert_problem(response, 413, "payload_too_large")


@pytest.mark.parametrize(
    ("field", "value"),
    [("full_name", "Ada\x00Lovelace"), ("full_name", "\ud800"), ("email", "a\x00@example.org")],
)
def test_text_the_database_cannot_store_is_422(anonymous: Api, field: str, value: str) -> None:
    body = {
        "email": "ada@example.org",
        "password": "correct horse battery staple",
        "full_name": "Ada Lovelace",
        "date_of_birth": "1990-05-17",
        field: value,
    }

    response = anonymous.post("/auth/register", body)

    assert_problem(response, 422, "validation_error")
    assert response.body["errors"][0]["field"] == field
    assert not User.objects.exists()


@pytest.mark.parametrize("query", ["q=%00", "q=a%00b", "q=" + "a" * 101])
def test_search_text_the_database_cannot_take_is_422(anonymous: Api, query: str) -> None:
    response = anonymous.client.get(f"/api/v1/centres?{query}")

    assert response.status_code == 422
    assert response["Content-Type"] == PROBLEM


def test_a_query_that_is_not_utf8_finds_nothing(anonymous: Api, slot) -> None:
    # Django reads the bytes as U+FFFD replacement characters: a harmless search.
    response = anonymous.client.get("/api/v1/centres?q=%ff%fe")

    assert response.status_code == 200
    assert response.json()["count"] == 0


def test_a_nul_in_a_typed_reference_is_422(staff: Api) -> None:
    assert_problem(staff.post("/validations", {"reference": "ABC\x00"}), 422, "validation_error")


@pytest.mark.parametrize(
    "path",
    ["/appointments/not-a-uuid", "/appointments/-1", "/appointments/123/cancel"],
)
def test_ids_that_are_not_appointment_ids_are_422(citizen: Api, path: str) -> None:
    method = citizen.post if path.endswith("cancel") else citizen.get

    response = method(path)

    assert_problem(response, 422, "validation_error")
    assert response.body["errors"][0]["location"] == "path"


def test_an_unknown_path_is_a_problem(anonymous: Api) -> None:
    for path in ["/nothing-here", "/centres/1/slots/extra", "/appointments/"]:
        response = anonymous.get(path)
        assert_problem(response, 404, "not_found")


def test_a_wrong_method_is_405_with_allow(citizen: Api) -> None:
    response = citizen.request("PUT", "/appointments", {"slot_id": 1})

    assert_problem(response, 405, "method_not_allowed")
    assert set(response.headers["Allow"].split(", ")) == {"GET", "HEAD", "POST"}


@pytest.mark.parametrize(
    "path",
    [
        "/openapi.json",
        "/docs",
        "/smart-scheduling/$bulk-publish",
        "/smart-scheduling/locations.ndjson",
        "/smart-scheduling/schedules.ndjson",
        "/smart-scheduling/slots.ndjson",
    ],
)
@pytest.mark.parametrize("method", ["POST", "PUT", "DELETE"])
def test_a_write_to_a_published_document_is_405_even_with_a_session_cookie(
    path: str, method: str
) -> None:
    # A browser's client: Django checks CSRF on any view that does not opt out.
    api = Api()
    api.client = Client(enforce_csrf_checks=True, raise_request_exception=False)
    api.client.cookies["sessionid"] = "anything"

    response = api.request(method, path, {"a": 1})

    assert_problem(response, 405, "method_not_allowed")
    assert response.headers["Allow"] == "GET, HEAD"


@pytest.mark.parametrize(
    ("raw", "options"),
    [
        (b"<xml/>", {"content_type": "text/xml"}),
        (b"{}", {"headers": {"Transfer-Encoding": "chunked"}}),
        (b"x" * 70_000, {}),
    ],
)
def test_a_write_to_the_openapi_document_is_405_whatever_its_body(raw: bytes, options) -> None:
    response = Api().request("POST", "/openapi.json", raw=raw, **options)

    assert_problem(response, 405, "method_not_allowed")


def test_a_chunked_body_is_411_and_nothing_is_written(citizen: Api, slot) -> None:
    response = citizen.post(
        "/appointments",
        {"slot_id": slot.pk, "dose_number": 1},
        headers={"Transfer-Encoding": "chunked"},
    )

    assert_problem(response, 411, "length_required")
    assert nothing_written(slot)


def test_pages_outside_the_api_keep_djangos_404(anonymous: Api) -> None:
    response = anonymous.client.get("/no-such-page/")

    assert response.status_code == 404
    assert not response["Content-Type"].startswith(PROBLEM)


def test_an_unexpected_failure_is_a_logged_500_problem(
    citizen: Api, slot, monkeypatch, caplog
) -> None:
    def broken(**kwargs):
        raise RuntimeError("a bug")

    monkeypatch.setattr("vaxbook.bookings.services.book_appointment", broken)

    response = citizen.post("/appointments", {"slot_id": slot.pk, "dose_number": 1})

    assert_problem(response, 500, "internal_error")
    assert "a bug" not in response.raw.decode()
    assert any(record.exc_info and "a bug" in str(record.exc_info[1]) for record in caplog.records)


def test_djangos_own_500_under_the_api_is_a_problem(rf) -> None:
    from vaxbook.api.problems import server_error

    response = server_error(rf.get("/api/v1/anything"))

    assert response.status_code == 500
    assert response["Content-Type"] == PROBLEM
    assert json.loads(response.content)["code"] == "internal_error"


def test_problems_speak_the_clients_language(citizen: Api, centre) -> None:
    full = SlotFactory(centre=centre, capacity=1, booked=1)

    response = citizen.post(
        "/appointments",
        {"slot_id": full.pk, "dose_number": 1},
        headers={"Accept-Language": "es"},
    )

    assert response.code == "slot_full"  # the code never changes
    assert response.body["title"] == "Franja completa"
    assert response.body["detail"].startswith("Se acaban de reservar todas las plazas")


def test_the_problems_of_the_request_itself_speak_spanish_too(citizen: Api, slot) -> None:
    response = citizen.post(
        "/appointments",
        {"slot_id": slot.pk, "dose_number": 1},
        headers={"Accept-Language": "es", "Transfer-Encoding": "chunked"},
    )

    assert response.code == "length_required"
    assert response.body["title"] == "Longitud requerida"
    assert response.body["detail"].startswith("Envíe el cuerpo con una cabecera Content-Length")
