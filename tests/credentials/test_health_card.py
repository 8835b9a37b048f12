"""The vaccination certificate, checked with libraries that are not ours: jwcrypto verifies
the JWS against the served key set, zlib inflates, zxing-cpp reads the QR code."""

import datetime as dt
import io
import json
import zlib

import pytest
import time_machine
import zxingcpp
from joserfc import jws as joserfc_jws
from joserfc.jwk import ECKey
from jwcrypto import jwk as jwcrypto_jwk
from jwcrypto import jws as jwcrypto_jws
from PIL import Image

from tests.credentials.health_cards import vaccinated
from tests.factories import SlotFactory, tomorrow_at
from tests.fhir_models import assert_valid_fhir
from vaxbook.credentials import health_card, keys
from vaxbook.credentials.qr import certificate_qr_png

pytestmark = pytest.mark.django_db

JWKS = "/.well-known/jwks.json"


def verified_payload(client, token: str) -> tuple[dict, dict]:
    """The header and the inflated payload of `token`, verified by jwcrypto against the
    key set the site serves."""
    key_set = jwcrypto_jwk.JWKSet.from_json(client.get(JWKS).content)
    signed = jwcrypto_jws.JWS()
    signed.deserialize(token)
    signed.verify(key_set.get_key(signed.jose_header["kid"]), alg="ES256")
    return signed.jose_header, json.loads(zlib.decompress(signed.payload, wbits=-15))


def given_on(appointment) -> str:
    assert appointment.vaccinated_at is not None
    return str(appointment.slot.centre.local_date(appointment.vaccinated_at).isoformat())


def test_certificate_verifies_against_the_served_key_set_and_holds_the_bundle(client) -> None:
    first = vaccinated(SlotFactory(centre__name="Centro de Salud Norte"), lot="EW0182")
    second = vaccinated(
        SlotFactory(centre=first.slot.centre, starts_at=tomorrow_at(11)),
        person=first.person,
        lot="FA7484",
    )
    card = health_card.own_card(user=first.person.user)

    header, payload = verified_payload(client, card.jws)

    assert header == {"alg": "ES256", "zip": "DEF", "kid": keys.active_kid()}
    assert payload["iss"] == "https://vaccination.example.org"
    assert isinstance(payload["nbf"], int)
    assert payload["vc"]["type"][0] == "https://smarthealth.cards#health-card"
    assert "https://smarthealth.cards#immunization" in payload["vc"]["type"]
    subject = payload["vc"]["credentialSubject"]
    assert subject["fhirVersion"] == "4.0.1"
    bundle = subject["fhirBundle"]
    assert_valid_fhir(bundle)
    assert bundle["resourceType"] == "Bundle"
    assert bundle["type"] == "collection"
    assert [entry["fullUrl"] for entry in bundle["entry"]] == [
        "resource:0",
        "resource:1",
        "resource:2",
    ]
    patient = bundle["entry"][0]["resource"]
    assert patient == {
        "resourceType": "Patient",
        "name": [{"text": "María José Núñez Ortiz"}],
        "birthDate": "1961-02-28",
    }
    doses = [entry["resource"] for entry in bundle["entry"][1:]]
    for dose, appointment, lot in ((doses[0], first, "EW0182"), (doses[1], second, "FA7484")):
        assert dose == {
            "resourceType": "Immunization",
            "status": "completed",
            "vaccineCode": {"coding": [{"system": "http://hl7.org/fhir/sid/cvx", "code": "208"}]},
            "patient": {"reference": "resource:0"},
            "occurrenceDateTime": given_on(appointment),
            "performer": [{"actor": {"display": "Centro de Salud Norte"}}],
            "lotNumber": lot,
        }


def test_bundle_carries_nothing_the_minimisation_profile_leaves_out(client) -> None:
    appointment = vaccinated(SlotFactory())
    card = health_card.own_card(user=appointment.person.user)

    _, payload = verified_payload(client, card.jws)

    text = json.dumps(payload)
    for resource in (
        entry["resource"] for entry in payload["vc"]["credentialSubject"]["fhirBundle"]["entry"]
    ):
        assert not {"id", "meta", "text", "identifier", "telecom", "address"} & set(resource)
    assert appointment.person.user.email not in text
    assert appointment.reference not in text


def test_one_dose_certificate_holds_that_dose_only(client) -> None:
    first = vaccinated(SlotFactory(), lot="FIRST1")
    vaccinated(SlotFactory(), person=first.person, lot="SECOND2")

    card = health_card.own_card(user=first.person.user, appointment_id=first.pk)

    _, payload = verified_payload(client, card.jws)
    lots = [
        entry["resource"].get("lotNumber")
        for entry in payload["vc"]["credentialSubject"]["fhirBundle"]["entry"]
    ]
    assert lots == [None, "FIRST1"]


def test_a_person_without_a_recorded_dose_has_no_certificate() -> None:
    from tests.credentials.conftest import book

    appointment = book(SlotFactory())

    with pytest.raises(health_card.CertificateNotFound):
        health_card.own_card(user=appointment.person.user)


