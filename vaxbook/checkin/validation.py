"""Scan and validate: what a scanned confirmation or a typed reference means at a centre now.

Exactly one outcome, the first that applies, in DESIGN.md's order:

    invalid_signature   a token that does not verify (malformed, foreign key, tampered)
    unknown_reference   no such appointment: a typed reference with a typo (the check
                        character catches it before any lookup), an unknown reference,
                        or a genuine token whose appointment id and reference no longer
                        name one appointment together
    cancelled           the appointment was cancelled
    wrong_centre        the appointment is at another centre than the one validating
    already_vaccinated  the dose was given
    already_checked_in  checked in before (the Validation says when and by whom)
    too_early           the appointment is on a later day, at its centre's local day
    expired             the appointment was on an earlier day, or was marked a no-show
    valid               booked, here, today: it may be checked in

The token is only a way to find the appointment. Its signature proves it is ours; the
status, centre and day are read from the appointment row as it is now (its current slot),
so a token for a cancelled or rescheduled appointment reports what the row says. An
expired token (its day plus the grace period is over) is still genuine: its appointment is
looked up and the order continues, usually ending at `expired`.

A no-show is reported as `expired`, at expired's place in the order: the person missed the
appointment, whose time has come (a no-show can only be marked then), and must book again.
`cancelled` is kept for cancellations.

"The day" is the local day at the appointment's centre, never the server's.

validate() only reads (one query for the staff membership, one for the appointment) and
appends its audit row; check_in_with() writes the check-in through
vaxbook.bookings.services.check_in, which audits it in the same transaction.

A vaccination certificate (a SMART Health Card, `shc:/…` or its JWS) is not a
confirmation: it names no appointment, so it has no place in the order above and checks
nobody in. check_certificate() is its own branch: whose it is, which doses, and whether
the signature is ours and intact (vaxbook.credentials.health_card.read: `genuine`,
`invalid_signature`, `unknown_issuer`, `malformed`). What an altered or foreign card
claims is not repeated. Staff check certificates at the centres they belong to, as they
validate, and each check appends one audit row (outcome `certificate_<verdict>`).
"""

import datetime as dt
import uuid
from dataclasses import dataclass
from enum import StrEnum

from django.utils import timezone
from django.utils.translation import gettext as _

from vaxbook.accounts.models import User
from vaxbook.audit.models import AuditAction
from vaxbook.audit.services import record_event
from vaxbook.bookings import references, services
from vaxbook.bookings.errors import InvalidTransition, NotPermitted
from vaxbook.bookings.models import Appointment, AppointmentStatus
from vaxbook.centres.models import Centre, Vaccine
from vaxbook.credentials import health_card
from vaxbook.credentials.tokens import ExpiredToken, InvalidToken, verify_token

# Anything longer than this cannot be a reference, however it is spaced or hyphenated:
# refused before normalizing (10 kB of junk from a scanner costs nothing).
MAX_TYPED_REFERENCE_LENGTH = 64


class Outcome(StrEnum):
    """The outcomes in the order they are tried (DESIGN.md, "Validation on the day")."""

    INVALID_SIGNATURE = "invalid_signature"
    UNKNOWN_REFERENCE = "unknown_reference"
    CANCELLED = "cancelled"
    WRONG_CENTRE = "wrong_centre"
    ALREADY_VACCINATED = "already_vaccinated"
    ALREADY_CHECKED_IN = "already_checked_in"
    TOO_EARLY = "too_early"
    EXPIRED = "expired"
    VALID = "valid"


@dataclass(frozen=True)
class Validation:
    """The outcome, and the appointment it is about (None for invalid_signature and
    unknown_reference; otherwise loaded with slot, centre, vaccine, person and checked_in_by).

    `checked_in_at` and `checked_in_by` say when and by whom the appointment was checked in:
    set for already_checked_in, and for the `valid` result of check_in_with() that has just
    checked the person in; None otherwise."""

    outcome: Outcome
    appointment: Appointment | None = None
    checked_in_at: dt.datetime | None = None
    checked_in_by: User | None = None

    @property
    def is_valid(self) -> bool:
        return self.outcome == Outcome.VALID


