"""Schemathesis against the live OpenAPI document: requests generated from the document
(valid ones, and invalid ones) are sent through the WSGI application; every answer must be
no 5xx, a documented status, the documented content type and headers, and a body matching
the documented schema. (Not checked: that every invalid request is refused. Unknown query
parameters are ignored, as on the web.)

Bounded (EXAMPLES per operation and mode, derandomised) so the whole run stays well under a
minute in `make test`.
"""

from collections.abc import Callable, Iterator

import pytest
import schemathesis
from django.core.handlers.wsgi import WSGIHandler
from django.core.signals import request_finished, request_started
from django.core.wsgi import get_wsgi_application
from django.db import close_old_connections
from hypothesis import HealthCheck, given, settings
from schemathesis import GenerationMode
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_headers_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from tests.api.conftest import token_for
from tests.factories import SlotFactory, staff_at
from vaxbook.bookings import services

pytestmark = pytest.mark.django_db

EXAMPLES = 10
CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_headers_conformance,
    response_schema_conformance,
]


@pytest.fixture
def wsgi_app_in_the_test_transaction() -> Iterator[WSGIHandler]:
    # Django closes the database connection when a request ends; the test's transaction
    # lives on that connection. Django's test client keeps it open the same way.
    request_started.disconnect(close_old_connections)
    request_finished.disconnect(close_old_connections)
    try:
        yield get_wsgi_application()
    finally:
        request_started.connect(close_old_connections)
        request_finished.connect(close_old_connections)


@pytest.fixture
def schema(settings, wsgi_app_in_the_test_transaction: WSGIHandler):
    settings.ALLOWED_HOSTS = ["localhost", "testserver"]
    # Limits are tested on their own: here they would only hide the endpoints behind 429s.
    settings.RATE_LIMITS = dict.fromkeys(settings.RATE_LIMITS, "off")
    return schemathesis.openapi.from_wsgi("/api/v1/openapi.json", wsgi_app_in_the_test_transaction)


@pytest.fixture
def callers(person, centre):
    """A token for each operation: staff for the staff endpoints, a citizen otherwise; the
    sign-out gets a fresh token each time, so it does not sign the others out."""
    citizen = token_for(person.user)
    staff = token_for(staff_at(centre))

    def token_for_operation(method: str, path: str, tags: list[str]) -> Callable[[], str]:
        if (method, path) == ("DELETE", "/api/v1/auth/token"):
            return lambda: token_for(person.user)
        return (lambda: staff) if "staff" in tags else (lambda: citizen)

    return token_for_operation


def test_the_api_answers_as_its_document_says(schema, callers, person, centre) -> None:
    slot = SlotFactory(centre=centre)
    appointment = services.book_appointment(person=person, slot_id=slot.pk, dose_number=1)
    real_ids = {"appointment_id": str(appointment.pk), "centre_id": centre.pk}
    operations = [result.ok() for result in schema.get_all_operations()]
    assert len(operations) == 33

    for operation in operations:
        token = callers(operation.method.upper(), operation.path, operation.tags or [])
        known = {name: value for name, value in real_ids.items() if f"{{{name}}}" in operation.path}
        for mode in (GenerationMode.POSITIVE, GenerationMode.NEGATIVE):
            strategies = [operation.as_strategy(generation_mode=mode)]
            if known and mode == GenerationMode.POSITIVE:
                # Also the real appointment and centre, not only ids that do not exist.
                strategies.append(operation.as_strategy(path_parameters=known))
            for strategy in strategies:
                _exercise(strategy, token)


def _exercise(strategy, token: Callable[[], str]) -> None:
    @settings(
        max_examples=EXAMPLES,
        deadline=None,
        derandomize=True,
        database=None,
        suppress_health_check=list(HealthCheck),
    )
    @given(case=strategy)
    def run(case) -> None:
        headers = {"Authorization": f"Bearer {token()}"}
        response = case.call(headers=headers)
        case.validate_response(response, checks=CHECKS, headers=headers)

    run()
