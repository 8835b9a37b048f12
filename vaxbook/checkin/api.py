"""API for centre staff on the day: validate a confirmation, check the person in, record
the dose given.

The same functions as the staff pages (vaxbook.checkin.validation, and
vaxbook.bookings.services.record_vaccination), with the client's address for the audit log.
A validation or check-in names its centre with `centre_id`; staff who work at one centre
only may leave it out.
"""

import datetime as dt
import uuid
from collections.abc import Callable
from typing import Literal

from django.http import HttpRequest
from django.utils.translation import gettext as _
from ninja import Field, Router
from ninja.decorators import decorate_view
from ninja.params import P, PathEx
from ninja.responses import Status
from pydantic import ConfigDict, model_validator

from vaxbook.accounts.models import User
from vaxbook.api import http
from vaxbook.api.auth import bearer, staff_caller
from vaxbook.api.problems import ApiProblem, Problem
from vaxbook.api.schemas import (
    FREE_TEXT_SCHEMA,
    AppointmentSlot,
    CentreOut,
    FreeText,
    Id,
    Input,
    Moment,
    Output,
    Text,
    UserRef,
    VaccineRef,
    local,
)
from vaxbook.bookings import services
from vaxbook.bookings.errors import NotPermitted
from vaxbook.bookings.models import LOT_NUMBER_MAX_LENGTH, Appointment, InjectionSite
from vaxbook.checkin import validation
from vaxbook.checkin.validation import Outcome
from vaxbook.core import ratelimit
from vaxbook.core.clients import client_address
from vaxbook.credentials import health_card
from vaxbook.credentials.tokens import MAX_TOKEN_LENGTH

router = Router(tags=["staff"], auth=bearer)

# The holder's name and date of birth are shown only when staff must compare them with an
# ID: the person is booked here today, or was just checked in (as on the staff page).
_SHOWS_HOLDER = frozenset({Outcome.VALID, Outcome.ALREADY_CHECKED_IN})


class PresentedIn(Input):
    """Exactly one of `token` (the scanned QR code) and `reference` (typed)."""

    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "oneOf": [
                {"required": ["token"], "properties": {"token": {"type": "string"}}},
                {"required": ["reference"], "properties": {"reference": {"type": "string"}}},
            ],
        },
    )

    token: Text | None = Field(
        None,
        max_length=MAX_TOKEN_LENGTH,
        description="The scanned code: a confirmation's JWS, or (for POST /validations) a "
        "vaccination certificate, its `shc:/` string or its JWS.",
    )
    reference: Text | None = Field(
        None,
        max_length=validation.MAX_TYPED_REFERENCE_LENGTH,
        description="ABC-DEF-GH7, any case or spacing.",
    )
    centre_id: Id | None = Field(
        None, description="The centre validating; may be left out by staff of one centre."
    )

    @model_validator(mode="after")
    def _exactly_one(self) -> "PresentedIn":
        if (self.token is None) == (self.reference is None):
            raise ValueError(_("Send either a token or a reference."))
        return self


class Holder(Output):
    full_name: str
    date_of_birth: dt.date


class StaffAppointmentOut(Output):
    id: uuid.UUID
    reference: str
    status: str
    dose_number: int
    slot: AppointmentSlot
    centre: CentreOut
    holder: Holder | None = Field(
        description="Compare with the person's ID; shown for valid and already_checked_in."
    )


class CertificateDoseOut(Output):
    date: dt.date
    cvx: str
    vaccine: str | None = Field(description="Our name for the CVX code; null if unknown.")
    lot_number: str
    performer: str


class CertificateOut(Output):
    verdict: health_card.Verdict = Field(
        description="genuine (ours and intact), invalid_signature (our key, altered), "
        "unknown_issuer (not signed by a key we publish), malformed (not a certificate)."
    )
    genuine: bool
    issuer: str | None
    issued_at: dt.datetime | None
    holder: Holder | None = Field(description="Only for a genuine certificate.")
    doses: list[CertificateDoseOut] = Field(description="Only for a genuine certificate.")

    @classmethod
    def of(cls, check: validation.CertificateCheck) -> "CertificateOut":
        reading = check.reading
        born = reading.holder_date_of_birth  # set exactly for a genuine certificate
        return cls(
            verdict=reading.verdict,
            genuine=reading.is_genuine,
            issuer=reading.issuer or None,
            issued_at=reading.issued_at,
            holder=None
            if born is None
            else Holder(full_name=reading.holder_name, date_of_birth=born),
            doses=[
                CertificateDoseOut(
                    date=dose.date,
                    cvx=dose.cvx,
                    vaccine=check.vaccine_names.get(dose.cvx),
                    lot_number=dose.lot_number,
                    performer=dose.performer,
                )
                for dose in reading.doses
            ],
        )


