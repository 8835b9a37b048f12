"""Pages while the database is out of reach: a 503 page saying to try again, with
Retry-After, never Django's 500, and nothing half-written. What counts as out of reach
(vaxbook.core.database.is_unavailable): a lost or locked database, not a bug."""

from contextlib import ExitStack

import pytest
from django.conf import settings
from django.contrib.sessions.backends.db import SessionStore
from django.contrib.sessions.exceptions import SessionInterrupted
from django.contrib.sessions.middleware import SessionMiddleware
from django.db import DatabaseError, OperationalError, connection, transaction
from django.http import HttpRequest, HttpResponse
from django.test import Client
from django.utils import translation

from tests.factories import CitizenFactory, SlotFactory
from tests.helpers import database_out_of_reach
from vaxbook.api.problems import RETRY_AFTER_UNAVAILABLE_S, bad_request, server_error
from vaxbook.bookings.models import Appointment
from vaxbook.centres.models import Slot
from vaxbook.core.database import is_unavailable


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


@pytest.mark.django_db(transaction=True)
def test_a_session_the_database_could_not_save_is_a_503_not_a_400(rf) -> None:
    session = SessionStore()
    session["step"] = "1"
    session.create()
    outage = ExitStack()

    def view(request: HttpRequest) -> HttpResponse:
        request.session["step"] = "2"
        outage.enter_context(database_out_of_reach())  # after the view, before the save
        return HttpResponse("ok")

    request = rf.get("/book/1/")
    request.COOKIES[settings.SESSION_COOKIE_NAME] = session.session_key
    with outage, pytest.raises(SessionInterrupted) as interrupted:
        SessionMiddleware(view)(request)

    response = bad_request(request, interrupted.value)  # Django's handler400 gets it

    assert response.status_code == 503
    assert response["Retry-After"] == str(RETRY_AFTER_UNAVAILABLE_S)


@pytest.mark.django_db(transaction=True)
def test_a_lost_or_locked_database_is_out_of_reach() -> None:
    slot = SlotFactory()
    with database_out_of_reach(), pytest.raises(DatabaseError) as failed, transaction.atomic():
        Slot.objects.filter(pk=slot.pk).update(capacity=99)

    assert is_unavailable(failed.value)


@pytest.mark.django_db
def test_a_malformed_statement_is_a_bug_not_an_outage() -> None:
    # SQLite calls it an OperationalError, PostgreSQL a ProgrammingError: a 500 either way.
    with pytest.raises(DatabaseError) as failed, connection.cursor() as cursor:
        cursor.execute("SELEC 1")

    assert not is_unavailable(failed.value)
    assert not is_unavailable(RuntimeError("a bug"))