def test_qr_code_reads_back_as_the_numeric_shc_string_of_the_jws() -> None:
    appointment = vaccinated(SlotFactory())
    card = health_card.own_card(user=appointment.person.user)

    [barcode] = zxingcpp.read_barcodes(Image.open(io.BytesIO(certificate_qr_png(card.qr_text))))

    assert barcode.text.startswith("shc:/")
    digits = barcode.text.removeprefix("shc:/")
    assert "".join(chr(int(digits[i : i + 2]) + 45) for i in range(0, len(digits), 2)) == card.jws
    assert barcode.ec_level == "L"


def test_the_largest_certificate_fits_one_qr_code_only_in_numeric_mode() -> None:
    # Four doses with the longest lot numbers at a centre with a long name, for a person
    # with a long name: the card must still be one QR code of version 22 or less.
    slot = SlotFactory(centre__name="Hospital Universitario " + "X" * 120)
    first = vaccinated(slot, lot="L" * 64, full_name="Ñ" * 120)
    for hour in (11, 12, 13):
        later = SlotFactory(centre=slot.centre, starts_at=tomorrow_at(hour))
        vaccinated(later, person=first.person, lot="L" * 64)
    card = health_card.own_card(user=first.person.user)
    assert len(card.doses) == 4
    assert len(card.jws) <= 1195

    image = Image.open(io.BytesIO(certificate_qr_png(card.qr_text)))
    [barcode] = zxingcpp.read_barcodes(image)
    assert barcode.text == card.qr_text
    # 5 px a module and a quiet zone of 4 modules each side: the version from the width.
    modules = image.width // 5 - 8
    version = (modules - 17) // 4
    # Version 22 at L holds 1091 bytes: the 2,395 characters fit only as digits.
    assert version <= 22
    assert len(card.qr_text) > 1091


def test_numeric_string_and_jws_both_read_as_genuine() -> None:
    appointment = vaccinated(SlotFactory(), lot="AB1234")
    card = health_card.own_card(user=appointment.person.user)

    for text in (card.qr_text, card.jws, f"  {card.qr_text}\n"):
        reading = health_card.read(text)
        assert reading.verdict == health_card.Verdict.GENUINE
        assert reading.holder_name == "María José Núñez Ortiz"
        assert reading.holder_date_of_birth == dt.date(1961, 2, 28)
        assert [dose.lot_number for dose in reading.doses] == ["AB1234"]
        assert reading.doses[0].cvx == "208"


def test_a_tampered_card_is_refused_and_says_nothing_of_its_claims() -> None:
    appointment = vaccinated(SlotFactory())
    card = health_card.own_card(user=appointment.person.user)
    header, payload, signature = card.jws.split(".")
    altered = payload[:-4] + ("AAAA" if payload[-4:] != "AAAA" else "BBBB")

    reading = health_card.read(f"{header}.{altered}.{signature}")

    assert reading.verdict == health_card.Verdict.INVALID_SIGNATURE
    assert reading.holder_name == ""
    assert reading.doses == ()


def test_a_card_of_another_issuer_is_not_ours() -> None:
    foreign_key = ECKey.generate_key("P-256", private=True)
    foreign = joserfc_jws.serialize_compact(
        {"alg": "ES256", "zip": "DEF", "kid": foreign_key.thumbprint()},
        health_card.deflate(b'{"iss":"https://elsewhere.example"}'),
        foreign_key,
        registry=health_card.JWS_REGISTRY,
    )

    assert health_card.read(foreign).verdict == health_card.Verdict.UNKNOWN_ISSUER
    assert health_card.read(health_card.to_numeric(foreign)).verdict == (
        health_card.Verdict.UNKNOWN_ISSUER
    )


@pytest.mark.parametrize(
    "text",
    [
        "",
        "shc:/",
        "shc:/1",
        "shc:/99999999",
        "shc:/12ab",
        "a.b.c",
        "x" * 10_000,
        "shc:/" + "9" * 5000,
        "ñ",
    ],
)
def test_junk_is_malformed_never_an_error(text) -> None:
    assert health_card.read(text).verdict == health_card.Verdict.MALFORMED


def test_a_card_survives_key_rotations_for_good_until_its_key_is_revoked(client) -> None:
    appointment = vaccinated(SlotFactory())
    before = health_card.own_card(user=appointment.person.user)
    signed_by = keys.active_kid()
    keys.rotate(now=dt.datetime.now(tz=dt.UTC))
    # Years of yearly rotations later, a saved card still verifies.
    with time_machine.travel(dt.datetime.now(tz=dt.UTC) + dt.timedelta(days=3650)):
        keys.rotate(now=dt.datetime.now(tz=dt.UTC))
        verified_payload(client, before.jws)
        assert health_card.read(before.qr_text).is_genuine

    keys.revoke(signed_by)

    assert health_card.read(before.qr_text).verdict == health_card.Verdict.UNKNOWN_ISSUER


def test_a_dose_without_a_cvx_code_gets_a_clear_refusal_not_a_bad_certificate() -> None:
    appointment = vaccinated(SlotFactory(vaccine__cvx_code=""))

    with pytest.raises(health_card.CertificateIncomplete):
        health_card.own_card(user=appointment.person.user)
