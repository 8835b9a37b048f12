"""Changes staff make to a centre's day as a whole (one appointment at a time is
vaxbook.bookings.services)."""

import datetime as dt

from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from vaxbook.accounts.models import StaffStep, User
from vaxbook.bookings.errors import NotPermitted
from vaxbook.bookings.services import record_no_show
from vaxbook.centres.models import Centre
from vaxbook.checkin import queries


def mark_remaining_no_shows(
    *, staff: User, centre_id: int, day: dt.date, client_address: str | None
) -> int:
    """Mark as no-shows the appointments of the centre's local `day` that are still booked
    and whose slot has ended; the number marked.

    Each goes through the rule of a single no-show (vaxbook.bookings.services.record_no_show):
    a conditional update on `booked`, so a person checked in meanwhile (the check-in commits
    first, or this update waits for its row lock on PostgreSQL and then finds the status
    changed) is left alone and not counted. One audit row per appointment marked, in the same
    transaction. Raises NotPermitted unless `staff` may mark no-shows there."""
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
            if record_no_show(
                staff=staff,
                appointment_id=appointment_id,
                slot_id=slot_id,
                centre_id=centre_id,
                client_address=client_address,
                detail={"day": day.isoformat(), "bulk": True},
            ):
                marked += 1
    return marked
