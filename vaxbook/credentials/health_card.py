"""The vaccination certificate: a SMART Health Card (https://spec.smarthealth.cards).

A compact JWS signed ES256 by the same keys as the confirmations (keys.py), with the
protected header {"alg": "ES256", "zip": "DEF", "kid": <key's RFC 7638 thumbprint>}. Its
payload is the raw DEFLATE (RFC 1951, no zlib header) of minified JSON:

    {"iss": settings.SITE_URL, "nbf": <seconds>,
     "vc": {"type": [health-card, immunization, covid19],
            "credentialSubject": {"fhirVersion": "4.0.1", "fhirBundle": <Bundle>}}}

The Bundle (type collection) follows the SMART Health Cards vaccination IG's
data-minimisation profiles: a Patient with the name and birth date only, then one
Immunization per dose given (status, CVX code, `patient` -> `resource:0`, the local date
at the centre, the lot, the centre as performer). No `id`, `meta` or `text`; every
`fullUrl` is `resource:N`.

A certificate is made on demand (a page, a download, an API call), never at booking or at
the dose: nothing is stored, each request signs afresh with the active key, and the doses
are the VaccinationRecords as they are now.

The QR code holds `shc:/` and then the JWS as digits, two per character (ord(c) - 45), in
one QR in numeric mode: at most 1195 characters of JWS (version 22 at error correction
L), beyond which the card is refused rather than split across several codes.

read() is the other way round: what a scanned or pasted card says, and whether the
signature is ours and intact.
"""

import base64
import binascii
import datetime as dt
import json
import re
import uuid
import zlib
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

from django.conf import settings
from django.utils import timezone
from django.utils.translation import gettext as _
from joserfc import jws
from joserfc.errors import JoseError
from joserfc.registry import HeaderParameter

from vaxbook.accounts.models import Citizen, User
from vaxbook.bookings.models import AppointmentStatus, VaccinationRecord
from vaxbook.core.errors import DomainError
from vaxbook.credentials import keys

CARD_TYPES = (
    "https://smarthealth.cards#health-card",
    "https://smarthealth.cards#immunization",
    "https://smarthealth.cards#covid19",
)
HEALTH_CARD_TYPE = CARD_TYPES[0]
FHIR_VERSION = "4.0.1"
CVX_SYSTEM = "http://hl7.org/fhir/sid/cvx"
FILE_CONTENT_TYPE = "application/smart-health-card"
QR_PREFIX = "shc:/"
# The specification's limit for one QR code: 1195 JWS characters make 2390 digits, which
# version 22 holds at error correction L.
MAX_JWS_LENGTH = 1195
QR_ERROR_CORRECTION = "l"
QR_MAX_VERSION = 22
# An inflated payload larger than this is refused: a 1195-character JWS cannot carry a
# genuine one anywhere near it, so only a deflate bomb would.
MAX_PAYLOAD_BYTES = 64 * 1024
# Refused before any parsing: longer than any card in one QR, in either form.
MAX_INPUT_LENGTH = 2 * MAX_JWS_LENGTH + len(QR_PREFIX) + 16

JWS_REGISTRY = jws.JWSRegistry(
    algorithms=[keys.ALGORITHM],
    header_registry={"zip": HeaderParameter("Compression of the payload (DEF)", "str")},
)

_COMPACT_JWS = re.compile(r"[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+")
_NUMERIC = re.compile(r"shc:/([0-9]+)", re.IGNORECASE)


class CertificateNotFound(DomainError):
    """No dose recorded for this person (or this dose is not theirs): nothing to certify."""

    code = "not_found"


class CertificateUnavailable(DomainError):
    """There are doses, but no certificate can be made of them as asked."""


class CertificateTooLarge(CertificateUnavailable):
    """The card does not fit in one QR code (MAX_JWS_LENGTH)."""

    code = "certificate_too_large"


class CertificateIncomplete(CertificateUnavailable):
    """A dose lacks what a certificate must say (its vaccine has no CVX code)."""

    code = "certificate_incomplete"


@dataclass(frozen=True)
class HealthCard:
    jws: str
    doses: tuple[VaccinationRecord, ...]

    @property
    def qr_text(self) -> str:
        return to_numeric(self.jws)

    @property
    def file_content(self) -> bytes:
        """The `.smart-health-card` file."""
        return json.dumps({"verifiableCredential": [self.jws]}).encode()


# --- issuing ---------------------------------------------------------------------------


def own_card(*, user: User, appointment_id: uuid.UUID | None = None) -> HealthCard:
    """The certificate of the user's doses, or of one dose (its appointment's id).

    Raises CertificateNotFound when there is no such dose of theirs: someone else's
    appointment looks exactly like a missing one."""
    records = own_doses(user=user)
    if appointment_id is not None:
        records = [record for record in records if record.appointment_id == appointment_id]
    if not records:
        raise CertificateNotFound(_("No vaccination of yours is recorded for this certificate."))
    return issue(person=records[0].appointment.person, records=records)


