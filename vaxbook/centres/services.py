"""Managing centres: their details and vaccines, opening hours, capacity, closing slots and
days, staff. Every rule and role check lives here; the staff pages only parse and render.

Who may do what is vaxbook.centres.permissions: administrators everything, a centre's
managers their own centre. Every function that changes something is one durable
transaction that also writes its audit row (vaxbook.audit), so a change exists exactly
when its record does; a refused change raises a vaxbook.centres.errors exception and
leaves nothing behind.

Changes to one centre's templates and slots take the centre's row lock first, so two
managers adding overlapping templates, or generating slots while a day is being closed,
run one after the other.
"""

import datetime as dt
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from django.core.exceptions import ValidationError
from django.core.validators import validate_email
from django.db import transaction
from django.db.models import Max, QuerySet
from django.utils import timezone, translation
from django.utils.translation import gettext as _
from django.utils.translation import ngettext

from vaxbook.accounts.models import StaffMembership, StaffRole, User
from vaxbook.accounts.staff import staff_device
from vaxbook.audit.models import AuditAction
from vaxbook.audit.services import record_event
from vaxbook.bookings.models import Appointment
from vaxbook.bookings.services import cancel_for_centre_closure
from vaxbook.centres import availability
from vaxbook.centres.errors import (
    CapacityBelowBooked,
    CentreNotFound,
    InvalidCentre,
    InvalidChange,
    InvalidInvitation,
    InvalidTemplate,
    NotPermitted,
)
from vaxbook.centres.invitations import send_staff_invitation
from vaxbook.centres.models import (
    MAX_PLACES_PER_SLOT,
    Centre,
    OpeningTemplate,
    Slot,
    Vaccine,
)
from vaxbook.centres.permissions import is_administrator, managed_centre_ids, may_manage
from vaxbook.centres.queries import local_day_bounds
from vaxbook.waiting_list import hooks as waiting_list

# The reason travels to every person affected (email) and into the appointment's record.
MAX_REASON_LENGTH = 300


# --- reading what one manages -------------------------------------------------------------


def managed_centre(*, user: Any, centre_id: int) -> Centre:
    """The centre, if `user` may manage it; otherwise NotPermitted (a page shows a 404 for
    both, like a centre that does not exist)."""
    centre = Centre.objects.filter(pk=centre_id).first()
    if centre is None:
        raise CentreNotFound(_("Centre not found."))
    _ensure_manages(user, centre_id)
    return centre


def managed_centres(*, user: Any) -> list[Centre]:
    """The centres `user` manages (every centre for an administrator), by name."""
    centre_ids = managed_centre_ids(user)
    centres = Centre.objects.order_by("name")
    return list(centres if centre_ids is None else centres.filter(pk__in=centre_ids))


def day_slots(*, user: Any, centre_id: int, day: dt.date) -> list[Slot]:
    """Every slot of the centre's local `day` (closed and started ones too), for managing
    capacity: with their vaccine, by time."""
    centre = managed_centre(user=user, centre_id=centre_id)
    start, end = local_day_bounds(centre, day)
    return list(
        Slot.objects.filter(centre=centre, starts_at__gte=start, starts_at__lt=end)
        .select_related("vaccine")
        .order_by("starts_at", "vaccine__name")
    )


def managed_slot(*, user: Any, centre_id: int, slot_id: int) -> Slot:
    centre = managed_centre(user=user, centre_id=centre_id)
    slot = Slot.objects.select_related("vaccine").filter(pk=slot_id, centre=centre).first()
    if slot is None:
        raise CentreNotFound(_("Slot not found."))
    slot.centre = centre
    return slot


def staff_of(*, user: Any, centre_id: int) -> list[StaffMembership]:
    centre = managed_centre(user=user, centre_id=centre_id)
    return list(
        StaffMembership.objects.filter(centre=centre).select_related("user").order_by("user__email")
    )


# --- centres and the vaccines they offer ---------------------------------------------------


@dataclass(frozen=True, kw_only=True)
class CentreDetails:
    name: str
    address: str
    postcode: str
    town: str
    phone: str
    latitude: Decimal
    longitude: Decimal
    time_zone: str
    is_active: bool
    vaccine_ids: frozenset[int]


def create_centre(
    *, staff: User, details: CentreDetails, client_address: str | None = None
) -> Centre:
    """A new centre, for administrators only (the health authority opens centres)."""
    if not is_administrator(staff):
        raise NotPermitted(_("Only administrators can open a new centre."))
    with transaction.atomic(durable=True):
        centre = Centre()
        _apply_details(centre, details)
        centre.save()
        centre.vaccines.set(details.vaccine_ids)
        availability.changed(centre_list=True)
        record_event(
            actor=staff,
            action=AuditAction.CENTRE_CHANGED,
            centre_id=centre.pk,
            outcome="created",
            client_address=client_address,
            detail=_details_for_audit(details),
        )
    return centre


