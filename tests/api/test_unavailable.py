"""A database out of reach is a 503 problem with Retry-After, never a 500, and books
nothing: a client may try again, and a keyed booking is not made twice."""

import json
from unittest import mock

import pytest
from django.db import OperationalError, connection

from tests.api.conftest import Api
from tests.api.test_bad_input import PROBLEM, assert_problem, nothing_written
from tests.api.test_idempotency import the_answer
from tests.helpers import database_out_of_reach
from vaxbook.api.problems import RETRY_AFTER_UNAVAILABLE_S, server_error
from vaxbook.bookings.models import Appointment
from vaxbook.centres.models import Slot


@pytest.mark.django_db(transaction=True)
def test_a_booking_while_the_database_is_out_of_reach_is_a_503_that_books_nothing(
    citizen: Api, slot: Slot, caplog
) -> None:
    with database_out_of_reach():
        response = citizen.post(
            "/appointments",
            {"slot_id": slot.pk, "dose_number": 1},
            headers={"Idempotency-Key": "try-1"},
        )

    assert_problem(response, 503, "service_unavailable")
    assert response.headers["Retry-After"] == str(RETRY_AFTER_UNAVAILABLE_S)
    assert "Idempotency-Key" in response.body["detail"]
    assert nothing_written(slot)
    assert any("Database unavailable" in record.getMessage() for record in caplog.records)


@pytest.mark.django_db(transaction=True)
def test_the_same_keyed_booking_goes_through_once_the_database_is_back(
    citizen: Api, slot: Slot
) -> None:
    body = {"slot_id": slot.pk, "dose_number": 1}
    with database_out_of_reach():
        refused = citizen.post("/appointments", body, headers={"Idempotency-Key": "try-2"})

    booked = citizen.post("/appointments", body, headers={"Idempotency-Key": "try-2"})
    again = citizen.post("/appointments", body, headers={"Idempotency-Key": "try-2"})

    assert refused.status == 503
    assert booked.status == 201
    assert again.status == 201
    # The replay is the same answer; its confirmation is signed again (docs/api.md).
    assert the_answer(again) == the_answer(booked)
    assert Appointment.objects.count() == 1


@pytest.mark.django_db
def test_a_statement_the_database_cannot_parse_stays_a_500(citizen: Api, slot: Slot) -> None:
    def broken(**kwargs):
        with connection.cursor() as cursor:
            cursor.execute("SELEC 1")  # SQLite's OperationalError: a bug all the same

    with mock.patch("vaxbook.bookings.services.book_appointment", broken):
        response = citizen.post("/appointments", {"slot_id": slot.pk, "dose_number": 1})

    assert_problem(response, 500, "internal_error")
    assert "Retry-After" not in response.headers


@pytest.mark.django_db
@pytest.mark.parametrize("feed", ["locations", "schedules", "slots"])
def test_a_smart_feed_file_while_the_database_is_out_of_reach_is_a_503_problem(
    anonymous: Api, slot: Slot, feed: str
) -> None:
    # The file is streamed: its first line is produced in the view, so the failure is
    # answered like any other, not with the server's own error page mid-response.
    with mock.patch(
        "django.db.backends.utils.CursorWrapper.execute",
        side_effect=OperationalError("connection refused"),
    ):
        response = anonymous.get(f"/smart-scheduling/{feed}.ndjson")

    assert_problem(response, 503, "service_unavailable")


def test_djangos_own_500_for_a_database_error_under_the_api_is_a_503_problem(rf) -> None:
    try:
        raise OperationalError("connection refused")
    except OperationalError:
        response = server_error(rf.get("/api/v1/appointments"))

    assert response.status_code == 503
    assert response["Content-Type"] == PROBLEM
    assert response["Retry-After"] == str(RETRY_AFTER_UNAVAILABLE_S)
    assert json.loads(response.content)["code"] == "service_unavailable"


def test_every_operation_documents_the_503(anonymous: Api) -> None:
    document = anonymous.get("/openapi.json").body
    for path, operations in document["paths"].items():
        for method, operation in operations.items():
            unavailable = operation["responses"].get("503")
            assert unavailable, f"{method.upper()} {path}"
            assert "service_unavailable" in unavailable["description"]
            assert "Retry-After" in unavailable["headers"]
            assert PROBLEM in unavailable["content"]
