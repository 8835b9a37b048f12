"""The confirmation credential: a compact JWS (ES256) a person carries as a QR code.

Header: {"alg": "ES256", "kid": <signing key's RFC 7638 thumbprint>,
         "typ": "vaxbook-confirmation+jwt"}

Claims (short names keep the QR code small; docs/credentials.md has the table):

    iss   the service (settings.SITE_URL)     ref   the appointment reference (stored form)
    aid   the appointment id (UUID)           cid   the centre id
    date  the local date, YYYY-MM-DD          time  the local start, HH:MM
    tz    the centre's IANA time zone         dose  the dose number
    vac   the vaccine's name                  cvx   the vaccine's CVX code
    name  the holder's full name              dob   the holder's date of birth, YYYY-MM-DD
    iat   issued at (epoch seconds)           exp   the end of the appointment's local day
                                                    plus the grace period (epoch seconds)

The signature proves the token is ours and unchanged; it says nothing about the
appointment's status now. Validation on the day reads the status from the database.
"""

import datetime as dt
import json
import re
import uuid
import zoneinfo
from dataclasses import dataclass
from typing import Any

from django.conf import settings
from django.utils import timezone
from joserfc import jws
from joserfc.errors import JoseError

from vaxbook.bookings import references
from vaxbook.bookings.models import Appointment
from vaxbook.credentials import keys

TOKEN_TYPE = "vaxbook-confirmation+jwt"  # noqa: S105 (a JOSE "typ", not a password)

# Far above any real token (about 600 characters) yet small enough that junk is refused
# before any parsing; a QR code at level M holds at most 2331 bytes anyway.
MAX_TOKEN_LENGTH = 4096

_COMPACT_JWS = re.compile(r"[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+")
_ISO_DATE = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}")
_HOURS_MINUTES = re.compile(r"[0-9]{2}:[0-9]{2}")
_HEADER_MEMBERS = frozenset({"alg", "kid", "typ"})


class InvalidToken(Exception):
    """Not a confirmation of ours: malformed, wrong algorithm or type, unknown or withdrawn
    key, bad signature, or claims missing or of the wrong type. The message is for logs."""


class ExpiredToken(Exception):
    """A genuine confirmation whose day (plus the grace period) is over."""

    def __init__(self, claims: "ConfirmationClaims") -> None:
        super().__init__(f"The confirmation expired at {claims.expires_at.isoformat()}.")
        self.claims = claims


class AppointmentTooFarAhead(ValueError):
    """The token would outlive keys.TOKEN_LIFETIME_BOUND: no slot opens that far ahead, so
    the appointment's date is a mistake, not something to vouch for."""


@dataclass(frozen=True)
class ConfirmationClaims:
    issuer: str
    reference: str
    appointment_id: uuid.UUID
    centre_id: int
    date: dt.date
    time: dt.time
    time_zone: str
    dose_number: int
    vaccine: str
    cvx: str
    holder_name: str
    holder_date_of_birth: dt.date
    issued_at: dt.datetime
    expires_at: dt.datetime
    kid: str

    @property
    def starts_at(self) -> dt.datetime:
        """The appointment's start as an aware datetime in the centre's zone."""
        return dt.datetime.combine(self.date, self.time, tzinfo=zoneinfo.ZoneInfo(self.time_zone))


# --- issuing -------------------------------------------------------------------------------


def issue_token(appointment: Appointment, *, now: dt.datetime | None = None) -> str:
    """The signed confirmation of `appointment`, signed by the active key."""
    now = now or timezone.now()
    slot = appointment.slot
    centre = slot.centre
    local_start = slot.starts_at.astimezone(centre.zone)
    expires_at = expiry(local_start)
    if expires_at - now > keys.TOKEN_LIFETIME_BOUND:
        raise AppointmentTooFarAhead(
            f"A confirmation cannot be valid for longer than {keys.TOKEN_LIFETIME_BOUND.days} days."
        )
    claims = {
        "iss": settings.SITE_URL,
        "ref": appointment.reference,
        "aid": str(appointment.pk),
        "cid": centre.pk,
        "date": local_start.date().isoformat(),
        "time": local_start.strftime("%H:%M"),
        "tz": centre.time_zone,
        "dose": appointment.dose_number,
        "vac": slot.vaccine.name,
        "cvx": slot.vaccine.cvx_code,
        "name": appointment.person.full_name,
        "dob": appointment.person.date_of_birth.isoformat(),
        "iat": int(now.timestamp()),
        "exp": int(expires_at.timestamp()),
    }
    # UTF-8 rather than \u escapes: a name with accents stays short in the QR code.
    payload = json.dumps(claims, ensure_ascii=False, separators=(",", ":")).encode()
    return keys.sign(payload, typ=TOKEN_TYPE)


def expiry(local_start: dt.datetime) -> dt.datetime:
    """When a confirmation for an appointment starting at `local_start` (aware, in the
    centre's zone) stops verifying: the end of that local day plus the grace period."""
    next_day = local_start.date() + dt.timedelta(days=1)
    end_of_day = dt.datetime.combine(next_day, dt.time(), tzinfo=local_start.tzinfo)
    # Grace in elapsed hours, counted in UTC so a DST change that night does not stretch it.
    return end_of_day.astimezone(dt.UTC) + dt.timedelta(hours=settings.CREDENTIAL_GRACE_HOURS)


# --- verifying -----------------------------------------------------------------------------


