import base64
import datetime as dt
import hashlib
import hmac
import json

import pytest
import time_machine
from joserfc import jws
from joserfc.jwk import ECKey

from tests.credentials.conftest import book
from tests.factories import CentreFactory, SlotFactory
from tests.helpers import CANARY
from vaxbook.credentials import keys
from vaxbook.credentials.tokens import (
    TOKEN_TYPE,
    AppointmentTooFarAhead,
    ExpiredToken,
    InvalidToken,
    issue_token,
    verify_token,
)

pytestmark = pytest.mark.django_db

ACTIVE = "<the active kid>"


def b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def unb64(segment: str) -> bytes:
    return base64.urlsafe_b64decode(segment + "=" * (-len(segment) % 4))


def segments(token: str) -> tuple[dict, dict, str]:
    header, payload, signature = token.split(".")
    return json.loads(unb64(header)), json.loads(unb64(payload)), signature


def claims_of(token: str) -> dict:
    return segments(token)[1]


def signed_by_our_key(claims: dict, *, typ: str = TOKEN_TYPE) -> str:
    """A token signed by the real active key, with whatever claims a test needs."""
    return keys.sign(json.dumps(claims).encode(), typ=typ)


# --- issuing and the round trip -----------------------------------------------------------


def test_token_round_trips_to_the_appointments_details(appointment) -> None:
    claims = verify_token(issue_token(appointment))

    slot = appointment.slot
    local_start = slot.starts_at.astimezone(slot.centre.zone)
    assert claims.reference == appointment.reference
    assert claims.appointment_id == appointment.pk
    assert claims.centre_id == slot.centre.pk
    assert claims.date == local_start.date()
    assert claims.time == local_start.time().replace(second=0, microsecond=0)
    assert claims.time_zone == "Europe/Madrid"
    assert claims.starts_at == slot.starts_at
    assert claims.dose_number == 1
    assert claims.vaccine == "Comirnaty"
    assert claims.cvx == "208"
    assert claims.holder_name == "María José Núñez Ortiz"
    assert claims.holder_date_of_birth == dt.date(1961, 2, 28)
    assert claims.issuer == "https://vaccination.example.org"
    assert claims.kid == keys.active_kid()


def test_token_is_a_compact_es256_jws_with_kid_and_our_type(appointment) -> None:
    header, claims, _ = segments(issue_token(appointment))

    assert header == {"alg": "ES256", "kid": keys.active_kid(), "typ": TOKEN_TYPE}
    assert set(claims) == {
        "iss",
        *("ref", "aid", "cid", "date", "time", "tz", "dose", "vac", "cvx", "name", "dob"),
        *("iat", "exp"),
    }
    assert claims["aid"] == str(appointment.pk)
    assert isinstance(claims["iat"], int)
    assert isinstance(claims["exp"], int)


def test_claims_carry_the_local_date_and_time_in_the_centres_zone() -> None:
    # 00:30 on 15 July in the Canaries is still 14 July in UTC, the server's zone.
    centre = CentreFactory(time_zone="Atlantic/Canary")
    slot = SlotFactory(centre=centre, starts_at=dt.datetime(2026, 7, 15, 0, 30, tzinfo=CANARY))
    with time_machine.travel(dt.datetime(2026, 7, 10, 12, tzinfo=dt.UTC)):
        claims = claims_of(issue_token(book(slot)))

    assert claims["date"] == "2026-07-15"
    assert claims["time"] == "00:30"
    assert claims["tz"] == "Atlantic/Canary"


def test_a_token_is_valid_until_the_end_of_the_local_day_plus_grace_and_not_a_second_more(
    settings,
) -> None:
    settings.CREDENTIAL_GRACE_HOURS = 6
    centre = CentreFactory(time_zone="Atlantic/Canary")
    slot = SlotFactory(centre=centre, starts_at=dt.datetime(2026, 7, 15, 10, tzinfo=CANARY))
    with time_machine.travel(dt.datetime(2026, 7, 10, 12, tzinfo=dt.UTC)):
        token = issue_token(book(slot))
    # The Canaries' day ends at midnight WEST (UTC+1), 23:00 UTC; six hours later is
    # 05:00 UTC. Had the server's zone (UTC) been used, it would be 06:00 UTC.
    last_valid_moment = dt.datetime(2026, 7, 16, 5, 0, 0, tzinfo=dt.UTC)

    with time_machine.travel(last_valid_moment, tick=False):
        claims = verify_token(token)
    one_second_later = last_valid_moment + dt.timedelta(seconds=1)
    with time_machine.travel(one_second_later, tick=False), pytest.raises(ExpiredToken) as expired:
        verify_token(token)

    assert claims.expires_at == last_valid_moment
    assert expired.value.claims == claims


def test_expired_token_still_tells_which_appointment_it_was_for(appointment) -> None:
    token = issue_token(appointment)

    with pytest.raises(ExpiredToken) as expired:
        verify_token(token, now=appointment.slot.starts_at + dt.timedelta(days=2))

    assert expired.value.claims.reference == appointment.reference