def validate(
    *,
    staff: User,
    centre_id: int,
    token: str | None = None,
    reference: str | None = None,
    client_address: str | None = None,
) -> Validation:
    """What the confirmation `token` (scanned) or the typed `reference` means at centre
    `centre_id` now. Exactly one of the two is given (ValueError otherwise).

    Raises NotPermitted unless `staff` belongs to the centre (any role) or is an
    administrator. Changes nothing but the audit log: one row per attempt, with its
    outcome and `client_address`."""
    validation = _audited(
        AuditAction.VALIDATION,
        staff=staff,
        centre_id=centre_id,
        token=token,
        reference=reference,
        client_address=client_address,
    )
    _record(AuditAction.VALIDATION, validation, staff, centre_id, token, client_address)
    return validation


def check_in_with(
    *,
    staff: User,
    centre_id: int,
    token: str | None = None,
    reference: str | None = None,
    client_address: str | None = None,
) -> Validation:
    """Validate, and check the person in when the outcome is `valid`.

    Of two staff checking one person in at once, one wins; the other gets the outcome as it
    is after the winner's check-in (`already_checked_in`, with when and by whom). Any other
    outcome is returned unchanged and nothing is written but the audit log.

    Each call writes one `check_in` audit row: the check-in itself (in its transaction,
    outcome `checked_in`), or the outcome that stopped it."""
    validation = _audited(
        AuditAction.CHECK_IN,
        staff=staff,
        centre_id=centre_id,
        token=token,
        reference=reference,
        client_address=client_address,
    )
    if validation.outcome != Outcome.VALID or validation.appointment is None:
        _record(AuditAction.CHECK_IN, validation, staff, centre_id, token, client_address)
        return validation
    try:
        checked_in = services.check_in(
            appointment_id=validation.appointment.pk,
            staff=staff,
            slot_id=validation.appointment.slot_id,
            client_address=client_address,
        )
    except (InvalidTransition, NotPermitted):
        # The appointment changed between our read and our write: someone checked the
        # person in, or they cancelled or moved it (perhaps to a centre this staff member
        # does not belong to). Validating again gives the outcome as it is now; the failed
        # check-in rolled back, so this is the attempt's one audit row.
        now_is = _audited(
            AuditAction.CHECK_IN,
            staff=staff,
            centre_id=centre_id,
            token=token,
            reference=reference,
            client_address=client_address,
        )
        _record(AuditAction.CHECK_IN, now_is, staff, centre_id, token, client_address)
        return now_is
    return Validation(
        Outcome.VALID,
        checked_in,
        checked_in_at=checked_in.checked_in_at,
        checked_in_by=checked_in.checked_in_by,
    )


@dataclass(frozen=True)
class CertificateCheck:
    """A certificate as read, and the names of its vaccines (CVX code -> our name; a code
    we do not know is left out)."""

    reading: health_card.CardReading
    vaccine_names: dict[str, str]


def check_certificate(
    *, staff: User, centre_id: int, certificate: str, client_address: str | None = None
) -> CertificateCheck:
    """Whose the certificate is, which doses, and whether it is ours and intact.

    Raises NotPermitted unless `staff` belongs to the centre or is an administrator (the
    refusal is audited as for a validation). Changes nothing but the audit log."""
    try:
        _ensure_member(staff, centre_id)
    except NotPermitted as refused:
        record_event(
            actor=staff,
            action=AuditAction.VALIDATION,
            centre_id=None,
            outcome=refused.code,
            client_address=client_address,
            detail={"centre_id": centre_id, "presented": "certificate"},
        )
        raise
    reading = health_card.read(certificate)
    codes = {dose.cvx for dose in reading.doses}
    names = dict(
        Vaccine.objects.filter(cvx_code__in=codes).values_list("cvx_code", "name") if codes else []
    )
    record_event(
        actor=staff,
        action=AuditAction.VALIDATION,
        centre_id=centre_id,
        outcome=f"certificate_{reading.verdict.value}",
        client_address=client_address,
        # As for a token: what was presented, not the holder's name and birth date.
        detail={"presented": "certificate", "doses": len(reading.doses)},
    )
    return CertificateCheck(reading=reading, vaccine_names=names)


# --- the pieces ------------------------------------------------------------------------


def _validate(
    *, staff: User, centre_id: int, token: str | None, reference: str | None
) -> Validation:
    if (token is None) == (reference is None):
        raise ValueError("Give exactly one of token and reference.")
    _ensure_member(staff, centre_id)
    now = timezone.now()
    found = (
        _appointment_of_token(token, now)
        if token is not None
        else _appointment_of_reference(reference or "")
    )
    if isinstance(found, Outcome):
        return Validation(found)
    return _judge(found, centre_id=centre_id, now=now)


