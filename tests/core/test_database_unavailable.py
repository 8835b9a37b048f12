"""Pages while the database is out of reach: a 503 page saying to try again, with
Retry-After, never Django's 500, and nothing half-written."""

import pytest
from django.db import OperationalError
from django.test import Client
from django.utils import translation

from tests.factories import CitizenFactory, SlotFactory
from tests.helpers import database_out_of_reach
from vaxbook.api.problems import RETRY_AFTER_UNAVAILABLE_S, server_error
from vaxbook.bookings.models import Appointment


@pytest.mark.django_db(transaction=True)
def test_booking_while_the_database_is_out_of_reach_shows_a_503_page_and_books_nothing() -> None:
    person = CitizenFactory()
    slot = SlotFactory()
    client = Client(raise_request_exception=False)
    client.force_login(person.user)

    with database_out_of_reach():
        response = client.post(f"/book/{slot.pk}/", {"dose_number": "1"})

    assert response.status_code == 503
    assert response["Retry-After"] == str(RETRY_AFTER_UNAVAILABLE_S)
    page = response.content.decode()
    assert "unavailable for a moment" in page
    assert f"try again in {RETRY_AFTER_UNAVAILABLE_S} seconds" in page
    assert not Appointment.objects.exists()
    slot.refresh_from_db()
    assert slot.booked == 0


def test_the_503_page_speaks_the_language_in_use(rf) -> None:
    with translation.override("es"):
        try:
            raise OperationalError("database is locked")
        except OperationalError:
            response = server_error(rf.get("/book/1/"))

    page = response.content.decode()
    assert response.status_code == 503
    assert 'lang="es"' in page
    assert "el servicio no está disponible por un momento" in page
    assert f"dentro de {RETRY_AFTER_UNAVAILABLE_S} segundos" in page


def test_other_failures_stay_djangos_500_page(rf) -> None:
    try:
        raise RuntimeError("a bug")
    except RuntimeError:
        response = server_error(rf.get("/"))

    assert response.status_code == 500
    assert "Retry-After" not in response
