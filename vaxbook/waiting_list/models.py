"""The waiting list: who waits for which dose, where and when (WaitingEntry), and the places
offered to them (Offer).

An offer holds its place in the slot's own counter: it was taken by the same conditional
update that books a place (`booked = booked + 1 WHERE booked < capacity`), so while it is
`held` the place counts as booked and nobody else can have it. It leaves `held` exactly once,
by a conditional update on its status: accepted (the place becomes the appointment, the
counter unchanged), or declined, expired or released (the place is given back,
`booked - 1`). Rows are written only by vaxbook.waiting_list.services.
"""

import datetime as dt
import uuid
from typing import ClassVar

from django.db import models
from django.db.models import F, Q
from django.utils.translation import gettext_lazy as _

from vaxbook.centres.models import Weekday
from vaxbook.waiting_list.tokens import offer_token


class TimeOfDay(models.TextChoices):
    """Parts of the day on the centre's clock."""

    MORNING = "m", _("Morning (before 12:00)")
    AFTERNOON = "a", _("Afternoon (12:00 to 17:00)")
    EVENING = "e", _("Evening (from 17:00)")

    @classmethod
    def of(cls, moment: dt.time) -> "TimeOfDay":
        if moment.hour < 12:
            return cls.MORNING
        if moment.hour < 17:
            return cls.AFTERNOON
        return cls.EVENING


ALL_WEEKDAYS = "".join(str(day) for day in Weekday.values)
ALL_TIMES_OF_DAY = "".join(TimeOfDay.values)


class EntryStatus(models.TextChoices):
    WAITING = "waiting", _("Waiting")
    # Holding an offer now (one at a time: constraint one_held_offer_per_entry).
    OFFERED = "offered", _("Offer made")
    BOOKED = "booked", _("Booked")
    LEFT = "left", _("Left the list")
    # An offer expired unanswered: the entry leaves the line, so that a person who does not
    # answer does not hold every later place for the length of an offer too.
    LAPSED = "lapsed", _("Offer not answered")


LIVE_ENTRY_STATUSES = (EntryStatus.WAITING, EntryStatus.OFFERED)


class WaitingEntryQuerySet(models.QuerySet["WaitingEntry"]):
    def live(self) -> "WaitingEntryQuerySet":
        return self.filter(status__in=LIVE_ENTRY_STATUSES)


class WaitingEntry(models.Model):
    """A person waiting for a place for one dose of one vaccine, at one of `centres`, on a
    day from `first_day` to `last_day` (the centre's local days), on `weekdays` (digits,
    Monday = 0) and at `times_of_day` (TimeOfDay letters). `short_notice`: they can come
    to a place that frees up within a few hours of its time. The line is by `joined_at`:
    changing what one waits for keeps one's place."""

    person = models.ForeignKey(
        "accounts.Citizen", on_delete=models.CASCADE, related_name="waiting_entries"
    )
    vaccine = models.ForeignKey("centres.Vaccine", on_delete=models.PROTECT, related_name="+")
    dose_number = models.PositiveSmallIntegerField(_("dose"))
    centres = models.ManyToManyField(
        "centres.Centre", related_name="waiting_entries", verbose_name=_("centres")
    )
    first_day = models.DateField(_("from"))
    last_day = models.DateField(_("until"))
    weekdays = models.CharField(_("days of the week"), max_length=7, default=ALL_WEEKDAYS)
    times_of_day = models.CharField(_("times of day"), max_length=3, default=ALL_TIMES_OF_DAY)
    short_notice = models.BooleanField(_("can come at short notice"), default=False)
    status = models.CharField(
        _("status"), max_length=8, choices=EntryStatus.choices, default=EntryStatus.WAITING
    )
    # The language of the messages: the one the person joined in.
    language = models.CharField(_("language"), max_length=8, blank=True)
    joined_at = models.DateTimeField(_("joined at"))
    changed_at = models.DateTimeField(_("changed at"))
    closed_at = models.DateTimeField(_("closed at"), null=True, blank=True)

    objects = WaitingEntryQuerySet.as_manager()

    class Meta:
        verbose_name = _("waiting-list entry")
        verbose_name_plural = _("waiting-list entries")
        constraints: ClassVar = [
            models.UniqueConstraint(
                fields=["person", "dose_number"],
                condition=Q(status__in=LIVE_ENTRY_STATUSES),
                name="one_live_waiting_entry_per_person_and_dose",
            ),
            models.CheckConstraint(
                condition=Q(last_day__gte=F("first_day")), name="waiting_entry_range_in_order"
            ),
            models.CheckConstraint(
                condition=Q(status__in=EntryStatus.values), name="waiting_entry_status_known"
            ),
            models.CheckConstraint(
                condition=Q(dose_number__gte=1), name="waiting_entry_dose_number_positive"
            ),
        ]
        indexes: ClassVar = [
            # The matcher's question: who waits for this vaccine, in joining order.
            models.Index(fields=["vaccine", "status", "joined_at"], name="waiting_entry_line_idx"),
        ]

    def __str__(self) -> str:
        return f"{self.person} dose {self.dose_number} ({self.get_status_display()})"

    @property
    def is_live(self) -> bool:
        return self.status in LIVE_ENTRY_STATUSES

    def weekday_labels(self) -> list[str]:
        return [str(Weekday(int(day)).label) for day in self.weekdays]

    def time_of_day_labels(self) -> list[str]:
        return [str(TimeOfDay(letter).label) for letter in self.times_of_day]


