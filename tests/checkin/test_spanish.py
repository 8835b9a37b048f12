"""The staff pages of the day in Spanish: the day list, recording a dose, the end-of-day
no-shows, the validation outcomes and the audit log."""

import pytest
import time_machine
from django.test import Client

from tests.factories import SlotFactory
from tests.helpers import at, book, in_spanish
from tests.staff_clients import verified_client
from vaxbook.bookings import services
from vaxbook.bookings.models import Appointment

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def on_the_day():
    with time_machine.travel(at(12), tick=False):
        yield


@pytest.fixture
def checked_in(centre, receptionist) -> Appointment:
    booked = book(SlotFactory(centre=centre, starts_at=at(10)), full_name="Ada Lovelace")
    return services.check_in(appointment_id=booked.pk, staff=receptionist)


@pytest.fixture
def spanish_manager(manager) -> Client:
    return in_spanish(verified_client(manager))


def html(response) -> str:
    assert response.status_code == 200, response.status_code
    return response.content.decode()


def test_the_day_in_spanish(centre, checked_in, spanish_manager) -> None:
    page = html(spanish_manager.get(f"/staff/centres/{centre.pk}/day/"))

    assert '<html lang="es">' in page
    for words in (
        "Citas de hoy",
        "jueves",
        "Esperadas",
        "Llegada registrada, esperan su dosis",
        "Buscar por apellidos y fecha de nacimiento",
        "Registrar la dosis",
        "Registrada en el centro",
        "Registro de auditoría",
    ):
        assert words in page, words
    assert "Expected" not in page


def test_recording_a_dose_in_spanish(centre, checked_in, spanish_manager) -> None:
    url = f"/staff/centres/{centre.pk}/appointments/{checked_in.pk}/vaccination/"

    form = html(spanish_manager.get(url))
    refused = spanish_manager.post(url, {"lot_number": "", "injection_site": "elbow"})

    assert "Número de lote" in form
    assert "Brazo izquierdo" in form
    assert "Hora de administración" in form
    assert refused.status_code == 400
    assert "Escriba el número de lote impreso en el vial." in refused.content.decode()
    assert "Elija dónde se inyectó la dosis." in refused.content.decode()


def test_no_shows_and_the_audit_log_in_spanish(centre, spanish_manager) -> None:
    book(SlotFactory(centre=centre, starts_at=at(10)))

    confirm = html(spanish_manager.get(f"/staff/centres/{centre.pk}/day/no-shows/"))
    done = spanish_manager.post(f"/staff/centres/{centre.pk}/day/no-shows/", {"date": "2027-07-15"})
    log = html(spanish_manager.get(f"/staff/centres/{centre.pk}/audit/"))

    assert "Marcar no presentados" in confirm
    assert "Marcarlas como no presentadas" in confirm
    assert done.status_code == 302
    assert "1 cita marcada como no presentada." in html(spanish_manager.get(done["Location"]))
    assert "No presentado" in log
    assert "Nadie puede cambiar ni borrar estas entradas." in log


def test_validation_outcomes_in_spanish(centre, checked_in, spanish_manager) -> None:
    page = html(
        spanish_manager.post(
            f"/staff/centres/{centre.pk}/validate/", {"presented": checked_in.reference}
        )
    )
    unknown = html(
        spanish_manager.post(f"/staff/centres/{centre.pk}/validate/", {"presented": "ABC-DEF-GH2"})
    )

    assert "Llegada ya registrada" in page
    assert "No válida: referencia de la reserva desconocida" in unknown
