"""GET /certificates and /certificates/{id}: the person's own vaccination certificate."""

import json
import zlib

import pytest
from jwcrypto import jwk as jwcrypto_jwk
from jwcrypto import jws as jwcrypto_jws

from tests.api.conftest import Api
from tests.credentials.health_cards import vaccinated
from tests.factories import SlotFactory, tomorrow_at

pytestmark = pytest.mark.django_db


def bundle_of(jws: str, anonymous: Api) -> dict:
    key_set = jwcrypto_jwk.JWKSet.from_json(anonymous.client.get("/.well-known/jwks.json").content)
    signed = jwcrypto_jws.JWS()
    signed.deserialize(jws)
    signed.verify(key_set.get_key(signed.jose_header["kid"]), alg="ES256")
    payload = json.loads(zlib.decompress(signed.payload, wbits=-15))
    return payload["vc"]["credentialSubject"]["fhirBundle"]


def test_citizen_gets_one_certificate_of_every_dose(citizen, person, centre, anonymous) -> None:
    first = vaccinated(SlotFactory(centre=centre), person=person, lot="AA1111")
    vaccinated(SlotFactory(centre=centre, starts_at=tomorrow_at(11)), person=person, lot="BB2222")

    response = citizen.get("/certificates")

    assert response.status == 200
    assert (
        response.headers["Cache-Control"].startswith("max-age=0")
        or "private" in (response.headers["Cache-Control"])
    )
    assert response.body["count"] == 1
    [item] = response.body["items"]
    assert [dose["lot_number"] for dose in item["doses"]] == ["AA1111", "BB2222"]
    assert item["doses"][0]["appointment_id"] == str(first.pk)
    assert item["doses"][0]["cvx"] == "208"
    assert item["file"] == {"verifiableCredential": [item["jws"]]}
    assert item["qr_text"].startswith("shc:/")
    entries = bundle_of(item["jws"], anonymous)["entry"]
    assert [entry["resource"].get("lotNumber") for entry in entries] == [None, "AA1111", "BB2222"]


def test_before_any_dose_the_list_is_empty(citizen) -> None:
    response = citizen.get("/certificates")

    assert response.status == 200
    assert response.body == {"items": [], "count": 0}


def test_one_dose_certificate_holds_that_dose(citizen, person, centre, anonymous) -> None:
    vaccinated(SlotFactory(centre=centre), person=person, lot="AA1111")
    second = vaccinated(
        SlotFactory(centre=centre, starts_at=tomorrow_at(11)), person=person, lot="BB2222"
    )

    response = citizen.get(f"/certificates/{second.pk}")

    assert response.status == 200
    assert [dose["lot_number"] for dose in response.body["doses"]] == ["BB2222"]
    entries = bundle_of(response.body["jws"], anonymous)["entry"]
    assert [entry["resource"].get("lotNumber") for entry in entries] == [None, "BB2222"]


def test_another_persons_dose_is_not_found(citizen, other_person) -> None:
    theirs = vaccinated(SlotFactory(), person=other_person)

    response = citizen.get(f"/certificates/{theirs.pk}")

    assert response.status == 404
    assert response.code == "not_found"
    assert other_person.full_name not in response.raw.decode()


def test_a_booked_appointment_has_no_certificate(citizen, appointment) -> None:
    response = citizen.get(f"/certificates/{appointment.pk}")

    assert response.status == 404
    assert response.code == "not_found"


def test_certificates_need_a_bearer_token(anonymous) -> None:
    assert anonymous.get("/certificates").status == 401


def test_a_malformed_id_is_a_validation_error_not_a_500(citizen) -> None:
    response = citizen.get("/certificates/not-a-uuid")

    assert response.status in (404, 422)
    assert response.content_type == "application/problem+json"


def test_a_dose_without_a_cvx_code_is_a_clear_409(citizen, person) -> None:
    dose = vaccinated(SlotFactory(vaccine__cvx_code=""), person=person)

    for path in ("/certificates", f"/certificates/{dose.pk}"):
        response = citizen.get(path)
        assert response.status == 409
        assert response.code == "certificate_incomplete"