def update_centre(
    *, staff: User, centre_id: int, details: CentreDetails, client_address: str | None = None
) -> Centre:
    """Change a centre's details, opening status and vaccines (its managers, or an
    administrator).

    Refused: dropping a vaccine that still has opening hours (they would generate slots
    for a vaccine the centre no longer offers), and changing the time zone while the centre
    has slots from today on (their local times would all shift)."""
    _ensure_manages(staff, centre_id)
    with transaction.atomic(durable=True):
        centre = _lock_centre(centre_id)
        before = _centre_snapshot(centre)
        old_zone, today_starts = centre.time_zone, _start_of_today(centre)
        _apply_details(centre, details)
        errors: dict[str, list[str]] = {}
        dropped = set(centre.vaccines.values_list("pk", flat=True)) - set(details.vaccine_ids)
        in_use = sorted(
            Vaccine.objects.filter(
                pk__in=centre.opening_templates.filter(vaccine_id__in=dropped).values("vaccine_id")
            ).values_list("name", flat=True)
        )
        if in_use:
            errors["vaccine_ids"] = [
                _(
                    "%(vaccines)s still has opening hours at this centre. Remove those "
                    "opening hours first."
                )
                % {"vaccines": ", ".join(in_use)}
            ]
        if (
            centre.time_zone != old_zone
            and centre.slots.filter(starts_at__gte=today_starts).exists()
        ):
            errors["time_zone"] = [
                _(
                    "The time zone cannot change while the centre has slots from today on: "
                    "their times would all move."
                )
            ]
        if errors:
            raise InvalidCentre(_("The centre could not be changed."), errors=errors)
        centre.save()
        centre.vaccines.set(details.vaccine_ids)
        availability.changed(centres=[centre.pk], centre_list=True)
        after = _centre_snapshot(centre)
        record_event(
            actor=staff,
            action=AuditAction.CENTRE_CHANGED,
            centre_id=centre.pk,
            outcome="updated",
            client_address=client_address,
            detail={
                key: {"from": before[key], "to": after[key]}
                for key in after
                if before[key] != after[key]
            },
        )
    return centre


def _apply_details(centre: Centre, details: CentreDetails) -> None:
    for field in (
        "name",
        "address",
        "postcode",
        "town",
        "phone",
        "latitude",
        "longitude",
        "time_zone",
        "is_active",
    ):
        value = getattr(details, field)
        setattr(centre, field, value.strip() if isinstance(value, str) else value)
    try:
        centre.full_clean(exclude=["vaccines"])
    except ValidationError as error:
        raise InvalidCentre(
            _("The centre's details are not valid."), errors=error.message_dict
        ) from error
    known = set(Vaccine.objects.filter(pk__in=details.vaccine_ids).values_list("pk", flat=True))
    if known != set(details.vaccine_ids):
        raise InvalidCentre(
            _("The centre's details are not valid."),
            errors={"vaccine_ids": [_("Choose vaccines from the list.")]},
        )


def _centre_snapshot(centre: Centre) -> dict[str, Any]:
    snapshot: dict[str, Any] = {
        field: str(getattr(centre, field))
        for field in ("name", "address", "postcode", "town", "phone", "latitude", "longitude")
    }
    snapshot["time_zone"] = centre.time_zone
    snapshot["is_active"] = centre.is_active
    snapshot["vaccines"] = sorted(centre.vaccines.values_list("name", flat=True))
    return snapshot


def _details_for_audit(details: CentreDetails) -> dict[str, Any]:
    return {
        "name": details.name,
        "town": details.town,
        "time_zone": details.time_zone,
        "is_active": details.is_active,
        "vaccines": sorted(
            Vaccine.objects.filter(pk__in=details.vaccine_ids).values_list("name", flat=True)
        ),
    }


# --- opening templates ---------------------------------------------------------------------


@dataclass(frozen=True, kw_only=True)
class TemplateDetails:
    vaccine_id: int
    weekday: int
    opens_at: dt.time
    closes_at: dt.time
    slot_minutes: int
    places_per_slot: int
    valid_from: dt.date | None = None
    valid_until: dt.date | None = None


