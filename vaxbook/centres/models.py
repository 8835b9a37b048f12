import datetime as dt
import zoneinfo
from functools import cached_property
from typing import ClassVar

from django.core.exceptions import ValidationError
from django.db import models
from django.db.models import F, Q
from django.utils.translation import gettext_lazy as _


def validate_time_zone(value: str) -> None:
    if value not in zoneinfo.available_timezones():
        raise ValidationError(_("%(value)s is not an IANA time zone."), params={"value": value})


class Centre(models.Model):
    name = models.CharField(_("name"), max_length=200)
    address = models.CharField(_("address"), max_length=300)
    postcode = models.CharField(_("postcode"), max_length=16)
    town = models.CharField(_("town"), max_length=100)
    phone = models.CharField(_("telephone"), max_length=32, blank=True)
    latitude = models.DecimalField(_("latitude"), max_digits=8, decimal_places=5)
    longitude = models.DecimalField(_("longitude"), max_digits=8, decimal_places=5)
    time_zone = models.CharField(
        _("time zone"), max_length=64, validators=[validate_time_zone], default="Europe/Madrid"
    )
    is_active = models.BooleanField(_("active"), default=True)

    class Meta:
        verbose_name = _("centre")
        ordering: ClassVar = ["town", "name"]
        constraints: ClassVar = [
            models.CheckConstraint(
                condition=Q(latitude__gte=-90, latitude__lte=90)
                & Q(longitude__gte=-180, longitude__lte=180),
                name="centre_position_on_earth",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.name}, {self.town}"

    @cached_property
    def zone(self) -> zoneinfo.ZoneInfo:
        return zoneinfo.ZoneInfo(self.time_zone)

    def local_date(self, moment: dt.datetime) -> dt.date:
        """The day `moment` falls on at this centre: "the day" of an appointment."""
        return moment.astimezone(self.zone).date()


class Vaccine(models.Model):
    name = models.CharField(_("name"), max_length=100, unique=True)
    manufacturer = models.CharField(_("manufacturer"), max_length=100)
    doses_in_primary_course = models.PositiveSmallIntegerField(_("doses in the primary course"))
    minimum_days_between_doses = models.PositiveSmallIntegerField(
        _("minimum days between doses"), default=0
    )
    minimum_age = models.PositiveSmallIntegerField(_("minimum age in years"))
    cvx_code = models.CharField(_("CVX code"), max_length=8, unique=True)

    class Meta:
        verbose_name = _("vaccine")
        ordering: ClassVar = ["name"]
        constraints: ClassVar = [
            models.CheckConstraint(
                condition=Q(doses_in_primary_course__gte=1), name="vaccine_at_least_one_dose"
            ),
        ]

    def __str__(self) -> str:
        return self.name


class SlotQuerySet(models.QuerySet["Slot"]):
    def bookable(self, now: dt.datetime) -> "SlotQuerySet":
        """Open slots of active centres that start after `now` and have a place left."""
        return self.filter(
            is_open=True, centre__is_active=True, starts_at__gt=now, booked__lt=F("capacity")
        )


class Slot(models.Model):
    """A time at a centre with a number of places for one vaccine.

    `booked` is the number of places taken. It changes only through the conditional
    updates in vaxbook.bookings.services, and the database refuses any value outside
    0..capacity (constraint `slot_booked_within_capacity`), whatever code runs.
    """

    centre = models.ForeignKey(Centre, on_delete=models.PROTECT, related_name="slots")
    vaccine = models.ForeignKey(Vaccine, on_delete=models.PROTECT, related_name="slots")
    starts_at = models.DateTimeField(_("starts at"))
    ends_at = models.DateTimeField(_("ends at"))
    capacity = models.PositiveIntegerField(_("places"))
    booked = models.PositiveIntegerField(_("places booked"), default=0)
    is_open = models.BooleanField(_("open for booking"), default=True)

    objects = SlotQuerySet.as_manager()

    class Meta:
        verbose_name = _("slot")
        constraints: ClassVar = [
            models.CheckConstraint(
                condition=Q(booked__gte=0) & Q(booked__lte=F("capacity")),
                name="slot_booked_within_capacity",
            ),
            models.CheckConstraint(
                condition=Q(ends_at__gt=F("starts_at")), name="slot_ends_after_it_starts"
            ),
            models.UniqueConstraint(
                fields=["centre", "vaccine", "starts_at"], name="one_slot_per_centre_vaccine_time"
            ),
        ]
        indexes: ClassVar = [models.Index(fields=["centre", "starts_at"])]

    def __str__(self) -> str:
        return f"{self.centre.name} {self.starts_at:%Y-%m-%d %H:%M} UTC ({self.vaccine})"

    @property
    def remaining(self) -> int:
        return self.capacity - self.booked

    @property
    def local_date(self) -> dt.date:
        return self.centre.local_date(self.starts_at)
