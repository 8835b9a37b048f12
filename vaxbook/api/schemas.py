"""Shapes shared by the API's routers: input types that refuse what the database cannot
store, and the public representation of centres, vaccines, slots and appointments.

Inputs refuse unknown fields (`Input`), integers sent as strings or booleans (`Id`,
`StrictInt`), dates that are not `YYYY-MM-DD` strings, and text with a NUL or an unpaired
surrogate, which PostgreSQL cannot store: each is a 422 naming the field, never a 500.
Text people type (`FreeText`) is normalised and refuses control and format characters.

Times are ISO 8601 with the offset of the centre's time zone (the local time people see).
"""

import datetime as dt
import re
import unicodedata
import uuid
from typing import Annotated

from django.core.exceptions import ValidationError as DjangoValidationError
from django.core.validators import validate_email
from django.utils.translation import gettext as _
from ninja import Schema
from pydantic import (
    AfterValidator,
    AwareDatetime,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    WithJsonSchema,
)
from pydantic.json_schema import JsonDict

from vaxbook.accounts.models import User
from vaxbook.bookings.models import Appointment
from vaxbook.centres.models import Centre, Slot, Vaccine
from vaxbook.core.text import JOINERS, REFUSED_CATEGORIES, UnsafeText, clean_text
from vaxbook.credentials.tokens import AppointmentTooFarAhead, issue_token

# The largest id a 64-bit primary key holds: a larger one is refused before the database
# would overflow on it.
MAX_ID = 2**63 - 1
# Dates a client may ask about (search days): far enough either way for any real use,
# near enough that a day's bounds in any time zone never overflow.
FIRST_DATE = dt.date(2000, 1, 1)
LAST_DATE = dt.date(2999, 12, 31)

_ISO_DATE = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}")


def _storable(text: str) -> str:
    if "\x00" in text:
        raise ValueError(_("Text cannot contain a NUL character."))
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        raise ValueError(_("Text must be valid Unicode.")) from None
    return text


def _free_text(text: str) -> str:
    try:
        return clean_text(text)
    except UnsafeText as unsafe:
        raise ValueError(unsafe.message) from None


def _date_string(value: object) -> object:
    # A date only as YYYY-MM-DD: pydantic would otherwise read 1700000000 as a date.
    if not isinstance(value, str) or not _ISO_DATE.fullmatch(value):
        raise ValueError(_("Enter a date as YYYY-MM-DD."))
    return value


def _searchable_date(value: dt.date) -> dt.date:
    if not FIRST_DATE <= value <= LAST_DATE:
        raise ValueError(
            _("Enter a date between %(first)s and %(last)s.")
            % {"first": FIRST_DATE.isoformat(), "last": LAST_DATE.isoformat()}
        )
    return value


def _email(value: str) -> str:
    try:
        validate_email(value)
    except DjangoValidationError:
        raise ValueError(_("Enter a valid email address.")) from None
    return value


def _plausible_moment(value: dt.datetime) -> dt.datetime:
    if not FIRST_DATE <= value.date() <= LAST_DATE:
        raise ValueError(
            _("Enter a time between %(first)s and %(last)s.")
            % {"first": FIRST_DATE.isoformat(), "last": LAST_DATE.isoformat()}
        )
    return value


def _refused_text_pattern() -> str:
    """A JSON Schema pattern that matches text without the characters clean_text refuses
    (vaxbook.core.text), in the Basic Multilingual Plane: the few refused characters beyond
    it (some format and the private-use planes) are refused with a 422 all the same."""
    refused = [
        code
        for code in range(0x10000)
        if unicodedata.category(chr(code)) in REFUSED_CATEGORIES and chr(code) not in JOINERS
    ]
    ranges: list[list[int]] = []
    for code in refused:
        if ranges and ranges[-1][1] == code - 1:
            ranges[-1][1] = code
        else:
            ranges.append([code, code])
    body = "".join(
        f"\\u{first:04x}" if first == last else f"\\u{first:04x}-\\u{last:04x}"
        for first, last in ranges
    )
    return f"^[^{body}]*$"


FREE_TEXT_PATTERN = _refused_text_pattern()


Text = Annotated[str, AfterValidator(_storable)]
# What people type (names, phones, lot numbers, searches): NFC, no control or format
# characters (vaxbook.core.text, the rule the web forms follow too). Not for passwords,
# codes or tokens, which are compared as sent.
FreeText = Annotated[Text, AfterValidator(_free_text)]
# What a FreeText field's Field() adds to the document: the same rule as a pattern.
FREE_TEXT_SCHEMA: JsonDict = {"pattern": FREE_TEXT_PATTERN}
# JSON integers (12), never a string, a boolean or a number with a fraction part (12.0): the
# document says int64, and docs/api.md that 12.0 is refused, which JSON Schema's "integer"
# alone cannot say (it counts 12.0 as one).
_WHOLE: JsonDict = {"format": "int64"}
Id = Annotated[int, Field(strict=True, ge=1, le=MAX_ID, json_schema_extra=_WHOLE)]
DoseNumber = Annotated[int, Field(strict=True, ge=1, le=20, json_schema_extra=_WHOLE)]
IsoDate = Annotated[dt.date, BeforeValidator(_date_string)]
# Years FIRST_DATE..LAST_DATE (2000-2999), as the schema's pattern says.
_IN_RANGE = "^2[0-9]{3}-"
SearchDate = Annotated[
    IsoDate,
    AfterValidator(_searchable_date),
    WithJsonSchema({"type": "string", "format": "date", "pattern": _IN_RANGE}),
]
Email = Annotated[
    Text,
    Field(min_length=3, max_length=254, json_schema_extra={"format": "email"}),
    AfterValidator(_email),
]
# A time with its UTC offset (2021-05-17T10:03:00+02:00), within FIRST_DATE..LAST_DATE.
Moment = Annotated[
    AwareDatetime,
    AfterValidator(_plausible_moment),
    WithJsonSchema({"type": "string", "format": "date-time", "pattern": _IN_RANGE}),
]