def add_opening_template(
    *,
    staff: User,
    centre_id: int,
    details: TemplateDetails,
    client_address: str | None = None,
) -> OpeningTemplate:
    """Weekly opening hours for one of the centre's vaccines. Refused with a message per
    field: hours that close before they open, a slot length outside 5-240 minutes, places
    outside 1-500, a vaccine the centre does not offer, or hours overlapping another
    template of the same vaccine and weekday (whose validity overlaps too)."""
    _ensure_manages(staff, centre_id)
    with transaction.atomic(durable=True):
        centre = _lock_centre(centre_id)
        if not centre.vaccines.filter(pk=details.vaccine_id).exists():
            raise InvalidTemplate(
                _("The centre does not offer this vaccine."),
                errors={"vaccine_id": [_("Choose one of the vaccines this centre offers.")]},
            )
        template = OpeningTemplate(
            centre=centre,
            vaccine_id=details.vaccine_id,
            weekday=details.weekday,
            opens_at=details.opens_at,
            closes_at=details.closes_at,
            slot_minutes=details.slot_minutes,
            places_per_slot=details.places_per_slot,
            valid_from=details.valid_from,
            valid_until=details.valid_until,
        )
        try:
            template.full_clean()
        except ValidationError as error:
            errors = _with_form_names(error.message_dict)
            first = next(message for messages in errors.values() for message in messages)
            raise InvalidTemplate(first, errors=errors) from error
        template.save()
        record_event(
            actor=staff,
            action=AuditAction.CENTRE_CHANGED,
            centre_id=centre.pk,
            outcome="template_added",
            client_address=client_address,
            detail={"template": str(template)},
        )
    return template


def remove_opening_template(
    *, staff: User, centre_id: int, template_id: int, client_address: str | None = None
) -> None:
    """Remove weekly opening hours. Slots already generated from them stay as they are."""
    _ensure_manages(staff, centre_id)
    with transaction.atomic(durable=True):
        _lock_centre(centre_id)
        template = (
            OpeningTemplate.objects.select_related("vaccine")
            .filter(pk=template_id, centre_id=centre_id)
            .first()
        )
        if template is None:
            raise CentreNotFound(_("Opening hours not found."))
        description = str(template)
        template.delete()
        record_event(
            actor=staff,
            action=AuditAction.CENTRE_CHANGED,
            centre_id=centre_id,
            outcome="template_removed",
            client_address=client_address,
            detail={"template": description},
        )


def _with_form_names(errors: dict[str, list[str]]) -> dict[str, list[str]]:
    # The model's `vaccine` is the form's `vaccine_id`.
    return {("vaccine_id" if key == "vaccine" else key): value for key, value in errors.items()}


# --- capacity ------------------------------------------------------------------------------


def change_slot_capacity(
    *,
    staff: User,
    centre_id: int,
    slot_id: int,
    capacity: int,
    client_address: str | None = None,
) -> Slot:
    """Give a slot that has not started `capacity` places, never fewer than are booked.

    One conditional update (`... SET capacity = %s WHERE booked <= %s`), so a booking that
    lands meanwhile is counted: on PostgreSQL the update waits for the booking's row lock
    and re-checks its condition; the CHECK constraint `slot_booked_within_capacity` refuses
    the impossible whatever runs."""
    _ensure_manages(staff, centre_id)
    _check_capacity(capacity)
    now = timezone.now()
    with transaction.atomic(durable=True):
        slot = Slot.objects.select_related("centre").filter(pk=slot_id, centre_id=centre_id).first()
        if slot is None:
            raise CentreNotFound(_("Slot not found."))
        if slot.starts_at <= now:
            raise InvalidChange(_("This slot has already started: its places cannot change."))
        changed = Slot.objects.filter(pk=slot_id, booked__lte=capacity, starts_at__gt=now).update(
            capacity=capacity
        )
        if not changed:
            booked = Slot.objects.values_list("booked", flat=True).get(pk=slot_id)
            raise CapacityBelowBooked(
                ngettext(
                    "%(booked)d place is already booked in this slot: it cannot have fewer "
                    "than %(booked)d. To free booked places, close the slot (the people "
                    "booked are then told).",
                    "%(booked)d places are already booked in this slot: it cannot have fewer "
                    "than %(booked)d. To free booked places, close the slot (the people "
                    "booked are then told).",
                    booked,
                )
                % {"booked": booked},
                booked=booked,
            )
        availability.slots_changed([slot])
        waiting_list.places_freed(slot_ids=[slot_id])
        record_event(
            actor=staff,
            action=AuditAction.CAPACITY_CHANGE,
            centre_id=centre_id,
            outcome="slot",
            client_address=client_address,
            detail={
                "slot_id": slot_id,
                "starts_at": slot.starts_at.isoformat(),
                "from": slot.capacity,
                "to": capacity,
            },
        )
    slot.refresh_from_db()
    return slot


