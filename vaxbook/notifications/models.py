from email.utils import parseaddr
from typing import ClassVar

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from vaxbook.notifications.events import Channel, Event


class MessageStatus(models.TextChoices):
    # Waiting for its time (`next_attempt_at`): just written, scheduled, or between retries.
    PENDING = "pending", _("Pending")
    # A worker claimed it and is handing it to the mail server or SMS provider.
    SENDING = "sending", _("Sending")
    SENT = "sent", _("Sent")
    # Given up: a permanent refusal, or every attempt failed. Staff can retry it.
    FAILED = "failed", _("Failed")
    # Not sent on purpose: a reminder for a cancelled or moved appointment, no address.
    SKIPPED = "skipped", _("Skipped")


class Message(models.Model):
    """The outbox: one row per message a change to an appointment announces, per channel.

    Rows are written by vaxbook.notifications.services.announce() in the transaction of the
    change, with the task that delivers them, so a message exists exactly when the change
    does. The row is the unit of "never twice": it moves pending -> sending -> sent by
    conditional updates (vaxbook.notifications.tasks), and its idempotency key names the
    occurrence, so a second row for the same occurrence is refused by the database and a
    resend of this one carries the same email Message-ID.
    """

    appointment = models.ForeignKey(
        "bookings.Appointment", on_delete=models.PROTECT, related_name="messages"
    )
    # The appointment's slot when the message was written. A reminder whose appointment has
    # since moved to another slot is skipped.
    slot = models.ForeignKey(
        "centres.Slot", on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    event = models.CharField(_("event"), max_length=16, choices=Event.choices)
    channel = models.CharField(_("channel"), max_length=8, choices=Channel.choices)
    # Which occurrence of the event this is, for the appointment: 0 for events that happen
    # once (booked, cancelled, vaccinated); n for the n-th reschedule; for a reminder, the
    # number of reschedules before it was scheduled (the latest one wins).
    version = models.PositiveIntegerField(_("version"), default=0)
    idempotency_key = models.CharField(_("idempotency key"), max_length=100, editable=False)
    reason = models.CharField(_("reason"), max_length=300, blank=True)
    status = models.CharField(
        _("status"), max_length=8, choices=MessageStatus.choices, default=MessageStatus.PENDING
    )
    # Attempts to send so far (each claim counts one).
    attempts = models.PositiveSmallIntegerField(_("attempts"), default=0)
    # Why the last attempt failed, or why the message was skipped.
    last_error = models.TextField(_("last error"), blank=True)
    created_at = models.DateTimeField(_("created at"))
    # When a pending message is due: at once, the reminder's time, or the next retry.
    next_attempt_at = models.DateTimeField(_("next attempt at"))
    # The lease of the worker that is sending it: set with status `sending`. A claim older
    # than the lease means that worker died, and the message may be claimed again.
    claimed_at = models.DateTimeField(_("claimed at"), null=True, blank=True)
    claim_token = models.UUIDField(_("claim"), null=True, blank=True, editable=False)
    sent_at = models.DateTimeField(_("sent at"), null=True, blank=True)

    class Meta:
        verbose_name = _("message")
        ordering: ClassVar = ["-created_at", "-id"]
        constraints: ClassVar = [
            models.UniqueConstraint(
                fields=["idempotency_key"], name="message_idempotency_key_unique"
            ),
            models.CheckConstraint(
                condition=Q(status__in=MessageStatus.values), name="message_status_known"
            ),
            models.CheckConstraint(condition=Q(event__in=Event.values), name="message_event_known"),
            models.CheckConstraint(
                condition=Q(channel__in=Channel.values), name="message_channel_known"
            ),
            models.CheckConstraint(
                condition=~Q(status=MessageStatus.SENDING)
                | Q(claimed_at__isnull=False, claim_token__isnull=False),
                name="sending_message_has_claim",
            ),
            models.CheckConstraint(
                condition=~Q(status=MessageStatus.SENT) | Q(sent_at__isnull=False),
                name="sent_message_has_sent_at",
            ),
        ]
        indexes: ClassVar = [
            # The sweep's and the admin's questions: what is stuck, due or failed.
            models.Index(fields=["status", "next_attempt_at"], name="message_status_due_idx"),
        ]

    def __str__(self) -> str:
        return f"{self.get_event_display()} {self.get_channel_display()} ({self.idempotency_key})"

    @staticmethod
    def key_for(*, appointment_id: object, event: str, channel: str, version: int) -> str:
        return f"{appointment_id}:{event}:{channel}:{version}"

    @property
    def email_message_id(self) -> str:
        """The Message-ID header, derived from the idempotency key: a resend after a crash
        is the same message to the mail server and the person's mail client."""
        domain = parseaddr(settings.DEFAULT_FROM_EMAIL)[1].rpartition("@")[2] or "vaxbook.invalid"
        # A Message-ID's left part is a dot-atom: the key's colons become dots.
        return f"<{self.idempotency_key.replace(':', '.')}@{domain}>"