def own_doses(*, user: User) -> list[VaccinationRecord]:
    """The doses given to the user, earliest first (one query)."""
    return list(
        VaccinationRecord.objects.filter(
            appointment__person__user=user, appointment__status=AppointmentStatus.VACCINATED
        )
        .select_related("appointment__person", "appointment__slot__centre", "vaccine")
        .order_by("administered_at")
    )


def issue(
    *, person: Citizen, records: list[VaccinationRecord], now: dt.datetime | None = None
) -> HealthCard:
    """The signed card of `records` (doses of `person`), signed by the active key."""
    now = now or timezone.now()
    if any(not record.vaccine.cvx_code.strip() for record in records):
        raise CertificateIncomplete(
            _("A dose's vaccine has no CVX code: the centre must complete it first.")
        )
    payload = {
        "iss": settings.SITE_URL,
        "nbf": int(now.timestamp()),
        "vc": {
            "type": list(CARD_TYPES),
            "credentialSubject": {
                "fhirVersion": FHIR_VERSION,
                "fhirBundle": bundle(person, records),
            },
        },
    }
    minified = json.dumps(payload, ensure_ascii=False, separators=(",", ":")).encode()
    token = keys.sign_with_header(deflate(minified), header={"zip": "DEF"}, registry=JWS_REGISTRY)
    if len(token) > MAX_JWS_LENGTH:
        raise CertificateTooLarge(
            _("These doses do not fit in one certificate: download one certificate per dose.")
        )
    return HealthCard(jws=token, doses=tuple(records))


def bundle(person: Citizen, records: list[VaccinationRecord]) -> dict[str, Any]:
    """The FHIR R4 Bundle of the data-minimisation profiles."""
    # One name as given: we hold the full name only, and splitting it into family and
    # given names would guess wrong for many (two surnames, particles, a single name).
    patient = {
        "resourceType": "Patient",
        "name": [{"text": person.full_name}],
        "birthDate": person.date_of_birth.isoformat(),
    }
    entries = [{"fullUrl": "resource:0", "resource": patient}]
    for index, record in enumerate(records, start=1):
        entries.append({"fullUrl": f"resource:{index}", "resource": _immunization(record)})
    return {"resourceType": "Bundle", "type": "collection", "entry": entries}


def _immunization(record: VaccinationRecord) -> dict[str, Any]:
    centre = record.appointment.slot.centre
    return {
        "resourceType": "Immunization",
        "status": "completed",
        "vaccineCode": {"coding": [{"system": CVX_SYSTEM, "code": record.vaccine.cvx_code}]},
        "patient": {"reference": "resource:0"},
        # The date at the centre, not the instant: the profile asks for no more.
        "occurrenceDateTime": centre.local_date(record.administered_at).isoformat(),
        "performer": [{"actor": {"display": centre.name}}],
        "lotNumber": record.lot_number,
    }


def deflate(data: bytes) -> bytes:
    """Raw DEFLATE (no zlib header or checksum), as the specification requires."""
    compressor = zlib.compressobj(9, zlib.DEFLATED, -15)
    return compressor.compress(data) + compressor.flush()


def to_numeric(token: str) -> str:
    """`shc:/` and two digits per JWS character (its code minus 45)."""
    return QR_PREFIX + "".join(f"{ord(character) - 45:02d}" for character in token)


def from_numeric(text: str) -> str:
    """The JWS of a `shc:/` numeric string; ValueError when it is not one."""
    match = _NUMERIC.fullmatch(text)
    if match is None or len(match.group(1)) % 2:
        raise ValueError("Not a shc:/ numeric string.")
    digits = match.group(1)
    pairs = [int(digits[index : index + 2]) for index in range(0, len(digits), 2)]
    # The JWS alphabet (base64url and the dots) is '-' (45) to 'z' (122): 0 to 77.
    if any(pair > ord("z") - 45 for pair in pairs):
        raise ValueError("Not a shc:/ numeric string.")
    return "".join(chr(pair + 45) for pair in pairs)


# --- reading -------------------------------------------------------------------------------


class Verdict(StrEnum):
    """What the signature says, the first that applies."""

    MALFORMED = "malformed"  # not a SMART Health Card at all
    UNKNOWN_ISSUER = "unknown_issuer"  # signed by a key we do not publish: not ours
    INVALID_SIGNATURE = "invalid_signature"  # our key, but altered or not signed by it
    GENUINE = "genuine"  # ours and intact


@dataclass(frozen=True)
class CardDose:
    date: dt.date
    cvx: str
    lot_number: str
    performer: str