def change_day_capacity(
    *,
    staff: User,
    centre_id: int,
    day: dt.date,
    capacity: int,
    vaccine_id: int | None = None,
    client_address: str | None = None,
) -> int:
    """Give every slot of the centre's local `day` that has not started (of one vaccine when
    `vaccine_id` is given) `capacity` places; how many slots changed. All of them or none:
    when any slot has more places booked, nothing changes and the message says how many."""
    _ensure_manages(staff, centre_id)
    _check_capacity(capacity)
    now = timezone.now()
    with transaction.atomic(durable=True):
        centre = _lock_centre(centre_id)
        slots = _future_slots_of_day(centre, day, now, vaccine_id)
        if not slots.exists():
            raise InvalidChange(_("There are no slots left to change on that day."))
        # The conditional update first: the slots it leaves out are exactly those with more
        # places booked, and any booking into the updated ones now counts against the new
        # capacity. Raising below undoes the update.
        changed = slots.filter(booked__lte=capacity).update(capacity=capacity)
        most_booked = slots.filter(booked__gt=capacity).aggregate(most=Max("booked"))["most"]
        if most_booked is not None:
            raise CapacityBelowBooked(
                ngettext(
                    "A slot on that day already has %(booked)d place booked: the day's slots "
                    "cannot have fewer than %(booked)d places.",
                    "A slot on that day already has %(booked)d places booked: the day's slots "
                    "cannot have fewer than %(booked)d places.",
                    most_booked,
                )
                % {"booked": most_booked},
                booked=most_booked,
            )
        availability.changed(days=[(centre_id, day)])
        waiting_list.places_freed(days=[(centre_id, day)])
        record_event(
            actor=staff,
            action=AuditAction.CAPACITY_CHANGE,
            centre_id=centre_id,
            outcome="day",
            client_address=client_address,
            detail={
                "day": day.isoformat(),
                "vaccine_id": vaccine_id,
                "to": capacity,
                "slots": changed,
            },
        )
    return changed


def _check_capacity(capacity: int) -> None:
    if not 0 <= capacity <= MAX_PLACES_PER_SLOT:
        raise InvalidChange(
            _("A slot has between 0 and %(max)d places.") % {"max": MAX_PLACES_PER_SLOT}
        )


# --- closing slots and days ----------------------------------------------------------------


@dataclass(frozen=True)
class Closure:
    slots: int
    cancelled: list[Appointment]


def close_slot(
    *,
    staff: User,
    centre_id: int,
    slot_id: int,
    reason: str,
    client_address: str | None = None,
) -> Closure:
    """Close one slot that has not started: nobody can book it any more, its booked
    appointments are cancelled with `reason`, and each person is told (email and SMS)."""
    _ensure_manages(staff, centre_id)
    reason = _check_reason(reason)
    now = timezone.now()
    with transaction.atomic(durable=True):
        _lock_centre(centre_id)
        slot = Slot.objects.filter(pk=slot_id, centre_id=centre_id).first()
        if slot is None:
            raise CentreNotFound(_("Slot not found."))
        if slot.starts_at <= now:
            raise InvalidChange(_("This slot has already started: it cannot be closed."))
        if not slot.is_open:
            raise InvalidChange(_("This slot is already closed."))
        cancelled = cancel_for_centre_closure(staff=staff, slot_ids=[slot_id], reason=reason)
        record_event(
            actor=staff,
            action=AuditAction.SLOT_CLOSED,
            centre_id=centre_id,
            outcome=f"{len(cancelled)} cancelled",
            client_address=client_address,
            detail={
                "slot_id": slot_id,
                "starts_at": slot.starts_at.isoformat(),
                "reason": reason,
                "cancelled": [appointment.reference for appointment in cancelled],
            },
        )
    return Closure(slots=1, cancelled=cancelled)


def close_day(
    *,
    staff: User,
    centre_id: int,
    day: dt.date,
    reason: str,
    vaccine_id: int | None = None,
    client_address: str | None = None,
) -> Closure:
    """Close the centre's local `day` (from now on, if it is today; one vaccine's slots
    when `vaccine_id` is given) as close_slot does for each of its open slots."""
    _ensure_manages(staff, centre_id)
    reason = _check_reason(reason)
    now = timezone.now()
    with transaction.atomic(durable=True):
        centre = _lock_centre(centre_id)
        slot_ids = list(
            _future_slots_of_day(centre, day, now, vaccine_id)
            .filter(is_open=True)
            .values_list("pk", flat=True)
        )
        if not slot_ids:
            raise InvalidChange(_("There are no open slots left to close on that day."))
        cancelled = cancel_for_centre_closure(staff=staff, slot_ids=slot_ids, reason=reason)
        record_event(
            actor=staff,
            action=AuditAction.DAY_CLOSED,
            centre_id=centre_id,
            outcome=f"{len(cancelled)} cancelled",
            client_address=client_address,
            detail={
                "day": day.isoformat(),
                "vaccine_id": vaccine_id,
                "slots": len(slot_ids),
                "reason": reason,
                "cancelled": [appointment.reference for appointment in cancelled],
            },
        )
    return Closure(slots=len(slot_ids), cancelled=cancelled)


