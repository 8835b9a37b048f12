"""The audit log: who did what, at which centre, when and from where.

Rows are only ever added, through vaxbook.audit.services.record_event. The model refuses
to save an existing row or delete one; on PostgreSQL a trigger refuses UPDATE and DELETE on
the table as well, whatever code (or a raw SQL session) tries it.

One change is allowed, deliberately: erasing an event's client address once the retention
period has passed (AuditEventQuerySet.erase_client_addresses, run by
vaxbook.accounts.retention). The address is personal data whose use, tracing a staff
action to a device or network, fades within weeks; who did what, where and when stays for
good. The trigger (migration 0004) lets through an UPDATE that sets the address to NULL and
leaves every other column as it was, and nothing else. We chose this over moving the address
to a table of its own: the event and its address are written together, by one INSERT, and
read together, and a second table would only move the same exception elsewhere.
"""

from typing import Any, ClassVar

from django.conf import settings
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _


class AuditAction(models.TextChoices):
    # Validation on the day.
    VALIDATION = "validation", _("Validation")
    CHECK_IN = "check_in", _("Check-in")
    NO_SHOW = "no_show", _("No-show")
    VACCINATION = "vaccination", _("Vaccination")
    # Centre management.
    CAPACITY_CHANGE = "capacity_change", _("Capacity change")
    SLOT_CLOSED = "slot_closed", _("Slot closed")
    DAY_CLOSED = "day_closed", _("Day closed")
    SLOTS_GENERATED = "slots_generated", _("Slots generated")
    STAFF_INVITED = "staff_invited", _("Staff invited")
    CENTRE_CHANGED = "centre_changed", _("Centre changed")
    POLICY_CHANGED = "policy_changed", _("Policy changed")
    # The waiting room of an opening.
    WAITING_ROOM_CHANGED = "waiting_room_changed", _("Waiting room changed")
    # The phone line (vaxbook.accounts.phone_line) and walk-ins at the centre.
    PHONE_SEARCH = "phone_search", _("Phone line: person searched")
    PHONE_RECORD_CREATED = "phone_record_created", _("Phone line: record created")
    PHONE_BOOKING = "phone_booking", _("Phone line: booked")
    PHONE_RESCHEDULE = "phone_reschedule", _("Phone line: moved")
    PHONE_CANCELLATION = "phone_cancellation", _("Phone line: cancelled")
    PHONE_LETTER = "phone_letter", _("Phone line: letter printed")
    WALK_IN = "walk_in", _("Walk-in vaccination")


class AuditLogIsAppendOnly(Exception):
    """An attempt to change or delete an audit row."""


class AuditEventQuerySet(models.QuerySet["AuditEvent"]):
    # Bulk updates and deletes bypass the model's save() and delete(): refuse them too.
    def update(self, **kwargs: Any) -> int:
        raise AuditLogIsAppendOnly("Audit events cannot be changed.")

    def delete(self) -> tuple[int, dict[str, int]]:
        raise AuditLogIsAppendOnly("Audit events cannot be deleted.")

    def erase_client_addresses(self) -> int:
        """Erase the client address of these events (the one change allowed: see the module
        docstring); the number of events that had one."""
        with_address = self.filter(client_address__isnull=False)
        return models.QuerySet.update(with_address, client_address=None)


class AuditEvent(models.Model):
    at = models.DateTimeField(_("when"), default=timezone.now, editable=False)
    # PROTECT: the log outlives neither its actor nor its centre silently; deactivate a
    # user instead of deleting them.
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="audit_events",
        verbose_name=_("who"),
    )
    action = models.CharField(_("action"), max_length=32, choices=AuditAction.choices)
    centre = models.ForeignKey(
        "centres.Centre",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="audit_events",
        verbose_name=_("centre"),
    )
    # The appointment's id, not a foreign key: the row must stay exactly as written, and
    # it names what was asked about even when that appointment does not exist.
    appointment_id = models.UUIDField(_("appointment id"), null=True, blank=True)
    outcome = models.CharField(_("outcome"), max_length=64, blank=True)
    client_address = models.GenericIPAddressField(_("client address"), null=True, blank=True)
    detail = models.JSONField(_("detail"), default=dict, blank=True)

    objects = AuditEventQuerySet.as_manager()

    class Meta:
        verbose_name = _("audit event")
        verbose_name_plural = _("audit events")
        ordering: ClassVar = ["-at", "-id"]
        indexes: ClassVar = [
            models.Index(fields=["centre", "at"], name="audit_centre_at"),
            models.Index(fields=["appointment_id"], name="audit_appointment"),
        ]

    def __str__(self) -> str:
        return f"{self.at:%Y-%m-%d %H:%M:%S} {self.action} {self.outcome}".strip()

    def save(self, *args: Any, **kwargs: Any) -> None:
        if not self._state.adding:
            raise AuditLogIsAppendOnly("An audit event cannot be changed.")
        super().save(*args, **kwargs)

    def delete(self, *args: Any, **kwargs: Any) -> tuple[int, dict[str, int]]:
        raise AuditLogIsAppendOnly("An audit event cannot be deleted.")
