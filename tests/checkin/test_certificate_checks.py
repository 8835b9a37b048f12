"""A vaccination certificate presented to staff: the scan page and POST /validations say
whose it is, which doses, and whether the signature is ours and intact."""

import json

import pytest
from joserfc import jws as joserfc_jws
from joserfc.jwk import ECKey

from tests.api.conftest import Api, token_for
from tests.credentials.health_cards import vaccinated
from tests.factories import CentreFactory, SlotFactory, staff_at, tomorrow_at
from vaxbook.audit.models import AuditEvent
from vaxbook.bookings.models import AppointmentStatus
from vaxbook.checkin import validation
from vaxbook.credentials import health_card

pytestmark = pytest.mark.django_db


@pytest.fixture
def card(centre) -> health_card.HealthCard:
    other_centre = CentreFactory(name="Centro de Salud Sur")
    first = vaccinated(SlotFactory(centre=other_centre), lot="EW0182", full_name="Ada Lovelace")
    vaccinated(SlotFactory(centre=other_centre, starts_at=tomorrow_at(11)), person=first.person)
    return health_card.own_card(user=first.person.user)


def tampered(token: str) -> str:
    header, payload, signature = token.split(".")
    return f"{header}.{payload[:-3]}{'A' if payload[-3] != 'A' else 'B'}{payload[-2:]}.{signature}"


def foreign(token: str) -> str:
    key = ECKey.generate_key("P-256", private=True)
    payload = joserfc_jws.extract_compact(token.encode(), registry=health_card.JWS_REGISTRY).payload
    return joserfc_jws.serialize_compact(
        {"alg": "ES256", "zip": "DEF", "kid": key.thumbprint()},
        payload,
        key,
        registry=health_card.JWS_REGISTRY,
    )


# --- the branch in vaxbook.checkin.validation -------------------------------------------


def test_a_genuine_certificate_says_whose_and_which_doses(receptionist, centre, card) -> None:
    check = validation.check_certificate(
        staff=receptionist, centre_id=centre.pk, certificate=card.qr_text
    )

    assert check.reading.verdict == health_card.Verdict.GENUINE
    assert check.reading.holder_name == "Ada Lovelace"
    assert len(check.reading.doses) == 2
    assert check.vaccine_names == {"208": "Comirnaty"}
    [row] = AuditEvent.objects.filter(outcome="certificate_genuine")
    assert row.actor == receptionist
    assert "Ada Lovelace" not in json.dumps(row.detail)


def test_checking_a_certificate_changes_no_appointment(receptionist, centre, card) -> None:
    validation.check_certificate(staff=receptionist, centre_id=centre.pk, certificate=card.jws)

    assert {dose.appointment.status for dose in card.doses} == {AppointmentStatus.VACCINATED}


def test_staff_of_another_centre_may_not_check_here(card, centre) -> None:
    outsider = staff_at(CentreFactory())

    with pytest.raises(validation.NotPermitted):
        validation.check_certificate(staff=outsider, centre_id=centre.pk, certificate=card.jws)


# --- the staff page --------------------------------------------------------------------------


def test_scan_page_shows_a_genuine_certificate(desk, centre, card) -> None:
    response = desk.post(f"/staff/centres/{centre.pk}/validate/", {"presented": card.qr_text})

    page = response.content.decode()
    assert response.status_code == 200
    assert 'data-outcome="certificate_genuine"' in page
    assert "Genuine vaccination certificate" in page
    assert "Ada Lovelace" in page
    assert "EW0182" in page
    assert "Centro de Salud Sur" in page
    assert "check-in-form" not in page


@pytest.mark.parametrize(
    ("make", "outcome", "words"),
    [
        (tampered, "certificate_invalid_signature", "altered"),
        (foreign, "certificate_unknown_issuer", "Not one of our certificates"),
    ],
)
def test_scan_page_refuses_an_altered_or_foreign_certificate(
    desk, centre, card, make, outcome, words
) -> None:
    response = desk.post(f"/staff/centres/{centre.pk}/validate/", {"presented": make(card.jws)})

    page = response.content.decode()
    assert f'data-outcome="{outcome}"' in page
    assert words in page
    assert "Ada Lovelace" not in page


def test_scan_page_in_spanish(desk, centre, card) -> None:
    from tests.helpers import in_spanish

    page = (
        in_spanish(desk)
        .post(f"/staff/centres/{centre.pk}/validate/", {"presented": card.qr_text})
        .content.decode()
    )

    assert "Certificado de vacunación auténtico" in page


# --- POST /api/v1/validations ---------------------------------------------------------------


def test_api_answers_a_certificate_with_its_holder_and_doses(receptionist, centre, card) -> None:
    staff = Api(token_for(receptionist))

    response = staff.post("/validations", {"token": card.qr_text, "centre_id": centre.pk})

    assert response.status == 200
    assert response.body["outcome"] == "certificate"
    assert response.body["appointment"] is None
    certificate = response.body["certificate"]
    assert certificate["verdict"] == "genuine"
    assert certificate["genuine"] is True
    assert certificate["holder"] == {"full_name": "Ada Lovelace", "date_of_birth": "1961-02-28"}
    assert [dose["vaccine"] for dose in certificate["doses"]] == ["Comirnaty", "Comirnaty"]
    assert certificate["doses"][0]["lot_number"] == "EW0182"
    assert certificate["doses"][0]["performer"] == "Centro de Salud Sur"


@pytest.mark.parametrize(
    ("make", "verdict"), [(tampered, "invalid_signature"), (foreign, "unknown_issuer")]
)
def test_api_says_an_altered_or_foreign_certificate_is_not_ours(
    receptionist, centre, card, make, verdict
) -> None:
    response = Api(token_for(receptionist)).post(
        "/validations", {"token": make(card.jws), "centre_id": centre.pk}
    )

    assert response.status == 200
    assert response.body["certificate"]["verdict"] == verdict
    assert response.body["certificate"]["genuine"] is False
    assert response.body["certificate"]["holder"] is None
    assert response.body["certificate"]["doses"] == []


def test_api_a_broken_shc_string_is_malformed_not_a_500(receptionist, centre) -> None:
    response = Api(token_for(receptionist)).post(
        "/validations", {"token": "shc:/12345", "centre_id": centre.pk}
    )

    assert response.status == 200
    assert response.body["certificate"]["verdict"] == "malformed"


def test_api_refuses_a_certificate_check_at_a_centre_the_staff_do_not_work_at(card, centre) -> None:
    outsider = staff_at(CentreFactory())

    response = Api(token_for(outsider)).post(
        "/validations", {"token": card.jws, "centre_id": centre.pk}
    )

    assert response.status == 403
    assert "Ada Lovelace" not in response.raw.decode()


def test_a_certificate_checks_nobody_in(receptionist, centre, card) -> None:
    response = Api(token_for(receptionist)).post(
        "/checkins", {"token": card.jws, "centre_id": centre.pk}
    )

    assert response.body["outcome"] == "invalid_signature"
    assert {dose.appointment.status for dose in card.doses} == {AppointmentStatus.VACCINATED}