class ValidationOut(Output):
    outcome: Outcome | Literal["certificate"] = Field(
        description="`certificate` when a vaccination certificate was presented (see "
        "`certificate`), otherwise the confirmation's outcome."
    )
    appointment: StaffAppointmentOut | None = Field(
        description="null for invalid_signature and unknown_reference."
    )
    checked_in_at: dt.datetime | None = Field(
        description="When the person was checked in (already_checked_in, or just now)."
    )
    checked_in_by: UserRef | None
    certificate: CertificateOut | None = Field(
        None, description="The vaccination certificate presented, as read."
    )

    @classmethod
    def of(cls, result: validation.Validation) -> "ValidationOut":
        appointment = result.appointment
        return cls(
            outcome=result.outcome,
            appointment=None
            if appointment is None
            else _staff_view(appointment, holder=result.outcome in _SHOWS_HOLDER),
            checked_in_at=None
            if result.checked_in_at is None or appointment is None
            else local(result.checked_in_at, appointment.slot.centre),
            checked_in_by=UserRef.of(result.checked_in_by),
            certificate=None,
        )


class VaccinationIn(Input):
    lot_number: FreeText = Field(
        min_length=1, max_length=LOT_NUMBER_MAX_LENGTH, json_schema_extra=FREE_TEXT_SCHEMA
    )
    injection_site: InjectionSite | None = None
    administered_at: Moment | None = Field(
        None, description="When the dose was given, with its offset; now by default."
    )


class VaccinationOut(Output):
    id: int
    appointment_id: uuid.UUID
    vaccine: VaccineRef
    lot_number: str
    injection_site: str
    administered_at: dt.datetime
    administered_by: UserRef


def _staff_view(appointment: Appointment, *, holder: bool) -> StaffAppointmentOut:
    slot = appointment.slot
    centre = slot.centre
    return StaffAppointmentOut(
        id=appointment.pk,
        reference=appointment.reference,
        status=appointment.status,
        dose_number=appointment.dose_number,
        slot=AppointmentSlot(
            id=slot.pk,
            starts_at=local(slot.starts_at, centre),
            ends_at=local(slot.ends_at, centre),
            vaccine=VaccineRef(id=slot.vaccine.pk, name=slot.vaccine.name),
        ),
        centre=CentreOut.of(centre),
        holder=Holder(
            full_name=appointment.person.full_name,
            date_of_birth=appointment.person.date_of_birth,
        )
        if holder
        else None,
    )


def _centre(user: User, centre_id: int | None) -> int:
    """The centre named, or the one centre the staff member works at."""
    if centre_id is not None:
        return centre_id
    centres = list(user.centre_roles)
    if len(centres) == 1:
        return centres[0]
    if not centres and not user.is_superuser:
        raise NotPermitted(_("This account does not work at any centre."))
    detail = (
        _("You work at several centres: say which one with centre_id.")
        if centres
        else _("An administrator says which centre with centre_id.")
    )
    raise ApiProblem(422, "centre_required", detail)


def _judged(
    request: HttpRequest, payload: PresentedIn, judge: Callable[..., validation.Validation]
) -> ValidationOut:
    user = staff_caller(request)
    address = client_address(request)
    ratelimit.hit(*ratelimit.validation(address, user.pk))
    return ValidationOut.of(
        judge(
            staff=user,
            centre_id=_centre(user, payload.centre_id),
            token=payload.token,
            reference=payload.reference,
            client_address=address,
        )
    )


