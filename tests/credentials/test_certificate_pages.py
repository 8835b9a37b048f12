"""The person's certificate on their pages: QR code, printable page, the file download."""

import io
import json

import pytest
import zxingcpp
from django.test import Client
from PIL import Image

from tests.credentials.conftest import book
from tests.credentials.health_cards import vaccinated
from tests.factories import SlotFactory, tomorrow_at
from tests.helpers import in_spanish
from vaxbook.credentials import health_card

pytestmark = pytest.mark.django_db


def signed_in(appointment) -> Client:
    client = Client()
    client.force_login(appointment.person.user)
    return client


def test_account_page_shows_the_certificate_qr_once_a_dose_is_recorded() -> None:
    appointment = book(SlotFactory())
    client = signed_in(appointment)
    assert "certificate-qr" not in client.get("/account/").content.decode()

    vaccinated(
        SlotFactory(centre=appointment.slot.centre, starts_at=tomorrow_at(11)),
        person=appointment.person,
    )
    page = client.get("/account/").content.decode()

    assert 'class="certificate-qr"' in page
    assert "/certificate/vaccination.smart-health-card" in page


def test_appointment_page_shows_the_certificate_of_its_dose() -> None:
    appointment = vaccinated(SlotFactory())

    page = signed_in(appointment).get(f"/appointments/{appointment.pk}/").content.decode()

    assert 'class="certificate-qr"' in page
    assert f"/appointments/{appointment.pk}/vaccination.smart-health-card" in page


def test_certificate_page_lists_the_doses_and_links_to_print_and_download() -> None:
    appointment = vaccinated(SlotFactory(centre__name="Centro de Salud Norte"), lot="EW0182")

    response = signed_in(appointment).get("/certificate/")

    page = response.content.decode()
    assert response.status_code == 200
    assert "private" in response["Cache-Control"]
    assert "EW0182" in page
    assert "Centro de Salud Norte" in page
    assert "/certificate/print/" in page
    printable = signed_in(appointment).get("/certificate/print/").content.decode()
    assert "María José Núñez Ortiz" in printable
    assert 'class="certificate-qr"' in printable


def test_certificate_page_before_any_dose_says_so() -> None:
    appointment = book(SlotFactory())

    page = signed_in(appointment).get("/certificate/").content.decode()

    assert "No dose has been recorded for you yet" in page


def test_file_download_is_a_smart_health_card_that_reads_as_genuine() -> None:
    appointment = vaccinated(SlotFactory())

    response = signed_in(appointment).get("/certificate/vaccination.smart-health-card")

    assert response.status_code == 200
    assert response["Content-Type"] == "application/smart-health-card"
    assert response["Content-Disposition"].startswith("attachment;")
    [jws] = json.loads(response.content)["verifiableCredential"]
    assert health_card.read(jws).is_genuine


def test_svg_qr_on_the_page_decodes_to_the_shc_text() -> None:
    # The page's QR and the PNG are drawn from the same code: decode the PNG of the page's
    # certificate and check it is a genuine card of this person.
    from vaxbook.credentials.qr import certificate_qr_png

    appointment = vaccinated(SlotFactory())
    card = health_card.own_card(user=appointment.person.user)
    [barcode] = zxingcpp.read_barcodes(Image.open(io.BytesIO(certificate_qr_png(card.qr_text))))
    reading = health_card.read(barcode.text)
    assert reading.is_genuine
    assert reading.holder_name == appointment.person.full_name


def test_another_persons_dose_file_is_404() -> None:
    mine = vaccinated(SlotFactory())
    theirs = vaccinated(
        SlotFactory(centre=mine.slot.centre, starts_at=tomorrow_at(11)), full_name="Someone Else"
    )

    response = signed_in(mine).get(f"/appointments/{theirs.pk}/vaccination.smart-health-card")

    assert response.status_code == 404
    assert b"Someone Else" not in response.content


def test_no_dose_means_no_file() -> None:
    appointment = book(SlotFactory())

    client = signed_in(appointment)
    assert client.get("/certificate/vaccination.smart-health-card").status_code == 404
    url = f"/appointments/{appointment.pk}/vaccination.smart-health-card"
    assert client.get(url).status_code == 404


def test_signed_out_visitors_are_sent_to_sign_in() -> None:
    response = Client().get("/certificate/")

    assert response.status_code == 302
    assert "/sign-in/" in response["Location"]


def test_certificate_page_in_spanish() -> None:
    appointment = vaccinated(SlotFactory())

    page = in_spanish(signed_in(appointment)).get("/certificate/").content.decode()

    assert "Su certificado de vacunación" in page
    assert "Dosis administradas" in page


def test_a_dose_without_a_cvx_code_is_explained_on_the_page() -> None:
    appointment = vaccinated(SlotFactory(vaccine__cvx_code=""))
    client = signed_in(appointment)

    page = client.get("/certificate/").content.decode()
    download = client.get("/certificate/vaccination.smart-health-card")

    assert "has no CVX code" in page
    assert 'class="certificate-qr"' not in page
    assert download.status_code == 302
    assert client.get("/account/").status_code == 200