def verify_token(token: str, *, now: dt.datetime | None = None) -> ConfirmationClaims:
    """The claims of a genuine, unexpired confirmation.

    Raises InvalidToken for anything that is not one of our confirmations, and
    ExpiredToken (carrying the claims) for a genuine one whose day is over.
    """
    now = now or timezone.now()
    signed = _extract(token)
    kid = _checked_header(signed.headers())
    # Only published keys: a revoked key no longer vouches for anything, exactly as for
    # an offline verifier using the JWKS.
    key = keys.verification_key(kid)
    if key is None:
        raise InvalidToken(f"No published key has kid {kid!r}.")
    try:
        genuine = jws.validate_compact(signed, key, registry=keys.JWS_REGISTRY)
    except (JoseError, ValueError) as error:
        raise InvalidToken(f"The signature cannot be checked: {error}") from error
    if not genuine:
        raise InvalidToken("The signature does not match.")
    claims = _parse_claims(signed.payload, kid=kid)
    if now > claims.expires_at:
        raise ExpiredToken(claims)
    return claims


def _extract(token: object) -> jws.CompactSignature:
    if not isinstance(token, str):
        raise InvalidToken("A token is a string.")
    token = token.strip()  # scanners may add a line break
    if len(token) > MAX_TOKEN_LENGTH or not token.isascii() or not _COMPACT_JWS.fullmatch(token):
        raise InvalidToken("Not a compact JWS.")
    try:
        return jws.extract_compact(token.encode("ascii"), registry=keys.JWS_REGISTRY)
    # A decoded header that is JSON but not an object makes joserfc fail in assorted
    # ways: every one of them means "malformed".
    except (JoseError, ValueError, TypeError, KeyError, AttributeError) as error:
        raise InvalidToken(f"Not a compact JWS: {error}") from error


def _checked_header(header: object) -> str:
    if not isinstance(header, dict) or set(header) != _HEADER_MEMBERS:
        raise InvalidToken("The header must hold exactly alg, kid and typ.")
    if header["alg"] != keys.ALGORITHM:
        raise InvalidToken(f"Algorithm {header['alg']!r} is not accepted.")
    if header["typ"] != TOKEN_TYPE:
        raise InvalidToken(f"Type {header['typ']!r} is not a confirmation.")
    kid = header["kid"]
    if not isinstance(kid, str):
        raise InvalidToken("The kid must be a string.")
    return kid


def _parse_claims(payload: bytes, *, kid: str) -> ConfirmationClaims:
    try:
        claims = json.loads(payload)
    except ValueError as error:
        raise InvalidToken("The payload is not JSON.") from error
    if not isinstance(claims, dict):
        raise InvalidToken("The payload is not a JSON object.")
    return ConfirmationClaims(
        # Not compared with settings.SITE_URL: only our keys can sign, so the key already
        # names the issuer, and a change of public address must not void every
        # confirmation people hold.
        issuer=_text(claims, "iss"),
        reference=_reference(claims),
        appointment_id=_uuid(claims, "aid"),
        centre_id=_positive(claims, "cid"),
        date=_date(claims, "date"),
        time=_time(claims, "time"),
        time_zone=_zone(claims, "tz"),
        dose_number=_positive(claims, "dose"),
        vaccine=_text(claims, "vac"),
        cvx=_text(claims, "cvx"),
        holder_name=_text(claims, "name"),
        holder_date_of_birth=_date(claims, "dob"),
        issued_at=_timestamp(claims, "iat"),
        expires_at=_timestamp(claims, "exp"),
        kid=kid,
    )


def _claim(claims: dict[str, Any], name: str, kind: type) -> Any:
    value = claims.get(name)
    # bool is an int in Python, never in a claim.
    if not isinstance(value, kind) or isinstance(value, bool):
        raise InvalidToken(f"Claim {name!r} is missing or not a {kind.__name__}.")
    return value


def _text(claims: dict[str, Any], name: str) -> str:
    value: str = _claim(claims, name, str)
    if not value:
        raise InvalidToken(f"Claim {name!r} is empty.")
    return value


def _positive(claims: dict[str, Any], name: str) -> int:
    value: int = _claim(claims, name, int)
    if value < 1:
        raise InvalidToken(f"Claim {name!r} must be positive.")
    return value


def _reference(claims: dict[str, Any]) -> str:
    value = _text(claims, "ref")
    try:
        if references.normalize(value) == value:
            return value
    except references.MalformedReference:
        pass
    raise InvalidToken("Claim 'ref' is not a reference.")


def _uuid(claims: dict[str, Any], name: str) -> uuid.UUID:
    try:
        return uuid.UUID(_text(claims, name))
    except ValueError as error:
        raise InvalidToken(f"Claim {name!r} is not a UUID.") from error


def _date(claims: dict[str, Any], name: str) -> dt.date:
    value = _text(claims, name)
    try:
        if _ISO_DATE.fullmatch(value):
            return dt.date.fromisoformat(value)
    except ValueError:
        pass
    raise InvalidToken(f"Claim {name!r} is not a date (YYYY-MM-DD).")


def _time(claims: dict[str, Any], name: str) -> dt.time:
    value = _text(claims, name)
    try:
        if _HOURS_MINUTES.fullmatch(value):
            return dt.time.fromisoformat(value)
    except ValueError:
        pass
    raise InvalidToken(f"Claim {name!r} is not a time (HH:MM).")


def _zone(claims: dict[str, Any], name: str) -> str:
    value = _text(claims, name)
    try:
        zoneinfo.ZoneInfo(value)
    except (ValueError, zoneinfo.ZoneInfoNotFoundError) as error:
        raise InvalidToken(f"Claim {name!r} is not a time zone.") from error
    return value


def _timestamp(claims: dict[str, Any], name: str) -> dt.datetime:
    value: int = _claim(claims, name, int)
    try:
        return dt.datetime.fromtimestamp(value, tz=dt.UTC)
    except (OverflowError, OSError, ValueError) as error:
        raise InvalidToken(f"Claim {name!r} is out of range.") from error