PRESENTED_ERRORS = {
    403: "`not_permitted`: you do not work at this centre (or at any); for an administrator, "
    "no centre has this id; `second_factor_required`: the token was issued without the code "
    "of your authenticator app.",
    422: "`centre_required`: you work at several centres (or are an administrator), send "
    "`centre_id`; "
    "`validation_error`: send exactly one of `token` and `reference`.",
    429: "`rate_limited`: too many validations from this account or address.",
}


def _described(descriptions: dict[int, str]) -> dict[str, dict[int, dict[str, str]]]:
    return {"responses": {status: {"description": text} for status, text in descriptions.items()}}


@router.post(
    "/validations",
    response={200: ValidationOut, 403: Problem, 422: Problem, 429: Problem},
    summary="Validate a confirmation (no change)",
    openapi_extra=_described(PRESENTED_ERRORS),
)
@decorate_view(http.private)
def validate(request: HttpRequest, payload: PresentedIn) -> ValidationOut:
    """What the scanned `token` or typed `reference` means at the centre now: exactly one
    outcome, the first that applies of invalid_signature, unknown_reference, cancelled,
    wrong_centre, already_vaccinated, already_checked_in, too_early, expired, valid.
    Changes nothing (but the audit log).

    A vaccination certificate in `token` (`shc:/…` or its JWS) answers the outcome
    `certificate`: whose it is, which doses, and whether the signature is ours and intact."""
    if payload.token is not None and health_card.looks_like_card(payload.token):
        user = staff_caller(request)
        address = client_address(request)
        ratelimit.hit(*ratelimit.validation(address, user.pk))
        check = validation.check_certificate(
            staff=user,
            centre_id=_centre(user, payload.centre_id),
            certificate=payload.token,
            client_address=address,
        )
        return ValidationOut(
            outcome="certificate",
            appointment=None,
            checked_in_at=None,
            checked_in_by=None,
            certificate=CertificateOut.of(check),
        )
    return _judged(request, payload, validation.validate)


@router.post(
    "/checkins",
    response={200: ValidationOut, 403: Problem, 422: Problem, 429: Problem},
    summary="Validate and check the person in",
    openapi_extra=_described(PRESENTED_ERRORS),
)
@decorate_view(http.private)
def check_in(request: HttpRequest, payload: PresentedIn) -> ValidationOut:
    """As POST /validations, and when the outcome is `valid` the person is checked in
    (`checked_in_at`, `checked_in_by`). Of two check-ins of one person, the second gets
    `already_checked_in`, saying when and by whom: sending a check-in again is harmless."""
    return _judged(request, payload, validation.check_in_with)


@router.post(
    "/appointments/{appointment_id}/vaccination",
    response={201: VaccinationOut, 403: Problem, 404: Problem, 409: Problem, 422: Problem},
    summary="Record the dose given",
    openapi_extra=_described(
        {
            403: "`not_permitted`: your role at the appointment's centre does not vaccinate; "
            "`second_factor_required`: the token was issued without the code of your "
            "authenticator app.",
            404: "`not_found`: no such appointment.",
            409: "`invalid_transition`: the person is not checked in (`appointment_status` "
            "says what the appointment is).",
            422: "`invalid_record`: the time is in the future or before the check-in; "
            "`validation_error`.",
        }
    ),
)
@decorate_view(http.private)
def record_vaccination(
    request: HttpRequest,
    appointment_id: PathEx[uuid.UUID, P(description="The appointment's id.")],
    payload: VaccinationIn,
) -> Status[VaccinationOut]:
    """The checked-in person has had their dose: the appointment becomes `vaccinated`, the
    record keeps the vaccine, lot, injection site, time and who gave it."""
    staff = staff_caller(request)
    record = services.record_vaccination(
        appointment_id=appointment_id,
        staff=staff,
        lot_number=payload.lot_number,
        injection_site=payload.injection_site or "",
        administered_at=payload.administered_at,
        client_address=client_address(request),
    )
    centre = record.appointment.slot.centre
    return Status(
        201,
        VaccinationOut(
            id=record.pk,
            appointment_id=record.appointment_id,
            vaccine=VaccineRef(
                id=record.appointment.slot.vaccine.pk, name=record.appointment.slot.vaccine.name
            ),
            lot_number=record.lot_number,
            injection_site=record.injection_site,
            administered_at=local(record.administered_at, centre),
            administered_by=UserRef(id=staff.pk, email=staff.email),
        ),
    )
