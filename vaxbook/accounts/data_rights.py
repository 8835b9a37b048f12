"""A person's rights over their data: a copy of everything kept about them, and the erasure
of their account. docs/privacy.md is the register of what is kept, why and for how long.

Erasing an account:

1. Every appointment still to come is cancelled through the booking engine, one by one, so
   each place goes back to its slot exactly as a cancellation by the person does
   (vaxbook.bookings.services.cancel_appointment). An appointment that started within the
   last IN_PROGRESS hours and is still booked may be under way at the centre (staff match
   the name on the confirmation with an ID): the person is told to erase the account
   after it.
2. Then, in one transaction with the person locked: if nothing is booked for the future any
   more (a booking made meanwhile would be), the account is closed (no password, inactive,
   its API tokens and idempotency records deleted: the latter hold the signed
   confirmation, with the name and date of birth) and the person's identifying data are
   erased. What the health authority must keep (the doses given and the appointments, for
   the vaccination register and the centres' reports) stays, attached to a person who is
   no longer named: no name, email, phone or priority group, and of the date of birth only
   the year, which the reports by age need. Messages not yet sent are skipped.

Both steps can run again: a failure between them leaves an active account whose future
appointments are cancelled, and the person can simply ask again.
"""

import datetime as dt
import logging
from dataclasses import dataclass
from typing import Any

from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from vaxbook.accounts.models import Citizen, User
from vaxbook.api.models import ApiToken, IdempotencyRecord
from vaxbook.bookings import services as bookings
from vaxbook.bookings.errors import NotCancellable
from vaxbook.bookings.models import Appointment, AppointmentStatus, VaccinationRecord
from vaxbook.core.errors import DomainError
from vaxbook.notifications.models import Message, MessageStatus

logger = logging.getLogger(__name__)

ERASED_NAME = "[erased]"
IN_PROGRESS = dt.timedelta(hours=12)


class ErasureRefused(DomainError):
    code = "erasure_refused"


@dataclass(frozen=True)
class Erasure:
    cancelled: int  # appointments cancelled, their places given back


def export_personal_data(*, user: User) -> dict[str, Any]:
    """Everything kept about the account's holder, as JSON-ready data."""
    citizen = Citizen.objects.filter(user=user).first()
    data: dict[str, Any] = {
        "exported_at": timezone.now().isoformat(),
        "account": {
            "email": user.email,
            "created_at": user.date_joined.isoformat(),
            "last_sign_in": user.last_login.isoformat() if user.last_login else None,
        },
        "citizen": None,
        "appointments": [],
    }
    if citizen is None:
        return data
    data["citizen"] = {
        "full_name": citizen.full_name,
        "date_of_birth": citizen.date_of_birth.isoformat(),
        "phone": citizen.phone,
        "language": citizen.language,
        "priority_group": citizen.priority_group,
    }
    appointments = (
        Appointment.objects.filter(person=citizen)
        .select_related("slot__centre", "slot__vaccine")
        .order_by("slot__starts_at")
    )
    records = {
        record.appointment_id: record
        for record in VaccinationRecord.objects.filter(appointment__person=citizen)
    }
    messages: dict[Any, list[dict[str, Any]]] = {}
    for message in Message.objects.filter(appointment__person=citizen).order_by("created_at"):
        messages.setdefault(message.appointment_id, []).append(
            {
                "event": message.event,
                "channel": message.channel,
                "status": message.status,
                "created_at": message.created_at.isoformat(),
                "sent_at": message.sent_at.isoformat() if message.sent_at else None,
            }
        )
    for appointment in appointments:
        record = records.get(appointment.pk)
        data["appointments"].append(
            {
                "id": str(appointment.pk),
                "reference": appointment.reference,
                "status": appointment.status,
                "dose_number": appointment.dose_number,
                "centre": appointment.slot.centre.name,
                "vaccine": appointment.slot.vaccine.name,
                "starts_at": appointment.slot.starts_at.isoformat(),
                "booked_at": appointment.created_at.isoformat(),
                "cancelled_at": _iso(appointment.cancelled_at),
                "checked_in_at": _iso(appointment.checked_in_at),
                "vaccination": None
                if record is None
                else {
                    "lot_number": record.lot_number,
                    "injection_site": record.injection_site,
                    "administered_at": record.administered_at.isoformat(),
                },
                "messages": messages.get(appointment.pk, []),
            }
        )
    return data


def erase_account(*, user: User, password: str) -> Erasure:
    """Close the citizen's account and erase what names them (module docstring). Raises
    ErasureRefused for a wrong password, a staff account, or an appointment that has
    started."""
    if not user.check_password(password):
        raise ErasureRefused(_("That password is not right."))
    if user.is_superuser or user.memberships.exists():
        raise ErasureRefused(_("Staff accounts are closed by an administrator, not on this page."))
    citizen = Citizen.objects.filter(user=user).first()
    cancelled = 0
    if citizen is not None:
        if _bookings_under_way(citizen):
            raise _in_progress()
        for appointment_id in _future_bookings(citizen):
            try:
                bookings.cancel_appointment(person=citizen, appointment_id=appointment_id)
            except NotCancellable:  # it started, or staff checked the person in, meanwhile
                raise _in_progress() from None
            cancelled += 1
    with transaction.atomic(durable=True):
        if citizen is not None:
            Citizen.objects.select_for_update().get(pk=citizen.pk)
            if _future_bookings(citizen):
                raise ErasureRefused(_("An appointment was booked meanwhile. Try again."))
            _erase_citizen(citizen)
        _close_account(user)
    logger.info("Account %s erased at its holder's request.", user.pk)
    return Erasure(cancelled=cancelled)


def _in_progress() -> ErasureRefused:
    return ErasureRefused(
        _(
            "One of your appointments has started and can no longer be cancelled. "
            "Delete your account after it."
        )
    )


def _bookings_under_way(citizen: Citizen) -> bool:
    now = timezone.now()
    return Appointment.objects.filter(
        person=citizen,
        status__in=[AppointmentStatus.BOOKED, AppointmentStatus.CHECKED_IN],
        slot__starts_at__lte=now,
        slot__starts_at__gt=now - IN_PROGRESS,
    ).exists()


def _future_bookings(citizen: Citizen) -> list[Any]:
    return list(
        Appointment.objects.filter(
            person=citizen, status=AppointmentStatus.BOOKED, slot__starts_at__gt=timezone.now()
        ).values_list("pk", flat=True)
    )


def _erase_citizen(citizen: Citizen) -> None:
    citizen.full_name = ERASED_NAME
    citizen.date_of_birth = dt.date(citizen.date_of_birth.year, 1, 1)
    citizen.phone = ""
    citizen.priority_group = ""
    citizen.save(update_fields=["full_name", "date_of_birth", "phone", "priority_group"])
    Message.objects.filter(appointment__person=citizen, status=MessageStatus.PENDING).update(
        status=MessageStatus.SKIPPED
    )


def _close_account(user: User) -> None:
    ApiToken.objects.filter(user=user).delete()
    IdempotencyRecord.objects.filter(user=user).delete()
    user.email = f"erased-{user.pk}@erased.invalid"
    user.set_unusable_password()
    user.is_active = False
    user.save(update_fields=["email", "password", "is_active"])


def _iso(moment: dt.datetime | None) -> str | None:
    return moment.isoformat() if moment else None
