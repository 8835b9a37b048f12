import uuid
from typing import ClassVar

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from vaxbook.bookings import references


class AppointmentStatus(models.TextChoices):
    BOOKED = "booked", _("Booked")
    CHECKED_IN = "checked_in", _("Checked in")
    VACCINATED = "vaccinated", _("Vaccinated")
    CANCELLED = "cancelled", _("Cancelled")
    NO_SHOW = "no_show", _("Did not attend")


class BookingChannel(models.TextChoices):
    """How an appointment was made: the reports count them apart."""

    SELF = "self", _("Booked by the person")
    RELATIVE = "relative", _("Booked by a relative or carer")
    PHONE_LINE = "phone_line", _("Booked by the phone line")
    WALK_IN = "walk_in", _("Walk-in at the centre")


# Statuses that hold a dose: a second appointment for the same dose is refused while one
# of these exists (constraint `one_live_appointment_per_person_and_dose`).
LIVE_STATUSES = (
    AppointmentStatus.BOOKED,
    AppointmentStatus.CHECKED_IN,
    AppointmentStatus.VACCINATED,
)


class Appointment(models.Model):
    """A person's place in a slot for one dose.

    Rows are written only by vaxbook.bookings.services. Status moves
    booked -> checked_in -> vaccinated, booked -> cancelled, booked -> no_show, each move
    a conditional update on the current status.
    """

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    person = models.ForeignKey(
        "accounts.Citizen", on_delete=models.PROTECT, related_name="appointments"
    )
    # No index of its own: the (slot, status) index below serves every lookup by slot, and
    # each index is one more write in every booking.
    slot = models.ForeignKey(
        "centres.Slot", on_delete=models.PROTECT, related_name="appointments", db_index=False
    )
    dose_number = models.PositiveSmallIntegerField(_("dose"))
    status = models.CharField(
        _("status"), max_length=16, choices=AppointmentStatus.choices, default="booked"
    )
    reference = models.CharField(_("reference"), max_length=references.LENGTH)
    created_at = models.DateTimeField(_("booked at"))
    cancelled_at = models.DateTimeField(_("cancelled at"), null=True, blank=True)
    cancellation_reason = models.CharField(_("cancellation reason"), max_length=300, blank=True)
    checked_in_at = models.DateTimeField(_("checked in at"), null=True, blank=True)
    checked_in_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("checked in by"),
    )
    vaccinated_at = models.DateTimeField(_("vaccinated at"), null=True, blank=True)
    # db_default: the booking's own INSERT (vaxbook.bookings.sql) names these columns, and
    # any other raw insert (benchmarks, the demo) gets a person's own booking.
    channel = models.CharField(
        _("booked through"),
        max_length=16,
        choices=BookingChannel.choices,
        default=BookingChannel.SELF,
        db_default=BookingChannel.SELF,
    )
    # Who made the appointment when not the person: the relative's account, the phone
    # line agent, the vaccinator of a walk-in. Emptied if that account is deleted; the
    # audit log keeps the staff's acts.
    booked_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("booked by"),
    )

    class Meta:
        verbose_name = _("appointment")
        constraints: ClassVar = [
            models.UniqueConstraint(fields=["reference"], name="appointment_reference_unique"),
            models.UniqueConstraint(
                fields=["person", "dose_number"],
                condition=Q(status__in=LIVE_STATUSES),
                name="one_live_appointment_per_person_and_dose",
            ),
            models.CheckConstraint(
                condition=Q(dose_number__gte=1), name="appointment_dose_number_positive"
            ),
            models.CheckConstraint(
                condition=Q(status__in=AppointmentStatus.values),
                name="appointment_status_known",
            ),
            models.CheckConstraint(
                condition=Q(channel__in=BookingChannel.values),
                name="appointment_channel_known",
            ),
            models.CheckConstraint(
                condition=~Q(status=AppointmentStatus.CANCELLED) | Q(cancelled_at__isnull=False),
                name="cancelled_appointment_has_cancelled_at",
            ),
            models.CheckConstraint(
                condition=~Q(
                    status__in=[AppointmentStatus.CHECKED_IN, AppointmentStatus.VACCINATED]
                )
                | Q(checked_in_at__isnull=False),
                name="checked_in_appointment_has_checked_in_at",
            ),
            models.CheckConstraint(
                condition=~Q(status=AppointmentStatus.VACCINATED) | Q(vaccinated_at__isnull=False),
                name="vaccinated_appointment_has_vaccinated_at",
            ),
        ]
        indexes: ClassVar = [models.Index(fields=["slot", "status"])]

    def __str__(self) -> str:
        return f"{self.display_reference} (dose {self.dose_number}, {self.get_status_display()})"

    @property
    def display_reference(self) -> str:
        return references.display(self.reference)

    @property
    def is_live(self) -> bool:
        return self.status in LIVE_STATUSES


LOT_NUMBER_MAX_LENGTH = 64


class InjectionSite(models.TextChoices):
    LEFT_ARM = "left_arm", _("Left arm")
    RIGHT_ARM = "right_arm", _("Right arm")
    LEFT_THIGH = "left_thigh", _("Left thigh")
    RIGHT_THIGH = "right_thigh", _("Right thigh")
    OTHER = "other", _("Other")


class VaccinationRecord(models.Model):
    """The dose given: what, which lot, where on the body, when and by whom."""

    appointment = models.OneToOneField(
        Appointment, on_delete=models.PROTECT, related_name="vaccination"
    )
    vaccine = models.ForeignKey("centres.Vaccine", on_delete=models.PROTECT, related_name="+")
    lot_number = models.CharField(_("lot number"), max_length=LOT_NUMBER_MAX_LENGTH)
    # Blank when the recording system did not say (the API makes it optional).
    injection_site = models.CharField(
        _("injection site"), max_length=16, choices=InjectionSite.choices, blank=True
    )
    administered_at = models.DateTimeField(_("administered at"))
    administered_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )

    class Meta:
        verbose_name = _("vaccination record")
        constraints: ClassVar = [
            models.CheckConstraint(
                condition=~Q(lot_number=""), name="vaccination_record_has_lot_number"
            ),
            models.CheckConstraint(
                condition=Q(injection_site__in=["", *InjectionSite.values]),
                name="vaccination_record_injection_site_known",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.vaccine} lot {self.lot_number} at {self.administered_at:%Y-%m-%d %H:%M}"