def test_a_token_that_would_outlive_the_key_publication_window_is_not_issued() -> None:
    slot = SlotFactory(starts_at=dt.datetime(2028, 6, 1, 10, tzinfo=dt.UTC))
    appointment = book(slot)

    with pytest.raises(AppointmentTooFarAhead):
        issue_token(appointment, now=dt.datetime(2027, 4, 1, tzinfo=dt.UTC))
    assert issue_token(appointment, now=dt.datetime(2027, 6, 1, tzinfo=dt.UTC))


# --- rejections ----------------------------------------------------------------------------


def test_a_changed_claim_breaks_the_signature(appointment) -> None:
    header, payload, signature = issue_token(appointment).split(".")
    claims = json.loads(unb64(payload))
    claims["name"] = "Somebody Else"

    with pytest.raises(InvalidToken):
        verify_token(f"{header}.{b64(json.dumps(claims).encode())}.{signature}")


def test_a_changed_signature_is_refused(appointment) -> None:
    header, payload, signature = issue_token(appointment).split(".")
    # A middle character: the last one also carries padding bits that decoding ignores.
    flipped = "A" if signature[40] != "A" else "B"
    tampered = f"{header}.{payload}.{signature[:40]}{flipped}{signature[41:]}"

    with pytest.raises(InvalidToken):
        verify_token(tampered)


def test_the_signature_of_one_token_does_not_cover_another(appointment) -> None:
    other = book(SlotFactory(), full_name="Somebody Else")
    first = issue_token(appointment).split(".")
    second = issue_token(other).split(".")

    with pytest.raises(InvalidToken):
        verify_token(f"{first[0]}.{first[1]}.{second[2]}")


@pytest.mark.parametrize("signature", ["", "c2lnbmF0dXJl"])
def test_an_unsigned_alg_none_token_is_refused(appointment, signature) -> None:
    _, claims, _ = segments(issue_token(appointment))
    header = {"alg": "none", "kid": keys.active_kid(), "typ": TOKEN_TYPE}
    forged = f"{b64(json.dumps(header).encode())}.{b64(json.dumps(claims).encode())}.{signature}"

    with pytest.raises(InvalidToken):
        verify_token(forged)


@pytest.mark.parametrize("secret_form", ["pem", "jwk"])
def test_an_hs256_token_keyed_with_our_public_key_is_refused(client, appointment, secret_form):
    # The classic confusion attack: the public key, which anyone has, used as an HMAC
    # secret by a verifier that trusts the header's `alg`.
    public_jwk = client.get("/.well-known/jwks.json").json()["keys"][0]
    public_key = ECKey.import_key(public_jwk)
    secret = public_key.as_pem() if secret_form == "pem" else json.dumps(public_jwk).encode()
    _, claims, _ = segments(issue_token(appointment))
    header = {"alg": "HS256", "kid": public_jwk["kid"], "typ": TOKEN_TYPE}
    signing_input = f"{b64(json.dumps(header).encode())}.{b64(json.dumps(claims).encode())}"
    mac = hmac.new(secret, signing_input.encode(), hashlib.sha256).digest()

    with pytest.raises(InvalidToken):
        verify_token(f"{signing_input}.{b64(mac)}")


def test_a_token_signed_by_a_foreign_key_is_refused(appointment) -> None:
    foreign = ECKey.generate_key("P-256", private=True)
    _, claims, _ = segments(issue_token(appointment))
    for kid in (foreign.thumbprint(), keys.active_kid()):
        header = {"alg": "ES256", "kid": kid, "typ": TOKEN_TYPE}
        forged = jws.serialize_compact(header, json.dumps(claims), foreign, algorithms=["ES256"])

        with pytest.raises(InvalidToken):
            verify_token(forged)


def test_a_token_of_another_type_signed_by_our_key_is_refused(appointment) -> None:
    _, claims, _ = segments(issue_token(appointment))

    for typ in ("JWT", "vaxbook-something-else+jwt"):
        with pytest.raises(InvalidToken):
            verify_token(signed_by_our_key(claims, typ=typ))


@pytest.mark.parametrize(
    "header",
    [
        {"alg": "ES256", "typ": TOKEN_TYPE},
        {"alg": "ES256", "kid": 7, "typ": TOKEN_TYPE},
        {"alg": "ES256", "kid": ACTIVE, "typ": TOKEN_TYPE, "jku": "https://evil.example/jwks"},
        {"alg": "ES256", "kid": ACTIVE, "typ": TOKEN_TYPE, "b64": False, "crit": ["b64"]},
        {"alg": "ES384", "kid": ACTIVE, "typ": TOKEN_TYPE},
        {"alg": ["ES256"], "kid": ACTIVE, "typ": TOKEN_TYPE},
        {"alg": "ES256", "kid": ACTIVE, "typ": TOKEN_TYPE, "typ ": TOKEN_TYPE},
        ["b64"],
        "ES256",
        None,
        1,
    ],
    ids=repr,
)
def test_a_header_other_than_alg_kid_and_typ_is_refused(appointment, header) -> None:
    _, payload, signature = issue_token(appointment).split(".")
    if isinstance(header, dict) and header.get("kid") == ACTIVE:
        header = {**header, "kid": keys.active_kid()}

    with pytest.raises(InvalidToken):
        verify_token(f"{b64(json.dumps(header).encode())}.{payload}.{signature}")