class OfferStatus(models.TextChoices):
    HELD = "held", _("Waiting for an answer")
    ACCEPTED = "accepted", _("Accepted")
    DECLINED = "declined", _("Declined")
    EXPIRED = "expired", _("Expired")
    # Given back without an answer: the person booked elsewhere, left the list, or the
    # place could not become theirs (the slot closed, no longer eligible).
    RELEASED = "released", _("Released")


class Offer(models.Model):
    """One place in `slot` held for `entry`'s person until `expires_at`."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    entry = models.ForeignKey(WaitingEntry, on_delete=models.CASCADE, related_name="offers")
    # The entry's person, so that a booking can ask "does this person hold an offer?" in
    # the statement that locks them (vaxbook.bookings.sql), from an index.
    person = models.ForeignKey("accounts.Citizen", on_delete=models.CASCADE, related_name="+")
    slot = models.ForeignKey("centres.Slot", on_delete=models.PROTECT, related_name="+")
    status = models.CharField(
        _("status"), max_length=8, choices=OfferStatus.choices, default=OfferStatus.HELD
    )
    made_at = models.DateTimeField(_("made at"))
    expires_at = models.DateTimeField(_("expires at"))
    decided_at = models.DateTimeField(_("decided at"), null=True, blank=True)
    appointment = models.OneToOneField(
        "bookings.Appointment",
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
    )

    class Meta:
        verbose_name = _("waiting-list offer")
        constraints: ClassVar = [
            models.UniqueConstraint(
                fields=["entry"],
                condition=Q(status="held"),
                name="one_held_offer_per_entry",
            ),
            # A place declined or let expire in a slot is not offered again to the same
            # person: the next in line gets it.
            models.UniqueConstraint(fields=["entry", "slot"], name="one_offer_per_entry_and_slot"),
            models.CheckConstraint(
                condition=Q(status__in=OfferStatus.values), name="offer_status_known"
            ),
            models.CheckConstraint(
                condition=~Q(status="accepted") | Q(appointment__isnull=False),
                name="accepted_offer_has_appointment",
            ),
            models.CheckConstraint(
                condition=Q(status="held") | Q(decided_at__isnull=False),
                name="closed_offer_has_decided_at",
            ),
        ]
        indexes: ClassVar = [
            models.Index(
                fields=["person"], condition=Q(status="held"), name="offer_held_by_person_idx"
            ),
            # The sweep's question: held offers past their time.
            models.Index(
                fields=["expires_at"], condition=Q(status="held"), name="offer_held_expiry_idx"
            ),
            models.Index(fields=["slot", "status"], name="offer_slot_status_idx"),
        ]

    def __str__(self) -> str:
        return f"Offer {self.pk} ({self.get_status_display()})"

    @property
    def token(self) -> str:
        """The signed id its link carries (vaxbook.waiting_list.tokens)."""
        return offer_token(self.pk)
