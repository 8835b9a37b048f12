"""The waiting room's configuration (edited by the health authority) and the line's state
in the database (the embedded default, without Redis).

The rules that use them live in vaxbook.waiting_room.services (and the two stores)."""

from typing import ClassVar

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from vaxbook.centres.policy import CohortOpening


class AdmissionMode(models.TextChoices):
    MANUAL = "manual", _("Manual: the configured rate")
    AUTO = "auto", _("Automatic: the rate the service sustains")


class WaitingRoom(models.Model):
    """One opening's waiting room. At most one is active at a time; its line (the order,
    the admissions) belongs to it, so a new opening starts a new line."""

    name = models.CharField(_("name"), max_length=120)
    cohort_opening = models.ForeignKey(
        CohortOpening,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="waiting_rooms",
        verbose_name=_("cohort opening"),
        help_text=_("Its vaccine's places count for “places left”; its instant is the default."),
    )
    active = models.BooleanField(_("active"), default=False)
    opens_at = models.DateTimeField(
        _("opens at"),
        blank=True,
        help_text=_(
            "Who arrives before waits in a pre-queue; places are drawn at random then. "
            "Empty: the cohort opening's instant."
        ),
    )
    rate_per_minute = models.PositiveIntegerField(
        _("admissions per minute"),
        default=600,
        help_text=_("In automatic mode, the starting rate (then measured)."),
    )
    pass_lifetime_seconds = models.PositiveIntegerField(_("pass lifetime (seconds)"), default=900)
    paused = models.BooleanField(_("admission paused"), default=False)
    mode = models.CharField(
        _("mode"), max_length=8, choices=AdmissionMode.choices, default=AdmissionMode.MANUAL
    )
    auto_switch_on_per_second = models.PositiveIntegerField(
        _("switch on above (booking requests per second)"),
        null=True,
        blank=True,
        help_text=_("Empty: never switches itself on."),
    )
    next_release = models.CharField(
        _("what happens when places run out"),
        max_length=300,
        blank=True,
        help_text=_("e.g. “More places are released on Monday at 08:00.”"),
    )

    class Meta:
        verbose_name = _("waiting room")
        ordering: ClassVar = ["-opens_at"]
        constraints: ClassVar = [
            models.UniqueConstraint(
                fields=["active"], condition=Q(active=True), name="one_active_waiting_room"
            ),
            models.CheckConstraint(
                condition=Q(rate_per_minute__gte=1), name="waiting_room_rate_positive"
            ),
            models.CheckConstraint(
                condition=Q(pass_lifetime_seconds__gte=60), name="waiting_room_pass_a_minute"
            ),
        ]

    def __str__(self) -> str:
        return self.name


class LineState(models.Model):
    """The line of one room in the database store: how many were drawn from the pre-queue,
    how many joined after the opening, and the admission frontier (`admitted` people, as a
    real number, at `admitted_at`). Every change takes this row's lock."""

    room = models.OneToOneField(WaitingRoom, on_delete=models.CASCADE, primary_key=True)
    opened = models.BooleanField(default=False)
    pre_count = models.PositiveIntegerField(default=0)
    fifo_count = models.PositiveIntegerField(default=0)
    admitted = models.FloatField(default=0.0)
    admitted_at = models.FloatField(default=0.0)  # Unix time

    def __str__(self) -> str:
        return f"line of room {self.room_id}"


class Ticket(models.Model):
    """One place in the line (database store). `draw` orders the pre-queue at the opening;
    `position` is fixed once given and never changes."""

    room = models.ForeignKey(WaitingRoom, on_delete=models.CASCADE, related_name="tickets")
    ticket_id = models.CharField(max_length=32)
    account = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, null=True, blank=True
    )
    draw = models.BigIntegerField()
    position = models.PositiveIntegerField(null=True, blank=True)
    joined_at = models.FloatField()
    admitted_at = models.FloatField(null=True, blank=True)

    class Meta:
        constraints: ClassVar = [
            models.UniqueConstraint(fields=["room", "ticket_id"], name="ticket_id_unique"),
            models.UniqueConstraint(fields=["room", "position"], name="ticket_position_unique"),
            models.UniqueConstraint(
                fields=["room", "account"],
                condition=Q(account__isnull=False),
                name="one_ticket_per_account",
            ),
        ]
        indexes: ClassVar = [models.Index(fields=["room", "draw"])]

    def __str__(self) -> str:
        return f"{self.ticket_id} at {self.position}"


class PassHolder(models.Model):
    """The account a pass books for, bound at its first authenticated use: a pass books
    for one account only, and an account holds one live pass at a time."""

    room = models.ForeignKey(WaitingRoom, on_delete=models.CASCADE, related_name="pass_holders")
    ticket_id = models.CharField(max_length=32)
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE)
    expires_at = models.DateTimeField()

    class Meta:
        constraints: ClassVar = [
            models.UniqueConstraint(fields=["room", "ticket_id"], name="pass_one_account"),
            models.UniqueConstraint(fields=["room", "user"], name="account_one_pass"),
        ]

    def __str__(self) -> str:
        return f"{self.ticket_id} for {self.user_id}"


class LoadSample(models.Model):
    """Booking requests, their errors and total latency in one ten-second window: what
    the automatic mode and the live view read (kept in the cache first, folded here)."""

    room = models.ForeignKey(WaitingRoom, on_delete=models.CASCADE, related_name="samples")
    window_start = models.DateTimeField()
    admitted = models.FloatField(default=0.0)
    waiting = models.PositiveIntegerField(default=0)
    bookings = models.PositiveIntegerField(default=0)
    requests = models.PositiveIntegerField(default=0)
    errors = models.PositiveIntegerField(default=0)
    latency_ms_total = models.FloatField(default=0.0)
    rate_per_minute = models.FloatField(default=0.0)

    class Meta:
        constraints: ClassVar = [
            models.UniqueConstraint(fields=["room", "window_start"], name="one_sample_per_window")
        ]

    def __str__(self) -> str:
        return f"{self.room_id} at {self.window_start:%H:%M:%S}"