@pytest.mark.parametrize(
    "change",
    [
        {"dob": None},
        {"name": None},
        {"exp": None},
        {"aid": None},
        {"dose": "1"},
        {"dose": True},
        {"dose": 0},
        {"cid": 1.5},
        {"exp": "1900000000"},
        {"exp": 10**30},
        {"iat": None},
        {"aid": "not-a-uuid"},
        {"ref": "ABCDEFGH2X"},
        {"ref": "ABCDEFGH4"},  # a typo: the check character is 3
        {"ref": "abcdefgh3"},
        {"ref": "ABC-DEF-GH3"},
        {"date": "15/07/2026"},
        {"date": "20260715"},
        {"date": "2026-02-30"},
        {"time": "9:30"},
        {"time": "10:30:00"},
        {"tz": "Mars/Olympus_Mons"},
        {"tz": "../../etc/passwd"},
        {"vac": ""},
        {"name": ["a"]},
    ],
    ids=repr,
)
def test_missing_or_ill_typed_claims_are_refused_even_when_signed(appointment, change) -> None:
    _, claims, _ = segments(issue_token(appointment))
    for name, value in change.items():
        if value is None:
            del claims[name]
        else:
            claims[name] = value

    with pytest.raises(InvalidToken):
        verify_token(signed_by_our_key(claims))


def test_a_payload_that_is_not_a_json_object_is_refused_even_when_signed() -> None:
    for payload in (b"[]", b"null", b"not json", b"\xff\xfe"):
        with pytest.raises(InvalidToken):
            verify_token(keys.sign(payload, typ=TOKEN_TYPE))


@pytest.mark.parametrize(
    "garbage",
    [
        "",
        " ",
        ".",
        "..",
        "a.b.c",
        "a.b",
        "a.b.c.d.e",
        "not a token",
        "eyJhbGciOiJFUzI1NiJ9",
        "eyJ.eyJ.eyJ",
        "%%%.%%%.%%%",
        "A" * 5000,
        '{"payload": "x", "signatures": []}',
        "\x00\x00\x00",
    ],
    ids=repr,
)
def test_garbage_is_refused(garbage) -> None:
    with pytest.raises(InvalidToken):
        verify_token(garbage)


def test_a_truncated_token_is_refused_at_every_length(appointment) -> None:
    token = issue_token(appointment)

    for length in range(len(token)):
        with pytest.raises(InvalidToken):
            verify_token(token[:length])


def test_non_ascii_in_a_token_is_refused(appointment) -> None:
    token = issue_token(appointment)
    header, payload, signature = token.split(".")

    for forged in (
        f"{header}.{payload}é.{signature}",
        f"{header}.{payload}.{signature[:-1]}\u00a0",
        token.replace("A", "\uff21", 1),  # a full-width A
        f"{header}.{payload}.{signature}\U0001f489",
    ):
        with pytest.raises(InvalidToken):
            verify_token(forged)


def test_something_that_is_not_a_string_is_refused() -> None:
    for value in (None, 42, b"a.b.c", ["a", "b", "c"]):
        with pytest.raises(InvalidToken):
            verify_token(value)  # type: ignore[arg-type]


def test_surrounding_whitespace_from_a_scanner_is_tolerated(appointment) -> None:
    token = issue_token(appointment)

    assert verify_token(f"{token}\r\n").reference == appointment.reference


# --- rotation ------------------------------------------------------------------------------


def test_after_a_rotation_old_tokens_verify_and_new_tokens_carry_the_new_kid(appointment):
    old_kid = keys.active_kid()
    old_token = issue_token(appointment)

    rotation = keys.rotate(now=dt.datetime.now(tz=dt.UTC))
    new_token = issue_token(appointment)

    assert verify_token(old_token).kid == old_kid
    assert segments(new_token)[0]["kid"] == rotation.new.kid != old_kid
    assert verify_token(new_token).kid == rotation.new.kid


def test_tokens_of_a_retired_key_end_with_their_own_expiry_and_of_a_revoked_key_at_once() -> None:
    start = dt.datetime(2026, 3, 2, 9, tzinfo=dt.UTC)
    slot = SlotFactory(starts_at=start + dt.timedelta(days=30))
    appointment = book(slot)
    with time_machine.travel(start, tick=False):
        token = issue_token(appointment)
        old_kid = keys.active_kid()
        keys.rotate(now=start)

    assert verify_token(token, now=start + dt.timedelta(days=1)).kid == old_kid
    with pytest.raises(ExpiredToken):
        verify_token(token, now=start + dt.timedelta(days=3650))

    keys.revoke(old_kid)

    with pytest.raises(InvalidToken):
        verify_token(token, now=start + dt.timedelta(days=1))