def _audited(
    action: AuditAction,
    *,
    staff: User,
    centre_id: int,
    token: str | None,
    reference: str | None,
    client_address: str | None,
) -> Validation:
    """_validate(), auditing a refusal: staff asking at a centre they do not belong to."""
    try:
        return _validate(staff=staff, centre_id=centre_id, token=token, reference=reference)
    except NotPermitted as refused:
        # Not filed under the centre: it may not exist, and its managers need not read
        # what outsiders tried; administrators see these rows in the admin.
        record_event(
            actor=staff,
            action=action,
            centre_id=None,
            outcome=refused.code,
            client_address=client_address,
            detail={"centre_id": centre_id, "presented": _presented(token)},
        )
        raise


def _record(
    action: AuditAction,
    validation: Validation,
    staff: User,
    centre_id: int,
    token: str | None,
    client_address: str | None,
) -> None:
    record_event(
        actor=staff,
        action=action,
        centre_id=centre_id,
        appointment_id=validation.appointment.pk if validation.appointment else None,
        outcome=validation.outcome.value,
        client_address=client_address,
        # What was presented, not its text: a token carries the holder's name and birth
        # date, which the audit log has no need to copy.
        detail={"presented": _presented(token)},
    )


def _presented(token: str | None) -> str:
    return "token" if token is not None else "reference"


def _ensure_member(staff: User, centre_id: int) -> None:
    """Staff validate only for centres they belong to, whatever their role; administrators
    at any centre there is."""
    if not staff.works_at(centre_id):
        raise NotPermitted(_("You do not work at this centre."))
    # Staff belong only to centres that exist; an administrator may name any id, and the
    # audit row of the attempt is filed under the centre.
    if staff.is_superuser and not Centre.objects.filter(pk=centre_id).exists():
        raise NotPermitted(_("There is no centre with this id."))


def _appointment_of_token(token: str, now: dt.datetime) -> Appointment | Outcome:
    try:
        claims = verify_token(token, now=now)
    except ExpiredToken as expired:
        # Genuine, only late: the appointment row decides what that means.
        claims = expired.claims
    except InvalidToken:
        return Outcome.INVALID_SIGNATURE
    return _find(appointment_id=claims.appointment_id, reference=claims.reference)


def _appointment_of_reference(typed: str) -> Appointment | Outcome:
    if not isinstance(typed, str) or len(typed) > MAX_TYPED_REFERENCE_LENGTH:
        return Outcome.UNKNOWN_REFERENCE
    try:
        reference = references.normalize(typed)
    except references.MalformedReference:
        # A typo the check character caught: no lookup, and nothing to verify a
        # signature of, so the reference is simply not one we know.
        return Outcome.UNKNOWN_REFERENCE
    return _find(reference=reference)


def _find(*, reference: str, appointment_id: uuid.UUID | None = None) -> Appointment | Outcome:
    appointments = Appointment.objects.select_related(
        "slot__centre", "slot__vaccine", "person", "checked_in_by"
    ).filter(reference=reference)
    if appointment_id is not None:
        # A token names its appointment twice; both must agree with the same row.
        appointments = appointments.filter(pk=appointment_id)
    appointment = appointments.first()
    return Outcome.UNKNOWN_REFERENCE if appointment is None else appointment


def _judge(appointment: Appointment, *, centre_id: int, now: dt.datetime) -> Validation:
    """The outcome for an appointment that exists, from its row as it is now."""
    status = appointment.status
    if status == AppointmentStatus.CANCELLED:
        return Validation(Outcome.CANCELLED, appointment)
    if appointment.slot.centre_id != centre_id:
        return Validation(Outcome.WRONG_CENTRE, appointment)
    if status == AppointmentStatus.VACCINATED:
        return Validation(Outcome.ALREADY_VACCINATED, appointment)
    if status == AppointmentStatus.CHECKED_IN:
        return Validation(
            Outcome.ALREADY_CHECKED_IN,
            appointment,
            checked_in_at=appointment.checked_in_at,
            checked_in_by=appointment.checked_in_by,
        )
    centre = appointment.slot.centre
    day, today = centre.local_date(appointment.slot.starts_at), centre.local_date(now)
    if day > today:
        return Validation(Outcome.TOO_EARLY, appointment)
    if day < today or status == AppointmentStatus.NO_SHOW:
        return Validation(Outcome.EXPIRED, appointment)
    if status != AppointmentStatus.BOOKED:  # every status is handled above
        raise AssertionError(f"Unexpected appointment status {status!r}.")
    return Validation(Outcome.VALID, appointment)