@dataclass(frozen=True)
class CardReading:
    """A card as read. Holder and doses only when the verdict is GENUINE: what an altered
    or foreign card claims is not repeated as if it were true."""

    verdict: Verdict
    issuer: str = ""
    holder_name: str = ""
    holder_date_of_birth: dt.date | None = None
    doses: tuple[CardDose, ...] = ()
    issued_at: dt.datetime | None = None
    kid: str = ""

    @property
    def is_genuine(self) -> bool:
        return self.verdict == Verdict.GENUINE


def looks_like_card(text: object) -> bool:
    """True for a `shc:/` string, or a compact JWS whose header says `zip`: what the
    scan page and the validations endpoint hand to read() rather than to the
    confirmation's check."""
    if not isinstance(text, str):
        return False
    text = text.strip()
    if text[: len(QR_PREFIX)].lower() == QR_PREFIX:
        return True
    header = _header_of(text)
    return header is not None and "zip" in header


def read(text: str, *, now: dt.datetime | None = None) -> CardReading:
    """What a card (the `shc:/` string or the JWS) says, and whether it is ours and intact."""
    now = now or timezone.now()
    text = text.strip()
    if len(text) > MAX_INPUT_LENGTH or not text.isascii():
        return CardReading(Verdict.MALFORMED)
    try:
        token = from_numeric(text) if text[:5].lower() == QR_PREFIX else text
    except ValueError:
        return CardReading(Verdict.MALFORMED)
    header = _header_of(token)
    if header is None or header.get("alg") != keys.ALGORITHM or header.get("zip") != "DEF":
        return CardReading(Verdict.MALFORMED)
    kid = header.get("kid")
    if not isinstance(kid, str):
        return CardReading(Verdict.MALFORMED)
    key = keys.verification_key(kid)
    if key is None:
        return CardReading(Verdict.UNKNOWN_ISSUER, kid=kid)
    try:
        signed = jws.extract_compact(token.encode("ascii"), registry=JWS_REGISTRY)
        genuine = jws.validate_compact(signed, key, registry=JWS_REGISTRY)
    except (JoseError, ValueError, TypeError, KeyError, AttributeError):
        genuine = False
    if not genuine:
        return CardReading(Verdict.INVALID_SIGNATURE, kid=kid)
    try:
        return _reading(json.loads(_inflate(signed.payload)), kid=kid)
    # Signed by us yet not a card we would write: treated as malformed, never as a 500.
    except (ValueError, TypeError, KeyError, AttributeError, IndexError, zlib.error):
        return CardReading(Verdict.MALFORMED, kid=kid)


def _header_of(token: str) -> dict[str, Any] | None:
    if len(token) > MAX_INPUT_LENGTH or not _COMPACT_JWS.fullmatch(token):
        return None
    encoded = token.split(".", 1)[0]
    try:
        header = json.loads(base64.urlsafe_b64decode(encoded + "=" * (-len(encoded) % 4)))
    except (ValueError, binascii.Error):
        return None
    return header if isinstance(header, dict) else None


def _inflate(data: bytes) -> bytes:
    decompressor = zlib.decompressobj(-15)
    inflated = decompressor.decompress(data, MAX_PAYLOAD_BYTES)
    if decompressor.unconsumed_tail:
        raise ValueError("The payload is too large.")
    return inflated


def _reading(payload: dict[str, Any], *, kid: str) -> CardReading:
    vc = payload["vc"]
    if HEALTH_CARD_TYPE not in vc["type"]:
        raise ValueError("Not a health card.")
    entries = [entry["resource"] for entry in vc["credentialSubject"]["fhirBundle"]["entry"]]
    patients = [entry for entry in entries if entry["resourceType"] == "Patient"]
    if len(patients) != 1:
        raise ValueError("A card names one person.")
    doses = tuple(
        CardDose(
            date=dt.date.fromisoformat(entry["occurrenceDateTime"][:10]),
            cvx=str(entry["vaccineCode"]["coding"][0]["code"]),
            lot_number=str(entry.get("lotNumber", "")),
            performer=str(entry.get("performer", [{}])[0].get("actor", {}).get("display", "")),
        )
        for entry in entries
        if entry["resourceType"] == "Immunization" and entry["status"] == "completed"
    )
    patient = patients[0]
    nbf = payload["nbf"]
    return CardReading(
        Verdict.GENUINE,
        issuer=str(payload["iss"]),
        holder_name=_name(patient["name"][0]),
        holder_date_of_birth=dt.date.fromisoformat(patient["birthDate"]),
        doses=doses,
        issued_at=dt.datetime.fromtimestamp(float(nbf), tz=dt.UTC),
        kid=kid,
    )


def _name(name: dict[str, Any]) -> str:
    if name.get("text"):
        return str(name["text"])
    return " ".join([*name.get("given", []), name.get("family", "")]).strip()
