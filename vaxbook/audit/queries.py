"""Reads of the audit log for the staff pages."""

import uuid
from collections.abc import Iterable

from django.db.models import QuerySet

from vaxbook.accounts.models import User
from vaxbook.audit.models import AuditEvent
from vaxbook.bookings import references
from vaxbook.bookings.models import Appointment
from vaxbook.centres.permissions import may_manage


def may_read_centre_log(user: User, centre_id: int) -> bool:
    """Centre managers read their centre's log; administrators any centre's."""
    return may_manage(user, centre_id)


def centre_log(centre_id: int) -> QuerySet[AuditEvent]:
    """The centre's audit events, newest first (the (centre, at) index serves it)."""
    return (
        AuditEvent.objects.filter(centre_id=centre_id)
        .select_related("actor")
        .order_by("-at", "-id")
    )


def references_of(appointment_ids: Iterable[uuid.UUID]) -> dict[uuid.UUID, str]:
    """The printed references of these appointments, in one query."""
    rows = Appointment.objects.filter(pk__in=set(appointment_ids)).values_list("pk", "reference")
    return {pk: references.display(reference) for pk, reference in rows}