def _check_reason(reason: str) -> str:
    reason = " ".join(reason.split())
    if not reason:
        raise InvalidChange(
            _("Give the reason for closing: it is sent to everyone whose appointment is cancelled.")
        )
    if len(reason) > MAX_REASON_LENGTH:
        raise InvalidChange(
            _("Keep the reason to %(max)d characters or fewer.") % {"max": MAX_REASON_LENGTH}
        )
    return reason


def _future_slots_of_day(
    centre: Centre, day: dt.date, now: dt.datetime, vaccine_id: int | None
) -> QuerySet[Slot]:
    """The slots of the centre's local `day` that have not started by `now`."""
    start, end = local_day_bounds(centre, day)
    slots = Slot.objects.filter(centre=centre, starts_at__gte=start, starts_at__lt=end).filter(
        starts_at__gt=now
    )
    if vaccine_id is not None:
        slots = slots.filter(vaccine_id=vaccine_id)
    return slots


# --- staff ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class Invitation:
    membership: StaffMembership
    # What happened: "created" (a new account, invited to set a password), "added" (an
    # existing account joins the centre), "role_changed", or "unchanged".
    outcome: str
    previous_role: str | None
    email_sent: bool


def invite_staff(
    *,
    staff: User,
    centre_id: int,
    email: str,
    role: str,
    client_address: str | None = None,
) -> Invitation:
    """Give the person with `email` the `role` at the centre.

    A new address gets an account with no usable password. Anyone without an authenticator
    yet gets an email with a link to choose a password and add one (single use, expires:
    vaxbook.accounts.enrolment). An existing account joins the centre or has its role there
    changed. Roles are per centre, so a manager can grant them
    only at their own centres; nobody becomes an administrator this way."""
    _ensure_manages(staff, centre_id)
    if role not in StaffRole.values:
        raise InvalidInvitation(_("Choose a role from the list."))
    email = email.strip().lower()
    try:
        validate_email(email)
    except ValidationError:
        raise InvalidInvitation(
            _("Enter an email address in the right format, like name@example.org.")
        ) from None
    with transaction.atomic(durable=True):
        centre = _lock_centre(centre_id)
        user = User.objects.filter(email__iexact=email).first()
        outcome = "added"
        if user is None:
            user = User.objects.create_user(email, password=None)
            outcome = "created"
        elif not user.is_active:
            raise InvalidInvitation(
                _("This account has been deactivated. An administrator can reactivate it.")
            )
        membership, joined = StaffMembership.objects.get_or_create(
            user=user, centre=centre, defaults={"role": role}
        )
        previous_role = None
        if not joined:
            previous_role = membership.role
            if membership.role == role:
                outcome = "unchanged"
            else:
                membership.role = role
                membership.save(update_fields=["role"])
                outcome = "role_changed"
        # Until the person has added an authenticator, every invitation sends a fresh
        # link: the only way to add one (vaxbook.accounts.enrolment).
        email_sent = staff_device(user) is None
        if email_sent:
            send_staff_invitation.enqueue(
                user_id=user.pk, centre_id=centre.pk, language=translation.get_language() or ""
            )
        record_event(
            actor=staff,
            action=AuditAction.STAFF_INVITED,
            centre_id=centre.pk,
            outcome=outcome,
            client_address=client_address,
            detail={"email": email, "role": role, "previous_role": previous_role},
        )
    return Invitation(
        membership=membership,
        outcome=outcome,
        previous_role=previous_role,
        email_sent=email_sent,
    )


# --- the pieces ----------------------------------------------------------------------------


def _ensure_manages(user: Any, centre_id: int) -> None:
    if not may_manage(user, centre_id):
        raise NotPermitted(_("You do not manage this centre."))


def _lock_centre(centre_id: int) -> Centre:
    centre = Centre.objects.select_for_update().filter(pk=centre_id).first()
    if centre is None:
        raise CentreNotFound(_("Centre not found."))
    return centre


def _start_of_today(centre: Centre) -> dt.datetime:
    return local_day_bounds(centre, centre.local_date(timezone.now()))[0]