class Input(Schema):
    """A request body: unknown fields are refused, so a typo is an error, not ignored."""

    model_config = ConfigDict(extra="forbid")


# --- what the API shows --------------------------------------------------------------------


class Output(BaseModel):
    """The base of every answer: built from explicit values (the `of` constructors), never
    from model instances. Plain pydantic, not ninja's Schema, whose getter for ORM objects
    made the booking's answer four times as slow to build. Inputs are `Input`."""


class VaccineRef(Output):
    id: int
    name: str


class VaccineOut(Output):
    id: int
    name: str
    manufacturer: str
    doses: int = Field(description="Doses in the primary course.")
    minimum_days_between_doses: int
    minimum_age: int = Field(description="Minimum age in years on the appointment day.")
    cvx_code: str

    @classmethod
    def of(cls, vaccine: Vaccine) -> "VaccineOut":
        return cls(
            id=vaccine.pk,
            name=vaccine.name,
            manufacturer=vaccine.manufacturer,
            doses=vaccine.doses_in_primary_course,
            minimum_days_between_doses=vaccine.minimum_days_between_doses,
            minimum_age=vaccine.minimum_age,
            cvx_code=vaccine.cvx_code,
        )


class CentreOut(Output):
    id: int
    name: str
    address: str
    postcode: str
    town: str
    phone: str
    latitude: float
    longitude: float
    time_zone: str = Field(description="IANA time zone: times at this centre are local to it.")

    @classmethod
    def of(cls, centre: Centre) -> "CentreOut":
        return cls(
            id=centre.pk,
            name=centre.name,
            address=centre.address,
            postcode=centre.postcode,
            town=centre.town,
            phone=centre.phone,
            latitude=float(centre.latitude),
            longitude=float(centre.longitude),
            time_zone=centre.time_zone,
        )


def local(moment: dt.datetime, centre: Centre) -> dt.datetime:
    return moment.astimezone(centre.zone)


class SlotOut(Output):
    id: int
    starts_at: dt.datetime
    ends_at: dt.datetime
    vaccine: VaccineRef
    capacity: int
    remaining: int = Field(description="Places still free.")

    @classmethod
    def of(cls, slot: Slot, centre: Centre) -> "SlotOut":
        return cls(
            id=slot.pk,
            starts_at=local(slot.starts_at, centre),
            ends_at=local(slot.ends_at, centre),
            vaccine=VaccineRef(id=slot.vaccine.pk, name=slot.vaccine.name),
            capacity=slot.capacity,
            remaining=slot.remaining,
        )


class AppointmentSlot(Output):
    """The time of an appointment (without the slot's counters)."""

    id: int
    starts_at: dt.datetime
    ends_at: dt.datetime
    vaccine: VaccineRef


class AppointmentOut(Output):
    id: uuid.UUID
    reference: str = Field(description="9 characters; people read it as ABC-DEF-GH7.")
    status: str = Field(description="booked, checked_in, vaccinated, cancelled or no_show.")
    dose_number: int
    person_id: int = Field(
        description="Whose appointment: your own citizen profile's id (GET /me) or one of "
        "the people you book for (GET /people)."
    )
    slot: AppointmentSlot
    centre: CentreOut
    token: str | None = Field(
        description="The signed confirmation (compact JWS, ES256) that the QR code carries; "
        "null once the appointment is cancelled or missed."
    )

    @classmethod
    def of(cls, appointment: Appointment) -> "AppointmentOut":
        slot = appointment.slot
        centre = slot.centre
        return cls(
            id=appointment.pk,
            reference=appointment.reference,
            status=appointment.status,
            dose_number=appointment.dose_number,
            person_id=appointment.person_id,
            slot=AppointmentSlot(
                id=slot.pk,
                starts_at=local(slot.starts_at, centre),
                ends_at=local(slot.ends_at, centre),
                vaccine=VaccineRef(id=slot.vaccine.pk, name=slot.vaccine.name),
            ),
            centre=CentreOut.of(centre),
            token=confirmation(appointment),
        )


def confirmation(appointment: Appointment) -> str | None:
    """The signed confirmation of a live appointment."""
    if not appointment.is_live:
        return None
    try:
        return issue_token(appointment)
    except AppointmentTooFarAhead:  # a slot opened more than a year ahead: no token yet
        return None


class UserRef(Output):
    id: int
    email: str

    @classmethod
    def of(cls, user: User | None) -> "UserRef | None":
        return None if user is None else cls(id=user.pk, email=user.email)
