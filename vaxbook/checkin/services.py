"""Changes staff make to a centre's day as a whole (one appointment at a time is
vaxbook.bookings.services)."""

import datetime as dt

from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from vaxbook.accounts.models import StaffStep, User
from vaxbook.audit.models import AuditAction
from vaxbook.audit.services import record_event
from vaxbook.bookings.errors import NotPermitted
from vaxbook.bookings.models import Appointment, AppointmentStatus
from vaxbook.centres.models import Centre
from vaxbook.checkin import queries


def mark_remaining_no_shows(
    *, staff: User, centre_id: int, day: dt.date, client_address: str | None
) -> int:
    """Mark as no-shows the appointments of the centre's local `day` that are still booked
    and whose slot has ended; the number marked.

    Each is a conditional update on `booked`, so a person checked in meanwhile (the check-in
    commits first, or this update waits for its row lock on PostgreSQL and then finds the
    status changed) is left alone and not counted. One audit row per appointment marked, in
    the same transaction. Raises NotPermitted unless `staff` may mark no-shows there."""
    if not staff.may_at(centre_id, StaffStep.MARK_NO_SHOW):
        raise NotPermitted(_("Your role at this centre does not allow this."))
    centre = Centre.objects.get(pk=centre_id)
    now = timezone.now()
    marked = 0
    with transaction.atomic(durable=True):
        # Ascending ids: two managers doing this at once lock rows in the same order.
        candidates = list(
            queries.remaining_booked(centre, day, now).order_by("pk").values_list("pk", "slot_id")
        )
        for appointment_id, slot_id in candidates:
            # Only the row's own columns in the WHERE clause: a condition on the joined slot
            # would become a subquery, which PostgreSQL does not re-check after waiting for
            # a concurrent check-in's row lock, and the no-show would overwrite it. The slot
            # as read (its end is over) must still be the appointment's.
            moved = Appointment.objects.filter(
                pk=appointment_id, status=AppointmentStatus.BOOKED, slot_id=slot_id
            ).update(status=AppointmentStatus.NO_SHOW)
            if not moved:
                continue
            marked += 1
            record_event(
                actor=staff,
                action=AuditAction.NO_SHOW,
                centre_id=centre_id,
                appointment_id=appointment_id,
                outcome=AppointmentStatus.NO_SHOW,
                client_address=client_address,
                detail={"day": day.isoformat(), "bulk": True},
            )
    return marked
