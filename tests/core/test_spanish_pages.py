"""The citizen pages and the booking refusals in Spanish, once the language is switched."""

import pytest
from django.test import Client

from tests.factories import CentreFactory, CitizenFactory, SlotFactory
from tests.helpers import in_spanish
from vaxbook.accounts.models import Citizen
from vaxbook.bookings.models import Appointment


@pytest.fixture
def spanish(client: Client) -> Client:
    return in_spanish(client)


@pytest.fixture
def citizen(spanish: Client) -> Citizen:
    person: Citizen = CitizenFactory()
    spanish.force_login(person.user)
    return person


def page(client: Client, url: str) -> str:
    response = client.get(url)
    assert response.status_code == 200
    return response.content.decode()


@pytest.mark.django_db
def test_start_page_in_spanish(spanish: Client) -> None:
    CentreFactory()
    html = page(spanish, "/")
    assert '<html lang="es">' in html
    assert "Pida cita para vacunarse contra la COVID-19" in html
    assert "Buscar un centro y pedir cita" in html
    assert "1 centro de vacunación acepta reservas." in html
    assert "Iniciar sesión" in html
    assert "Cambiar idioma" in html
    for english in ("Book a COVID-19 vaccination", "Where we are", "Find a centre and book"):
        assert english not in html


@pytest.mark.django_db
def test_accept_language_header_is_enough(client: Client) -> None:
    html = client.get("/", HTTP_ACCEPT_LANGUAGE="es").content.decode()
    assert "Dónde estamos" in html
    assert "Where we are" not in html


@pytest.mark.django_db
def test_centre_search_in_spanish(spanish: Client) -> None:
    SlotFactory()
    html = page(spanish, "/centres/")
    assert "Buscar un centro de vacunación" in html
    assert "Localidad, código postal o nombre del centro" in html
    assert "1 centro" in html
    assert "Próxima hora libre:" in html
    for english in ("Find a vaccination centre", "Next free time:", "Any vaccine"):
        assert english not in html


@pytest.mark.django_db
def test_centre_day_in_spanish(spanish: Client) -> None:
    slot = SlotFactory()
    html = page(spanish, f"/centres/{slot.centre.pk}/?date={slot.local_date.isoformat()}")
    assert "Las horas son las locales del centro (hora peninsular)." in html
    assert "Plazas libres" in html
    assert "Reservar" in html
    assert "Día siguiente" in html
    for english in ("Places left", "Next day", "Times are local to the centre"):
        assert english not in html


@pytest.mark.django_db
def test_sign_in_page_in_spanish(spanish: Client) -> None:
    html = page(spanish, "/sign-in/")
    assert "<h1>Iniciar sesión</h1>" in html
    assert "Ir al contenido principal" in html
    assert "<h1>Sign in</h1>" not in html


@pytest.mark.django_db
def test_appointment_page_in_spanish(spanish: Client, citizen: Citizen) -> None:
    slot = SlotFactory()
    response = spanish.post(f"/book/{slot.pk}/", {"dose_number": "1"})
    assert response.status_code == 302
    appointment = Appointment.objects.get(person=citizen)
    assert response["Location"] == f"/appointments/{appointment.pk}/"

    html = page(spanish, f"/appointments/{appointment.pk}/")
    assert "<h1>Su cita de vacunación</h1>" in html
    assert "Referencia de la reserva" in html
    assert "Reservada" in html
    assert "dosis 1" in html
    assert "Qué debe llevar" in html
    assert "Cancelar la cita" in html
    assert "Sus citas" in html
    for english in ("Your vaccination appointment", "Booking reference", "What to bring"):
        assert english not in html

    html = page(spanish, "/appointments/")
    assert "<h1>Sus citas</h1>" in html
    assert "Dosis 1" in html


@pytest.mark.django_db
def test_check_your_appointment_in_spanish(spanish: Client, citizen: Citizen) -> None:
    slot = SlotFactory()
    html = page(spanish, f"/book/{slot.pk}/")
    assert "<h1>Revise su cita</h1>" in html
    assert "¿Para qué dosis es esta cita?" in html
    assert "Confirmar y reservar" in html
    assert "Check your appointment" not in html


@pytest.mark.django_db
def test_booking_refusal_in_spanish(spanish: Client, citizen: Citizen) -> None:
    slot = SlotFactory()
    response = spanish.post(f"/book/{slot.pk}/", {"dose_number": "2"})
    assert response.status_code == 409
    html = response.content.decode()
    assert "<h1>No se ha podido reservar esta cita</h1>" in html
    assert "Antes de reservar la dosis 2, debe reservar la dosis 1." in html
    assert "Book dose 1 before dose 2." not in html
    assert "This appointment could not be booked" not in html
    assert not Appointment.objects.filter(person=citizen).exists()


@pytest.mark.django_db
def test_check_before_you_start_in_spanish(spanish: Client) -> None:
    html = page(spanish, "/")
    assert "Compruébelo antes de empezar" in html
    assert "¿Qué dosis quiere reservar?" in html
    assert "Quién puede pedir cita" in html
    response = spanish.post("/check/", {"date_of_birth": "2999-01-01", "dose_number": "1"})
    error = response.content.decode()
    assert "<title>Error: Compruébelo antes de empezar" in error
    assert "Hay un problema" in error


@pytest.mark.django_db
def test_account_pages_in_spanish(spanish: Client, citizen: Citizen) -> None:
    assert "<h1>Su cuenta</h1>" in page(spanish, "/account/")
    details = page(spanish, "/account/details/")
    assert "Su idioma" in details
    assert "Para estas páginas, desde donde inicie sesión" in details
    assert "<h1>Cambiar su contraseña</h1>" in page(spanish, "/account/password/")


@pytest.mark.django_db
def test_password_reset_in_spanish(spanish: Client) -> None:
    assert "¿Ha olvidado su contraseña?" in page(spanish, "/sign-in/")
    assert "<h1>Restablecer su contraseña</h1>" in page(spanish, "/password-reset/")


@pytest.mark.django_db
def test_centre_search_with_distances_in_spanish(spanish: Client) -> None:
    SlotFactory()
    html = page(spanish, "/centres/?near=40.42,-3.70")
    assert "Distancias desde su ubicación." in html
    assert "a 0,3 km" in html  # the decimal comma
    assert "Usar mi ubicación" in html


@pytest.mark.django_db
def test_a_place_taken_meanwhile_in_spanish(spanish: Client, citizen: Citizen) -> None:
    full = SlotFactory(capacity=1, booked=1)
    SlotFactory(centre=full.centre, starts_at=full.starts_at.replace(hour=12))
    html = spanish.post(f"/book/{full.pk}/", {"dose_number": "1"}).content.decode()
    assert "Se acaban de reservar todas las plazas de esta franja horaria." in html
    assert "Plazas libres cerca" in html
    assert "Reservar esta hora" in html


@pytest.mark.django_db
def test_not_found_page_in_spanish(spanish: Client) -> None:
    response = spanish.get("/appointments/not-a-page/")
    assert response.status_code == 404
    assert "<h1>Página no encontrada</h1>" in response.content.decode()
