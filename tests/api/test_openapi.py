"""The OpenAPI document and the interactive docs."""

import re

import pytest
from django.contrib.staticfiles import finders

from tests.api.conftest import Api

pytestmark = pytest.mark.django_db

CONTRACT = {
    ("post", "/api/v1/auth/register"),
    ("post", "/api/v1/auth/token"),
    ("delete", "/api/v1/auth/token"),
    ("get", "/api/v1/me"),
    ("get", "/api/v1/me/data"),
    ("post", "/api/v1/me/delete"),
    ("get", "/api/v1/vaccines"),
    ("get", "/api/v1/centres"),
    ("get", "/api/v1/centres/{centre_id}/slots"),
    ("get", "/api/v1/people"),
    ("post", "/api/v1/people"),
    ("post", "/api/v1/appointments"),
    ("get", "/api/v1/appointments"),
    ("get", "/api/v1/appointments/{appointment_id}"),
    ("post", "/api/v1/appointments/{appointment_id}/cancel"),
    ("post", "/api/v1/appointments/{appointment_id}/reschedule"),
    ("get", "/api/v1/appointments/{appointment_id}/qr.svg"),
    ("get", "/api/v1/appointments/{appointment_id}/calendar.ics"),
    ("post", "/api/v1/validations"),
    ("post", "/api/v1/checkins"),
    ("post", "/api/v1/appointments/{appointment_id}/vaccination"),
    ("get", "/api/v1/certificates"),
    ("get", "/api/v1/certificates/{appointment_id}"),
    ("get", "/api/v1/fhir/$export"),
    ("get", "/api/v1/fhir/{resource_type}.ndjson"),
    ("get", "/api/v1/fhir/{resource_type}/{resource_id}"),
    ("get", "/api/v1/waiting-list"),
    ("post", "/api/v1/waiting-list"),
    ("put", "/api/v1/waiting-list/{entry_id}"),
    ("post", "/api/v1/waiting-list/{entry_id}/leave"),
    ("get", "/api/v1/waiting-list/offers/{offer_id}"),
    ("post", "/api/v1/waiting-list/offers/{offer_id}/accept"),
    ("post", "/api/v1/waiting-list/offers/{offer_id}/decline"),
}


@pytest.fixture
def document(anonymous: Api) -> dict:
    response = anonymous.get("/openapi.json")
    assert response.status == 200
    return response.body


def operations(document: dict):
    for path, methods in document["paths"].items():
        for method, operation in methods.items():
            yield method, path, operation


def test_every_endpoint_of_the_contract_is_documented(document) -> None:
    assert document["openapi"].startswith("3.")
    assert {(method, path) for method, path, _op in operations(document)} == CONTRACT


def test_every_error_is_a_documented_problem(document) -> None:
    for method, path, operation in operations(document):
        errors = {
            int(status): response
            for status, response in operation["responses"].items()
            if int(status) >= 400
        }
        assert errors, (method, path)
        for status, response in errors.items():
            assert response["content"] == {
                "application/problem+json": {"schema": {"$ref": "#/components/schemas/Problem"}}
            }, (method, path, status)
            assert "`" in response["description"], (method, path, status)  # names its codes


def test_what_any_request_can_meet_is_documented_where_it_applies(document) -> None:
    for method, path, operation in operations(document):
        statuses = {int(status) for status in operation["responses"]}
        if "requestBody" in operation:
            assert {400, 413, 415, 422} <= statuses, (method, path)
        if operation.get("security"):
            assert 401 in statuses, (method, path)
            assert "WWW-Authenticate" in operation["responses"]["401"]["headers"]
        if 429 in statuses:
            assert "Retry-After" in operation["responses"]["429"]["headers"]


def test_the_problem_schema(document) -> None:
    problem = document["components"]["schemas"]["Problem"]
    assert set(problem["required"]) == {"type", "title", "status", "detail", "code"}
    assert "errors" in problem["properties"]


def test_bearer_authentication_is_declared(document) -> None:
    schemes = document["components"]["securitySchemes"]
    assert schemes == {"BearerToken": {"type": "http", "scheme": "bearer"}}


def test_the_docs_are_served_from_our_own_static_files(anonymous: Api) -> None:
    response = anonymous.client.get("/api/v1/docs")

    assert response.status_code == 200
    html = response.content.decode()
    assert "/api/v1/openapi.json" in html
    # Nothing from another host: no CDN.
    assert not re.search(r"""(src|href)=["']?(https?:)?//""", html)
    assets = re.findall(r"""(?:src|href)=["']/static/([^"']+)["']""", html)
    assert any(asset.endswith("swagger-ui-bundle.js") for asset in assets)
    for asset in assets:
        assert finders.find(asset), asset
    # No inline script to run (a strict Content-Security-Policy allows none): the only
    # inline <script> is the settings, a JSON data block.
    inline = re.findall(r"<script(?![^>]*\bsrc=)([^>]*)>", html)
    assert inline == [' type="application/json" id="swagger-settings"']


# --- the document says what the API accepts -----------------------------------------------


def _schema(document, name: str) -> dict:
    return document["components"]["schemas"][name]


def test_ids_and_dose_numbers_are_bounded_integers(document) -> None:
    booking = _schema(document, "BookingIn")["properties"]
    assert booking["slot_id"]["type"] == "integer"
    assert booking["slot_id"]["format"] == "int64"
    assert (booking["slot_id"]["minimum"], booking["slot_id"]["maximum"]) == (1, 2**63 - 1)
    assert (booking["dose_number"]["minimum"], booking["dose_number"]["maximum"]) == (1, 20)


def test_registration_documents_its_email_password_name_and_date_of_birth(document) -> None:
    registration = _schema(document, "RegistrationIn")["properties"]
    assert registration["email"]["format"] == "email"
    assert registration["email"]["minLength"] > 0
    assert registration["password"]["minLength"] == 8
    assert registration["phone"]["maxLength"] == 32
    assert re.match(registration["full_name"]["pattern"], "José Pérez")
    assert not re.match(registration["full_name"]["pattern"], "Ana\u202ezeréP")
    assert "past" in registration["date_of_birth"]["description"]


def test_exactly_one_of_token_or_reference_is_documented(document) -> None:
    presented = _schema(document, "PresentedIn")
    assert [branch["required"] for branch in presented["oneOf"]] == [["token"], ["reference"]]
